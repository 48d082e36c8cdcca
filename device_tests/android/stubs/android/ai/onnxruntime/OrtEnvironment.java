// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from com.microsoft.onnxruntime:onnxruntime-android 1.20.0; bodies throw.
package ai.onnxruntime;

public final class OrtEnvironment implements AutoCloseable {
    private OrtEnvironment() { throw new RuntimeException("Stub!"); }
    public static OrtEnvironment getEnvironment() { throw new RuntimeException("Stub!"); }
    public OrtSession createSession(String modelPath, OrtSession.SessionOptions options) throws OrtException {
        throw new RuntimeException("Stub!");
    }
    @Override public void close() { throw new RuntimeException("Stub!"); }
}
