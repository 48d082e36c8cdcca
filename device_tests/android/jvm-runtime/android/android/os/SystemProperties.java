// JVM runtime shim: android.os.SystemProperties (a hidden API on Android) over the virtual
// device's props, which the launcher loads from its run config before any test class runs.
package android.os;

import com.augmentalis.ava.jvm.DeviceEnv;

/** The device's `getprop` values. */
public final class SystemProperties {
    private SystemProperties() {}

    public static String get(String key, String def) {
        String value = DeviceEnv.get().props().get(key);
        return value == null || value.isEmpty() ? def : value;
    }

    public static String get(String key) { return get(key, ""); }

    public static int getInt(String key, int def) {
        try {
            return Integer.parseInt(get(key, "").trim());
        } catch (NumberFormatException e) {
            return def;
        }
    }
}
