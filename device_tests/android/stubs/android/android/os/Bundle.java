// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API; bodies throw, as android.jar's do.
package android.os;

/** Mirrors android.os.Bundle, android.jar API 34 (subset). */
public final class Bundle {
    public Bundle() { throw new RuntimeException("Stub!"); }
    public String getString(String key) { throw new RuntimeException("Stub!"); }
    public String getString(String key, String defaultValue) { throw new RuntimeException("Stub!"); }
    public void putString(String key, String value) { throw new RuntimeException("Stub!"); }
    public boolean containsKey(String key) { throw new RuntimeException("Stub!"); }
}
