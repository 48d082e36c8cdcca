// A working stand-in for Android's org.json (android.jar API 34); see JSONException.java.
package org.json;

import java.util.ArrayList;
import java.util.List;

public class JSONArray {
    private final List<Object> values = new ArrayList<>();

    public JSONArray() {}

    public JSONArray(JSONTokener readFrom) throws JSONException {
        Object object = readFrom.nextValue();
        if (object instanceof JSONArray) {
            values.addAll(((JSONArray) object).values);
        } else {
            throw new JSONException("Value " + object + " of type " + JSONObject.typeName(object)
                    + " cannot be converted to JSONArray");
        }
    }

    public JSONArray(String json) throws JSONException {
        this(new JSONTokener(json));
    }

    public int length() {
        return values.size();
    }

    public JSONArray put(Object value) {
        values.add(value);
        return this;
    }

    public boolean isNull(int index) {
        Object value = opt(index);
        return value == null || value == JSONObject.NULL;
    }

    public Object get(int index) throws JSONException {
        try {
            Object value = values.get(index);
            if (value == null) {
                throw new JSONException("Value at " + index + " is null.");
            }
            return value;
        } catch (IndexOutOfBoundsException e) {
            throw new JSONException("Index " + index + " out of range [0.." + values.size() + ")");
        }
    }

    public Object opt(int index) {
        return index < 0 || index >= values.size() ? null : values.get(index);
    }

    public boolean getBoolean(int index) throws JSONException {
        Object object = get(index);
        Boolean result = toBoolean(object);
        if (result == null) {
            throw typeMismatch(index, object, "boolean");
        }
        return result;
    }

    public double getDouble(int index) throws JSONException {
        Object object = get(index);
        Double result = toDouble(object);
        if (result == null) {
            throw typeMismatch(index, object, "double");
        }
        return result;
    }

    public int getInt(int index) throws JSONException {
        Object object = get(index);
        Integer result = toInteger(object);
        if (result == null) {
            throw typeMismatch(index, object, "int");
        }
        return result;
    }

    public long getLong(int index) throws JSONException {
        Object object = get(index);
        Long result = toLong(object);
        if (result == null) {
            throw typeMismatch(index, object, "long");
        }
        return result;
    }

    public String getString(int index) throws JSONException {
        Object object = get(index);
        String result = toStr(object);
        if (result == null) {
            throw typeMismatch(index, object, "String");
        }
        return result;
    }

    public JSONArray getJSONArray(int index) throws JSONException {
        Object object = get(index);
        if (object instanceof JSONArray) {
            return (JSONArray) object;
        }
        throw typeMismatch(index, object, "JSONArray");
    }

    public JSONObject getJSONObject(int index) throws JSONException {
        Object object = get(index);
        if (object instanceof JSONObject) {
            return (JSONObject) object;
        }
        throw typeMismatch(index, object, "JSONObject");
    }

    private static JSONException typeMismatch(int index, Object actual, String requiredType) {
        if (actual == null || actual == JSONObject.NULL) {
            return new JSONException("Value at " + index + " is null.");
        }
        return new JSONException("Value " + actual + " at " + index + " of type " + JSONObject.typeName(actual)
                + " cannot be converted to " + requiredType);
    }

    // Android's org.json.JSON coercions.
    static Boolean toBoolean(Object value) {
        if (value instanceof Boolean) {
            return (Boolean) value;
        } else if (value instanceof String) {
            String stringValue = (String) value;
            if ("true".equalsIgnoreCase(stringValue)) {
                return true;
            } else if ("false".equalsIgnoreCase(stringValue)) {
                return false;
            }
        }
        return null;
    }

    static Double toDouble(Object value) {
        if (value instanceof Double) {
            return (Double) value;
        } else if (value instanceof Number) {
            return ((Number) value).doubleValue();
        } else if (value instanceof String) {
            try {
                return Double.valueOf((String) value);
            } catch (NumberFormatException ignored) {
                return null;
            }
        }
        return null;
    }

    static Integer toInteger(Object value) {
        if (value instanceof Integer) {
            return (Integer) value;
        } else if (value instanceof Number) {
            return ((Number) value).intValue();
        } else if (value instanceof String) {
            try {
                return (int) Double.parseDouble((String) value);
            } catch (NumberFormatException ignored) {
                return null;
            }
        }
        return null;
    }

    static Long toLong(Object value) {
        if (value instanceof Long) {
            return (Long) value;
        } else if (value instanceof Number) {
            return ((Number) value).longValue();
        } else if (value instanceof String) {
            try {
                return (long) Double.parseDouble((String) value);
            } catch (NumberFormatException ignored) {
                return null;
            }
        }
        return null;
    }

    static String toStr(Object value) {
        if (value instanceof String) {
            return (String) value;
        } else if (value != null) {
            return String.valueOf(value);
        }
        return null;
    }
}
