// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md).
package ai.onnxruntime;

/** The Java type of a tensor's elements (onnxruntime-android's enum, the members used here). */
public enum OnnxJavaType {
    FLOAT,
    DOUBLE,
    INT8,
    INT16,
    INT32,
    INT64,
    BOOL,
    STRING,
    UINT8,
    FLOAT16,
    BFLOAT16,
    UNKNOWN;

    static OnnxJavaType fromElementType(int elementType) {
        switch (elementType) {
            case OrtNative.ELEMENT_FLOAT: return FLOAT;
            case OrtNative.ELEMENT_DOUBLE: return DOUBLE;
            case OrtNative.ELEMENT_INT8: return INT8;
            case 5: return INT16;
            case OrtNative.ELEMENT_INT32: return INT32;
            case OrtNative.ELEMENT_INT64: return INT64;
            case OrtNative.ELEMENT_BOOL: return BOOL;
            case 8: return STRING;
            case OrtNative.ELEMENT_UINT8: return UINT8;
            case OrtNative.ELEMENT_FLOAT16: return FLOAT16;
            case 16: return BFLOAT16;
            default: return UNKNOWN;
        }
    }
}
