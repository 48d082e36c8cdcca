// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API; bodies throw, as android.jar's do.
package android.os;

/** Mirrors android.os.Build, android.jar API 34 (subset). */
public class Build {
    public static final String[] SUPPORTED_ABIS = null;
    public static final String MODEL = null;
    public static final String MANUFACTURER = null;

    public static class VERSION {
        public static final int SDK_INT = 0;
    }
}
