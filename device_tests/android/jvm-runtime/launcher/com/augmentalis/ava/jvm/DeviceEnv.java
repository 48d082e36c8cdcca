// What the JVM process knows about the virtual device it runs in: its props, the app's and the
// test package's names, and where the device's storage is on this host. The device-side Python
// glue (ava_reference/jvm_app.py) writes it as JSON; the launcher loads it before any test class.
package com.augmentalis.ava.jvm;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.json.JSONArray;
import org.json.JSONObject;

public final class DeviceEnv {
    private static volatile DeviceEnv current = new DeviceEnv();

    private final Map<String, String> props = new LinkedHashMap<>();
    private final Map<String, String> args = new LinkedHashMap<>();
    /** {device path, host path}: the device's storage roots as this JVM sees them, in preference order. */
    private final List<String[]> mounts = new ArrayList<>();
    private String testPackage = "";
    private String targetPackage = "";
    private String runner = "";

    public static DeviceEnv get() { return current; }

    public static DeviceEnv load(File config) throws Exception {
        JSONObject json = new JSONObject(new String(Files.readAllBytes(config.toPath()), StandardCharsets.UTF_8));
        DeviceEnv env = new DeviceEnv();
        env.testPackage = json.getString("testPackage");
        env.targetPackage = json.getString("targetPackage");
        env.runner = json.getString("runner");
        JSONObject props = json.getJSONObject("props");
        for (Iterator<String> keys = props.keys(); keys.hasNext(); ) {
            String key = keys.next();
            env.props.put(key, props.getString(key));
        }
        JSONArray args = json.getJSONArray("args");  // [[key, value], ...]: am's -e order
        for (int i = 0; i < args.length(); i++) {
            JSONArray pair = args.getJSONArray(i);
            env.args.put(pair.getString(0), pair.getString(1));
        }
        JSONArray mounts = json.getJSONArray("mounts");
        for (int i = 0; i < mounts.length(); i++) {
            JSONArray pair = mounts.getJSONArray(i);
            env.mounts.add(new String[] {pair.getString(0), pair.getString(1)});
        }
        current = env;
        return env;
    }

    public Map<String, String> props() { return Collections.unmodifiableMap(props); }

    public Map<String, String> args() { return Collections.unmodifiableMap(args); }

    public String testPackage() { return testPackage; }

    public String targetPackage() { return targetPackage; }

    public String runner() { return runner; }

    /** A device path as a path on this host (the process's view of the device's storage), or null. */
    public String toHost(String devicePath) {
        for (String[] mount : mounts) {
            String device = mount[0];
            if (devicePath.equals(device) || devicePath.startsWith(device + "/")) {
                return mount[1] + devicePath.substring(device.length());
            }
        }
        return null;
    }

    /** Host paths in a text written by the app (status values, stacks, log lines) as the device's. */
    public String toDevice(String text) {
        if (text == null || text.isEmpty()) return text;
        String out = text;
        List<String[]> byLength = new ArrayList<>(mounts);
        byLength.sort((a, b) -> b[1].length() - a[1].length());  // the most specific host root first
        Map<String, String> seen = new LinkedHashMap<>();
        for (String[] mount : mounts) seen.putIfAbsent(mount[1], mount[0]);  // first device name wins
        for (String[] mount : byLength) {
            if (out.contains(mount[1])) out = out.replace(mount[1], seen.get(mount[1]));
        }
        return out;
    }
}
