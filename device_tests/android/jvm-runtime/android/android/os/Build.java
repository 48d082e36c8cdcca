// JVM runtime shim: android.os.Build with its fields read from the virtual device's props
// (SystemProperties), as Build's static initialiser does on a phone. Not compile-time constants,
// so code compiled against this reads the device's values at run time.
package android.os;

/** android.os.Build (API 34), subset. */
public class Build {
    public static final String UNKNOWN = "unknown";
    public static final String MODEL = SystemProperties.get("ro.product.model", UNKNOWN);
    public static final String MANUFACTURER = SystemProperties.get("ro.product.manufacturer", UNKNOWN);
    public static final String BRAND = SystemProperties.get("ro.product.brand", UNKNOWN);
    public static final String DEVICE = SystemProperties.get("ro.product.device", UNKNOWN);
    public static final String PRODUCT = SystemProperties.get("ro.product.name", UNKNOWN);
    public static final String HARDWARE = SystemProperties.get("ro.hardware", UNKNOWN);
    public static final String FINGERPRINT = SystemProperties.get("ro.build.fingerprint", UNKNOWN);
    public static final String[] SUPPORTED_ABIS = abis();

    public static class VERSION {
        public static final int SDK_INT = SystemProperties.getInt("ro.build.version.sdk", 0);
        public static final String RELEASE = SystemProperties.get("ro.build.version.release", UNKNOWN);
    }

    private static String[] abis() {
        String list = SystemProperties.get("ro.product.cpu.abilist", "");
        if (list.isEmpty()) list = SystemProperties.get("ro.product.cpu.abi", "");
        return list.isEmpty() ? new String[0] : list.split(",");
    }
}
