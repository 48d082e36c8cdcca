// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md).
package ai.onnxruntime;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.util.Arrays;

/** A tensor's element type and shape (-1 for a symbolic dimension of a model input/output). */
public class TensorInfo implements ValueInfo {
    private final long[] shape;
    /** The Java type of the elements. */
    public final OnnxJavaType type;
    /** ONNXTensorElementDataType of the C API. */
    final int elementType;

    TensorInfo(long[] shape, int elementType) {
        this.shape = shape;
        this.elementType = elementType;
        this.type = OnnxJavaType.fromElementType(elementType);
    }

    public long[] getShape() {
        return Arrays.copyOf(shape, shape.length);
    }

    public boolean isScalar() {
        return shape.length == 0;
    }

    /** Number of elements (1 for a scalar); -1 if a dimension is symbolic. */
    public long getNumElements() {
        long n = 1;
        for (long d : shape) {
            if (d < 0) return -1;
            n *= d;
        }
        return n;
    }

    /** From an OrtTensorTypeAndShapeInfo* (not released here). */
    static TensorInfo fromNative(OrtNative ort, Pointer typeAndShape) throws OrtException {
        int elementType = ort.outInt(OrtNative.GET_TENSOR_ELEMENT_TYPE, typeAndShape);
        long rank = ort.outLong(OrtNative.GET_DIMENSIONS_COUNT, typeAndShape);
        long[] dims = new long[(int) rank];
        if (rank > 0) {
            Memory out = new Memory(8 * rank);
            ort.call(OrtNative.GET_DIMENSIONS, typeAndShape, out, rank);
            out.read(0, dims, 0, dims.length);
        }
        return new TensorInfo(dims, elementType);
    }

    @Override
    public String toString() {
        return "TensorInfo(javaType=" + type + ",shape=" + Arrays.toString(shape) + ")";
    }
}
