// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md). Same public API as
// onnxruntime-android's OrtException: the message carries the C API's error code and message.
package ai.onnxruntime;

public class OrtException extends Exception {
    private static final long serialVersionUID = 1L;

    private final OrtErrorCode errorCode;

    public OrtException(String message) {
        super(message);
        this.errorCode = OrtErrorCode.ORT_JAVA_UNKNOWN;
    }

    /** The Java binding's format, so messages read the same as on a phone. */
    public OrtException(OrtErrorCode code, String message) {
        super("Error code - " + code + " - message: " + message);
        this.errorCode = code;
    }

    public OrtErrorCode getCode() {
        return errorCode;
    }

    /** OrtErrorCode of onnxruntime_c_api.h, in its order (the value is the ordinal), plus the Java-only code. */
    public enum OrtErrorCode {
        ORT_OK,
        ORT_FAIL,
        ORT_INVALID_ARGUMENT,
        ORT_NO_SUCHFILE,
        ORT_NO_MODEL,
        ORT_ENGINE_ERROR,
        ORT_RUNTIME_EXCEPTION,
        ORT_INVALID_PROTOBUF,
        ORT_MODEL_LOADED,
        ORT_NOT_IMPLEMENTED,
        ORT_INVALID_GRAPH,
        ORT_EP_FAIL,
        ORT_MODEL_LOAD_CANCELED,
        ORT_MODEL_REQUIRES_COMPILATION,
        ORT_NOT_FOUND,
        ORT_JAVA_UNKNOWN;

        static OrtErrorCode fromValue(int value) {
            OrtErrorCode[] all = values();
            return value >= 0 && value < all.length - 1 ? all[value] : ORT_JAVA_UNKNOWN;
        }
    }
}
