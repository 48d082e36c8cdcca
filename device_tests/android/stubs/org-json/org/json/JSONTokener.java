// A working stand-in for Android's org.json (android.jar API 34); see JSONException.java.
package org.json;

public class JSONTokener {
    private final String in;
    private int pos;

    public JSONTokener(String in) {
        if (in != null && in.startsWith("\ufeff")) {
            in = in.substring(1);
        }
        this.in = in;
    }

    public Object nextValue() throws JSONException {
        int c = nextCleanInternal();
        switch (c) {
            case -1:
                throw syntaxError("End of input");
            case '{':
                return readObject();
            case '[':
                return readArray();
            case '\'':
            case '"':
                return nextString((char) c);
            default:
                pos--;
                return readLiteral();
        }
    }

    private int nextCleanInternal() {
        while (pos < in.length()) {
            int c = in.charAt(pos++);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                continue;
            }
            return c;
        }
        return -1;
    }

    public String nextString(char quote) throws JSONException {
        StringBuilder builder = new StringBuilder();
        while (pos < in.length()) {
            char c = in.charAt(pos++);
            if (c == quote) {
                return builder.toString();
            }
            if (c == '\\') {
                if (pos == in.length()) {
                    throw syntaxError("Unterminated escape sequence");
                }
                char escaped = in.charAt(pos++);
                switch (escaped) {
                    case 'u':
                        if (pos + 4 > in.length()) {
                            throw syntaxError("Unterminated escape sequence");
                        }
                        String hex = in.substring(pos, pos + 4);
                        pos += 4;
                        try {
                            builder.append((char) Integer.parseInt(hex, 16));
                        } catch (NumberFormatException e) {
                            throw syntaxError("Invalid escape sequence: " + hex);
                        }
                        break;
                    case 't': builder.append('\t'); break;
                    case 'b': builder.append('\b'); break;
                    case 'n': builder.append('\n'); break;
                    case 'r': builder.append('\r'); break;
                    case 'f': builder.append('\f'); break;
                    default: builder.append(escaped); break;  // ' " \ / and Android's leniency
                }
            } else {
                builder.append(c);
            }
        }
        throw syntaxError("Unterminated string");
    }

    private Object readLiteral() throws JSONException {
        int start = pos;
        while (pos < in.length() && "{}[]/\\:,=;# \t\f\r\n".indexOf(in.charAt(pos)) < 0) {
            pos++;
        }
        String literal = in.substring(start, pos);
        if (literal.isEmpty()) {
            throw syntaxError("Expected literal value");
        } else if ("null".equalsIgnoreCase(literal)) {
            return JSONObject.NULL;
        } else if ("true".equalsIgnoreCase(literal)) {
            return Boolean.TRUE;
        } else if ("false".equalsIgnoreCase(literal)) {
            return Boolean.FALSE;
        }
        if (literal.indexOf('.') == -1 && literal.indexOf('e') == -1 && literal.indexOf('E') == -1) {
            try {
                long value = Long.parseLong(literal);
                if (value <= Integer.MAX_VALUE && value >= Integer.MIN_VALUE) {
                    return (int) value;
                }
                return value;
            } catch (NumberFormatException ignored) {
                // fall through to double, as Android does
            }
        }
        try {
            return Double.valueOf(literal);
        } catch (NumberFormatException ignored) {
            return new String(literal);  // Android accepts unquoted strings
        }
    }

    private JSONObject readObject() throws JSONException {
        JSONObject result = new JSONObject();
        int first = nextCleanInternal();
        if (first == '}') {
            return result;
        } else if (first != -1) {
            pos--;
        }
        while (true) {
            Object name = nextValue();
            if (!(name instanceof String)) {
                throw syntaxError("Names must be strings, but " + name + " is of type " + name.getClass().getName());
            }
            int separator = nextCleanInternal();
            if (separator != ':' && separator != '=') {
                throw syntaxError("Expected ':' after " + name);
            }
            if (pos < in.length() && in.charAt(pos) == '>') {
                pos++;
            }
            result.put((String) name, nextValue());
            switch (nextCleanInternal()) {
                case '}':
                    return result;
                case ';':
                case ',':
                    continue;
                default:
                    throw syntaxError("Unterminated object");
            }
        }
    }

    private JSONArray readArray() throws JSONException {
        JSONArray result = new JSONArray();
        while (true) {
            switch (nextCleanInternal()) {
                case -1:
                    throw syntaxError("Unterminated array");
                case ']':
                    return result;
                default:
                    pos--;
            }
            result.put(nextValue());
            switch (nextCleanInternal()) {
                case ']':
                    return result;
                case ',':
                case ';':
                    continue;
                default:
                    throw syntaxError("Unterminated array");
            }
        }
    }

    public JSONException syntaxError(String message) {
        return new JSONException(message + " at character " + pos);
    }
}
