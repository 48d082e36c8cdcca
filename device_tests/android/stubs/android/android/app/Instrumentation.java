// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API; bodies throw, as android.jar's do.
package android.app;

import android.content.Context;
import android.os.Bundle;

/** Mirrors android.app.Instrumentation, android.jar API 34 (subset). */
public class Instrumentation {
    public Instrumentation() { throw new RuntimeException("Stub!"); }
    public Context getContext() { throw new RuntimeException("Stub!"); }
    public Context getTargetContext() { throw new RuntimeException("Stub!"); }
    public void sendStatus(int resultCode, Bundle results) { throw new RuntimeException("Stub!"); }
}
