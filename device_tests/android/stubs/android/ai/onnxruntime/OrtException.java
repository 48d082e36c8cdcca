// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from com.microsoft.onnxruntime:onnxruntime-android 1.20.0; bodies throw.
package ai.onnxruntime;

public class OrtException extends Exception {
    public OrtException(String message) { throw new RuntimeException("Stub!"); }
}
