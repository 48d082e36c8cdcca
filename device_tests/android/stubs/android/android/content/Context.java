// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API; bodies throw, as android.jar's do.
package android.content;

import java.io.File;

/** Mirrors android.content.Context, android.jar API 34 (subset). */
public abstract class Context {
    public Context() { throw new RuntimeException("Stub!"); }
    public abstract String getPackageName();
    public abstract File getFilesDir();
    public abstract File getExternalFilesDir(String type);
    public abstract Context getApplicationContext();
}
