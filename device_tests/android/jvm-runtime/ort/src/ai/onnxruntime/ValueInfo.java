// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md).
package ai.onnxruntime;

/** Describes an OnnxValue or a model input/output (onnxruntime-android's marker interface). */
public interface ValueInfo {}
