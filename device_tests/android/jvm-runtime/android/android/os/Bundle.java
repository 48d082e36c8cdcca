// JVM runtime shim (device_tests/android/README.md, "The Kotlin app on a JVM"): a working
// android.os.Bundle for the members the sign-off code and the runner use.
package android.os;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** android.os.Bundle (API 34), subset: an insertion-ordered String -> value map. */
public final class Bundle {
    private final Map<String, Object> values;

    public Bundle() { values = new LinkedHashMap<>(); }

    public Bundle(Bundle other) { values = new LinkedHashMap<>(other.values); }

    public String getString(String key) {
        Object value = values.get(key);
        return value instanceof String ? (String) value : null;
    }

    public String getString(String key, String defaultValue) {
        String value = getString(key);
        return value == null ? defaultValue : value;
    }

    public void putString(String key, String value) { values.put(key, value); }

    public void putInt(String key, int value) { values.put(key, value); }

    public int getInt(String key) {
        Object value = values.get(key);
        return value instanceof Integer ? (Integer) value : 0;
    }

    public boolean containsKey(String key) { return values.containsKey(key); }

    public Object get(String key) { return values.get(key); }

    public void remove(String key) { values.remove(key); }

    public Set<String> keySet() { return values.keySet(); }

    public int size() { return values.size(); }

    public boolean isEmpty() { return values.isEmpty(); }

    @Override
    public String toString() { return "Bundle[" + values + "]"; }
}
