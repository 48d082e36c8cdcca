// JVM runtime shim: android.content.Context, the members the sign-off code and the app provider
// use. The launcher's AppContext maps the app's directories into the virtual device's storage.
package android.content;

import java.io.File;

/** android.content.Context (API 34), subset. */
public abstract class Context {
    public Context() {}
    public abstract String getPackageName();
    public abstract File getFilesDir();
    public abstract File getExternalFilesDir(String type);
    public abstract Context getApplicationContext();
    public File getCacheDir() { return new File(getFilesDir().getParentFile(), "cache"); }
}
