// JVM runtime shim: androidx.test.platform.app.InstrumentationRegistry, set by the launcher
// (as AndroidJUnitRunner.onCreate does) before any test class is loaded.
package androidx.test.platform.app;

import android.app.Instrumentation;
import android.os.Bundle;

/** androidx.test:monitor 1.7 InstrumentationRegistry, subset. */
public final class InstrumentationRegistry {
    private static volatile Instrumentation instrumentation;
    private static volatile Bundle arguments = new Bundle();

    private InstrumentationRegistry() {}

    public static Instrumentation getInstrumentation() {
        Instrumentation current = instrumentation;
        if (current == null) {
            throw new IllegalStateException("No instrumentation registered! Must run under a registering instrumentation.");
        }
        return current;
    }

    /** A copy, as androidx returns: the -e arguments of `am instrument`. */
    public static Bundle getArguments() { return new Bundle(arguments); }

    public static void registerInstance(Instrumentation instrumentation, Bundle arguments) {
        InstrumentationRegistry.instrumentation = instrumentation;
        InstrumentationRegistry.arguments = new Bundle(arguments);
    }
}
