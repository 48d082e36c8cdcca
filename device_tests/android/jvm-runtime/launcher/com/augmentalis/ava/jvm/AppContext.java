// A package's Context: its directories are the device's, seen through DeviceEnv's mounts
// (getExternalFilesDir(null) = /sdcard/Android/data/<package>/files, created on first use as
// Android does; getFilesDir() = /data/data/<package>/files).
package com.augmentalis.ava.jvm;

import android.content.Context;
import java.io.File;

public final class AppContext extends Context {
    private final String packageName;

    public AppContext(String packageName) { this.packageName = packageName; }

    @Override
    public String getPackageName() { return packageName; }

    @Override
    public File getFilesDir() { return dir("/data/data/" + packageName + "/files"); }

    @Override
    public File getExternalFilesDir(String type) {
        String base = "/sdcard/Android/data/" + packageName + "/files";
        return dir(type == null ? base : base + "/" + type);
    }

    @Override
    public Context getApplicationContext() { return this; }

    private static File dir(String devicePath) {
        String host = DeviceEnv.get().toHost(devicePath);
        if (host == null) return null;  // storage not mounted: Android returns null too
        File dir = new File(host);
        if (!dir.isDirectory() && !dir.mkdirs()) return null;
        return dir;
    }
}
