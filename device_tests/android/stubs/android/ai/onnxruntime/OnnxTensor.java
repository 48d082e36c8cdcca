// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from com.microsoft.onnxruntime:onnxruntime-android 1.20.0; bodies throw.
package ai.onnxruntime;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;

public class OnnxTensor extends OnnxTensorLike {
    OnnxTensor() { throw new RuntimeException("Stub!"); }
    @Override public Object getValue() throws OrtException { throw new RuntimeException("Stub!"); }
    @Override public void close() { throw new RuntimeException("Stub!"); }
    public FloatBuffer getFloatBuffer() { throw new RuntimeException("Stub!"); }
    public static OnnxTensor createTensor(OrtEnvironment env, LongBuffer data, long[] shape) throws OrtException {
        throw new RuntimeException("Stub!");
    }
}
