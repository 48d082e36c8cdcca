// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API; bodies throw, as android.jar's do.
package androidx.test.platform.app;

import android.app.Instrumentation;
import android.os.Bundle;

/** Mirrors androidx.test.platform.app.InstrumentationRegistry, androidx.test:monitor 1.7.x
 * (pulled in by androidx.test:runner 1.6.x) (subset). */
public final class InstrumentationRegistry {
    private InstrumentationRegistry() {}
    public static Instrumentation getInstrumentation() { throw new RuntimeException("Stub!"); }
    public static Bundle getArguments() { throw new RuntimeException("Stub!"); }
}
