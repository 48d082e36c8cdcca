// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API; bodies throw, as android.jar's do.
package android.util;

/** Mirrors android.util.Log, android.jar API 34 (subset). */
public final class Log {
    Log() { throw new RuntimeException("Stub!"); }
    public static int i(String tag, String msg) { throw new RuntimeException("Stub!"); }
    public static int w(String tag, String msg) { throw new RuntimeException("Stub!"); }
    public static int w(String tag, String msg, Throwable tr) { throw new RuntimeException("Stub!"); }
    public static int e(String tag, String msg, Throwable tr) { throw new RuntimeException("Stub!"); }
}
