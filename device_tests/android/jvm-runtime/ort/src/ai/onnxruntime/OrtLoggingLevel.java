// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md).
package ai.onnxruntime;

/** OrtLoggingLevel of onnxruntime_c_api.h (the value is the ordinal). */
public enum OrtLoggingLevel {
    ORT_LOGGING_LEVEL_VERBOSE,
    ORT_LOGGING_LEVEL_INFO,
    ORT_LOGGING_LEVEL_WARNING,
    ORT_LOGGING_LEVEL_ERROR,
    ORT_LOGGING_LEVEL_FATAL;

    public int getValue() {
        return ordinal();
    }
}
