// A working stand-in for Android's org.json (android.jar API 34); see JSONException.java.
package org.json;

import java.util.Iterator;
import java.util.LinkedHashMap;

public class JSONObject {
    public static final Object NULL = new Object() {
        @Override public boolean equals(Object o) {
            return o == this || o == null;
        }
        @Override public int hashCode() {
            return 0;
        }
        @Override public String toString() {
            return "null";
        }
    };

    // Android keeps insertion order (LinkedHashMap): request.json's rag.documents order survives.
    private final LinkedHashMap<String, Object> nameValuePairs = new LinkedHashMap<>();

    public JSONObject() {}

    public JSONObject(JSONTokener readFrom) throws JSONException {
        Object object = readFrom.nextValue();
        if (object instanceof JSONObject) {
            this.nameValuePairs.putAll(((JSONObject) object).nameValuePairs);
        } else {
            throw new JSONException("Value " + object + " of type " + typeName(object) + " cannot be converted to JSONObject");
        }
    }

    public JSONObject(String json) throws JSONException {
        this(new JSONTokener(json));
    }

    public int length() {
        return nameValuePairs.size();
    }

    public JSONObject put(String name, boolean value) throws JSONException {
        nameValuePairs.put(checkName(name), value);
        return this;
    }

    public JSONObject put(String name, double value) throws JSONException {
        nameValuePairs.put(checkName(name), checkDouble(value));
        return this;
    }

    public JSONObject put(String name, int value) throws JSONException {
        nameValuePairs.put(checkName(name), value);
        return this;
    }

    public JSONObject put(String name, long value) throws JSONException {
        nameValuePairs.put(checkName(name), value);
        return this;
    }

    public JSONObject put(String name, Object value) throws JSONException {
        if (value == null) {
            nameValuePairs.remove(name);
            return this;
        }
        if (value instanceof Number) {
            checkDouble(((Number) value).doubleValue());
        }
        nameValuePairs.put(checkName(name), value);
        return this;
    }

    public boolean isNull(String name) {
        Object value = nameValuePairs.get(name);
        return value == null || value == NULL;
    }

    public boolean has(String name) {
        return nameValuePairs.containsKey(name);
    }

    public Object get(String name) throws JSONException {
        Object result = nameValuePairs.get(name);
        if (result == null) {
            throw new JSONException("No value for " + name);
        }
        return result;
    }

    public Object opt(String name) {
        return nameValuePairs.get(name);
    }

    public boolean getBoolean(String name) throws JSONException {
        Object object = get(name);
        Boolean result = JSONArray.toBoolean(object);
        if (result == null) {
            throw typeMismatch(name, object, "boolean");
        }
        return result;
    }

    public boolean optBoolean(String name, boolean fallback) {
        Boolean result = JSONArray.toBoolean(opt(name));
        return result != null ? result : fallback;
    }

    public double getDouble(String name) throws JSONException {
        Object object = get(name);
        Double result = JSONArray.toDouble(object);
        if (result == null) {
            throw typeMismatch(name, object, "double");
        }
        return result;
    }

    public int getInt(String name) throws JSONException {
        Object object = get(name);
        Integer result = JSONArray.toInteger(object);
        if (result == null) {
            throw typeMismatch(name, object, "int");
        }
        return result;
    }

    public int optInt(String name, int fallback) {
        Integer result = JSONArray.toInteger(opt(name));
        return result != null ? result : fallback;
    }

    public long getLong(String name) throws JSONException {
        Object object = get(name);
        Long result = JSONArray.toLong(object);
        if (result == null) {
            throw typeMismatch(name, object, "long");
        }
        return result;
    }

    public String getString(String name) throws JSONException {
        Object object = get(name);
        String result = JSONArray.toStr(object);
        if (result == null) {
            throw typeMismatch(name, object, "String");
        }
        return result;
    }

    public String optString(String name, String fallback) {
        String result = JSONArray.toStr(opt(name));
        return result != null ? result : fallback;
    }

    public JSONArray getJSONArray(String name) throws JSONException {
        Object object = get(name);
        if (object instanceof JSONArray) {
            return (JSONArray) object;
        }
        throw typeMismatch(name, object, "JSONArray");
    }

    public JSONObject getJSONObject(String name) throws JSONException {
        Object object = get(name);
        if (object instanceof JSONObject) {
            return (JSONObject) object;
        }
        throw typeMismatch(name, object, "JSONObject");
    }

    public Iterator<String> keys() {
        return nameValuePairs.keySet().iterator();
    }

    static String typeName(Object value) {
        return value == null ? "null" : value.getClass().getName();
    }

    private static JSONException typeMismatch(String name, Object actual, String requiredType) {
        if (actual == null || actual == NULL) {
            return new JSONException("Value at " + name + " is null.");
        }
        return new JSONException("Value " + actual + " at " + name + " of type " + typeName(actual)
                + " cannot be converted to " + requiredType);
    }

    private static String checkName(String name) throws JSONException {
        if (name == null) {
            throw new JSONException("Names must be non-null");
        }
        return name;
    }

    static double checkDouble(double d) throws JSONException {
        if (Double.isInfinite(d) || Double.isNaN(d)) {
            throw new JSONException("Forbidden numeric value: " + d);
        }
        return d;
    }
}
