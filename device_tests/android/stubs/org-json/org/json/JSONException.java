// A working stand-in for Android's org.json (android.jar API 34), so that RequestReader runs on a
// plain JVM in CI. Same public signatures and the same observable rules as Android's copy (insertion
// order of keys, number and type coercions of get*/opt*, NULL); a subset of the members. See
// device_tests/android/stubs/README.md.
package org.json;

public class JSONException extends Exception {
    public JSONException(String s) {
        super(s);
    }
}
