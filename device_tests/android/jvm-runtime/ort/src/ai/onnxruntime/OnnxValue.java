// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md).
package ai.onnxruntime;

/** A value ONNX Runtime consumes or produces (onnxruntime-android's interface). */
public interface OnnxValue extends AutoCloseable {
    Object getValue() throws OrtException;

    ValueInfo getInfo();

    @Override
    void close();
}
