// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from com.microsoft.onnxruntime:onnxruntime-android 1.20.0; bodies throw.
package ai.onnxruntime;

import java.util.Map;
import java.util.Optional;
import java.util.Set;

public class OrtSession implements AutoCloseable {
    OrtSession() { throw new RuntimeException("Stub!"); }
    public Set<String> getInputNames() { throw new RuntimeException("Stub!"); }
    public Set<String> getOutputNames() { throw new RuntimeException("Stub!"); }
    public Result run(Map<String, ? extends OnnxTensorLike> inputs, Set<String> requestedOutputs) throws OrtException {
        throw new RuntimeException("Stub!");
    }
    public String endProfiling() throws OrtException { throw new RuntimeException("Stub!"); }
    @Override public void close() throws OrtException { throw new RuntimeException("Stub!"); }

    public static class SessionOptions implements AutoCloseable {
        public SessionOptions() { throw new RuntimeException("Stub!"); }
        public void setIntraOpNumThreads(int numThreads) throws OrtException { throw new RuntimeException("Stub!"); }
        public void setInterOpNumThreads(int numThreads) throws OrtException { throw new RuntimeException("Stub!"); }
        public void enableProfiling(String filePath) throws OrtException { throw new RuntimeException("Stub!"); }
        public void addNnapi() throws OrtException { throw new RuntimeException("Stub!"); }
        public void addXnnpack(Map<String, String> providerOptions) throws OrtException { throw new RuntimeException("Stub!"); }
        @Override public void close() { throw new RuntimeException("Stub!"); }
    }

    public static class Result implements AutoCloseable, Iterable<Map.Entry<String, OnnxValue>> {
        Result() { throw new RuntimeException("Stub!"); }
        public int size() { throw new RuntimeException("Stub!"); }
        public OnnxValue get(int index) { throw new RuntimeException("Stub!"); }
        public Optional<OnnxValue> get(String key) { throw new RuntimeException("Stub!"); }
        @Override public java.util.Iterator<Map.Entry<String, OnnxValue>> iterator() { throw new RuntimeException("Stub!"); }
        @Override public void close() { throw new RuntimeException("Stub!"); }
    }
}
