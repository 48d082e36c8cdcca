// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md). The members of
// onnxruntime-android's OnnxTensor for numeric tensors, over an OrtValue* of the C API.
package ai.onnxruntime;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public class OnnxTensor extends OnnxTensorLike {
    private final OrtNative ort;
    /** The Java data an input tensor points at; ORT does not copy it, so it lives as long as the tensor. */
    private final Memory data;
    private boolean closed;

    OnnxTensor(OrtNative ort, Pointer handle, TensorInfo info, Memory data) {
        super(handle, info);
        this.ort = ort;
        this.data = data;
    }

    // ---- creation (inputs) ----

    public static OnnxTensor createTensor(OrtEnvironment env, FloatBuffer data, long[] shape) throws OrtException {
        float[] values = new float[data.remaining()];
        data.duplicate().get(values);
        Memory m = allocate(values.length, 4);
        m.write(0, values, 0, values.length);
        return create(env, m, values.length, shape, OrtNative.ELEMENT_FLOAT);
    }

    public static OnnxTensor createTensor(OrtEnvironment env, LongBuffer data, long[] shape) throws OrtException {
        long[] values = new long[data.remaining()];
        data.duplicate().get(values);
        Memory m = allocate(values.length, 8);
        m.write(0, values, 0, values.length);
        return create(env, m, values.length, shape, OrtNative.ELEMENT_INT64);
    }

    public static OnnxTensor createTensor(OrtEnvironment env, IntBuffer data, long[] shape) throws OrtException {
        int[] values = new int[data.remaining()];
        data.duplicate().get(values);
        Memory m = allocate(values.length, 4);
        m.write(0, values, 0, values.length);
        return create(env, m, values.length, shape, OrtNative.ELEMENT_INT32);
    }

    public static OnnxTensor createTensor(OrtEnvironment env, DoubleBuffer data, long[] shape) throws OrtException {
        double[] values = new double[data.remaining()];
        data.duplicate().get(values);
        Memory m = allocate(values.length, 8);
        m.write(0, values, 0, values.length);
        return create(env, m, values.length, shape, OrtNative.ELEMENT_DOUBLE);
    }

    /**
     * From a boxed scalar or a rectangular (nested) primitive array: float, double, long, int, byte
     * or boolean, e.g. {@code long[1][n]} (Kotlin {@code arrayOf(longArrayOf(...))}).
     */
    public static OnnxTensor createTensor(OrtEnvironment env, Object data) throws OrtException {
        if (data == null) throw new OrtException("Cannot create a tensor from null");
        if (!data.getClass().isArray()) return createScalar(env, data);
        List<Long> dims = new ArrayList<>();
        Class<?> leaf = data.getClass();
        Object probe = data;
        while (leaf.isArray()) {
            dims.add((long) Array.getLength(probe));
            leaf = leaf.getComponentType();
            if (leaf.isArray()) {
                if (Array.getLength(probe) == 0) throw new OrtException("Cannot create a tensor from an empty nested array");
                probe = Array.get(probe, 0);
            }
        }
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) shape[i] = dims.get(i);
        int elementType;
        int width;
        if (leaf == float.class) { elementType = OrtNative.ELEMENT_FLOAT; width = 4; }
        else if (leaf == double.class) { elementType = OrtNative.ELEMENT_DOUBLE; width = 8; }
        else if (leaf == long.class) { elementType = OrtNative.ELEMENT_INT64; width = 8; }
        else if (leaf == int.class) { elementType = OrtNative.ELEMENT_INT32; width = 4; }
        else if (leaf == byte.class) { elementType = OrtNative.ELEMENT_INT8; width = 1; }
        else if (leaf == boolean.class) { elementType = OrtNative.ELEMENT_BOOL; width = 1; }
        else throw new OrtException("Cannot create a tensor of " + leaf.getName() + " (this JVM build: numeric and bool only)");
        long count = elementCount(shape);
        Memory m = allocate(count, width);
        long[] offset = {0};
        flatten(data, shape, 0, m, offset, width);
        return create(env, m, count, shape, elementType);
    }

    private static OnnxTensor createScalar(OrtEnvironment env, Object value) throws OrtException {
        long[] scalar = new long[0];
        if (value instanceof Float) return createTensor(env, FloatBuffer.wrap(new float[] {(Float) value}), scalar);
        if (value instanceof Double) return createTensor(env, DoubleBuffer.wrap(new double[] {(Double) value}), scalar);
        if (value instanceof Long) return createTensor(env, LongBuffer.wrap(new long[] {(Long) value}), scalar);
        if (value instanceof Integer) return createTensor(env, IntBuffer.wrap(new int[] {(Integer) value}), scalar);
        throw new OrtException("Cannot create a tensor from " + value.getClass().getName());
    }

    private static void flatten(Object array, long[] shape, int depth, Memory m, long[] offset, int width)
            throws OrtException {
        int n = Array.getLength(array);
        if (n != shape[depth]) throw new OrtException("Cannot create a tensor from a ragged array: " + n
                + " elements where " + shape[depth] + " were expected at depth " + depth);
        if (depth < shape.length - 1) {
            for (int i = 0; i < n; i++) flatten(Array.get(array, i), shape, depth + 1, m, offset, width);
            return;
        }
        long at = offset[0];
        if (array instanceof float[]) m.write(at, (float[]) array, 0, n);
        else if (array instanceof double[]) m.write(at, (double[]) array, 0, n);
        else if (array instanceof long[]) m.write(at, (long[]) array, 0, n);
        else if (array instanceof int[]) m.write(at, (int[]) array, 0, n);
        else if (array instanceof byte[]) m.write(at, (byte[]) array, 0, n);
        else {
            boolean[] b = (boolean[]) array;
            for (int i = 0; i < n; i++) m.setByte(at + i, (byte) (b[i] ? 1 : 0));
        }
        offset[0] = at + (long) n * width;
    }

    private static Memory allocate(long count, int width) {
        // JNA cannot allocate 0 bytes; an empty tensor still needs a valid pointer.
        return new Memory(Math.max(1, count * width));
    }

    static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    private static OnnxTensor create(OrtEnvironment env, Memory m, long count, long[] shape, int elementType)
            throws OrtException {
        if (env == null) throw new OrtException("OrtEnvironment is null");
        for (long d : shape) {
            if (d < 0) throw new OrtException("Invalid shape " + Arrays.toString(shape) + ": negative dimension");
        }
        if (elementCount(shape) != count) {
            throw new OrtException("Shape " + Arrays.toString(shape) + ", requires " + elementCount(shape)
                    + " elements but the buffer has " + count + " elements.");
        }
        OrtNative ort = env.ort;
        Memory shapeMemory = new Memory(Math.max(1, 8L * shape.length));
        if (shape.length > 0) shapeMemory.write(0, shape, 0, shape.length);
        long bytes = count * width(elementType);
        Pointer value = ort.outPointer(OrtNative.CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE, ort.cpuMemoryInfo, m, bytes,
                shapeMemory, (long) shape.length, elementType);
        return new OnnxTensor(ort, value, new TensorInfo(shape.clone(), elementType), m);
    }

    private static int width(int elementType) {
        switch (elementType) {
            case OrtNative.ELEMENT_DOUBLE:
            case OrtNative.ELEMENT_INT64: return 8;
            case OrtNative.ELEMENT_FLOAT:
            case OrtNative.ELEMENT_INT32: return 4;
            case OrtNative.ELEMENT_FLOAT16: return 2;
            default: return 1;
        }
    }

    /** Wraps an OrtValue* a session produced (owned by the new OnnxTensor). */
    static OnnxTensor fromOutput(OrtNative ort, Pointer value) throws OrtException {
        Pointer typeAndShape = ort.outPointer(OrtNative.GET_TENSOR_TYPE_AND_SHAPE, value);
        try {
            return new OnnxTensor(ort, value, TensorInfo.fromNative(ort, typeAndShape), null);
        } finally {
            ort.release(OrtNative.RELEASE_TENSOR_TYPE_AND_SHAPE_INFO, typeAndShape);
        }
    }

    // ---- reading ----

    private Pointer dataPointer() throws OrtException {
        if (closed) throw new IllegalStateException("this OnnxTensor is closed");
        return ort.outPointer(OrtNative.GET_TENSOR_MUTABLE_DATA, handle);
    }

    private int count() {
        return (int) elementCount(info.getShape());
    }

    /** A copy of the elements as floats (float, or float16 widened), else null, as onnxruntime-android does. */
    public FloatBuffer getFloatBuffer() {
        try {
            if (info.elementType == OrtNative.ELEMENT_FLOAT) {
                float[] values = new float[count()];
                dataPointer().read(0, values, 0, values.length);
                return FloatBuffer.wrap(values);
            }
            if (info.elementType == OrtNative.ELEMENT_FLOAT16) {
                short[] halves = new short[count()];
                dataPointer().read(0, halves, 0, halves.length);
                float[] values = new float[halves.length];
                for (int i = 0; i < halves.length; i++) values[i] = halfToFloat(halves[i]);
                return FloatBuffer.wrap(values);
            }
            return null;
        } catch (OrtException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    public LongBuffer getLongBuffer() {
        if (info.elementType != OrtNative.ELEMENT_INT64) return null;
        long[] values = new long[count()];
        readOrThrow().read(0, values, 0, values.length);
        return LongBuffer.wrap(values);
    }

    public IntBuffer getIntBuffer() {
        if (info.elementType != OrtNative.ELEMENT_INT32) return null;
        int[] values = new int[count()];
        readOrThrow().read(0, values, 0, values.length);
        return IntBuffer.wrap(values);
    }

    public DoubleBuffer getDoubleBuffer() {
        if (info.elementType != OrtNative.ELEMENT_DOUBLE) return null;
        double[] values = new double[count()];
        readOrThrow().read(0, values, 0, values.length);
        return DoubleBuffer.wrap(values);
    }

    /** A copy of the raw bytes (native order). */
    public ByteBuffer getByteBuffer() {
        byte[] bytes = new byte[(int) (count() * (long) width(info.elementType))];
        readOrThrow().read(0, bytes, 0, bytes.length);
        return ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
    }

    private Pointer readOrThrow() {
        try {
            return dataPointer();
        } catch (OrtException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** A boxed scalar for rank 0, else a nested primitive array of the tensor's shape (float16 as float). */
    @Override
    public Object getValue() throws OrtException {
        long[] shape = info.getShape();
        Pointer p = dataPointer();
        Class<?> leaf;
        switch (info.elementType) {
            case OrtNative.ELEMENT_FLOAT:
            case OrtNative.ELEMENT_FLOAT16: leaf = float.class; break;
            case OrtNative.ELEMENT_DOUBLE: leaf = double.class; break;
            case OrtNative.ELEMENT_INT64: leaf = long.class; break;
            case OrtNative.ELEMENT_INT32: leaf = int.class; break;
            case OrtNative.ELEMENT_INT8:
            case OrtNative.ELEMENT_UINT8: leaf = byte.class; break;
            case OrtNative.ELEMENT_BOOL: leaf = boolean.class; break;
            default: throw new OrtException("getValue: element type " + info.type + " is not supported by this JVM build");
        }
        if (shape.length == 0) return Array.get(readRow(p, 0, 1, leaf), 0);
        int[] dims = new int[shape.length];
        for (int i = 0; i < dims.length; i++) dims[i] = (int) shape[i];
        Object result = Array.newInstance(leaf, dims);
        fill(result, dims, 0, p, new long[] {0}, leaf);
        return result;
    }

    private void fill(Object array, int[] dims, int depth, Pointer p, long[] index, Class<?> leaf) {
        if (depth == dims.length - 1) {
            Object row = readRow(p, index[0], dims[depth], leaf);
            System.arraycopy(row, 0, array, 0, dims[depth]);
            index[0] += dims[depth];
            return;
        }
        for (int i = 0; i < dims[depth]; i++) fill(Array.get(array, i), dims, depth + 1, p, index, leaf);
    }

    private Object readRow(Pointer p, long first, int n, Class<?> leaf) {
        int w = width(info.elementType);
        long at = first * w;
        if (info.elementType == OrtNative.ELEMENT_FLOAT16) {
            short[] halves = p.getShortArray(at, n);
            float[] row = new float[n];
            for (int i = 0; i < n; i++) row[i] = halfToFloat(halves[i]);
            return row;
        }
        if (leaf == float.class) return p.getFloatArray(at, n);
        if (leaf == double.class) return p.getDoubleArray(at, n);
        if (leaf == long.class) return p.getLongArray(at, n);
        if (leaf == int.class) return p.getIntArray(at, n);
        byte[] bytes = p.getByteArray(at, n);
        if (leaf == byte.class) return bytes;
        boolean[] row = new boolean[n];
        for (int i = 0; i < n; i++) row[i] = bytes[i] != 0;
        return row;
    }

    /** IEEE 754 binary16 to float (Float.float16ToFloat needs Java 20). */
    static float halfToFloat(short half) {
        int h = half & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exponent == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        if (exponent == 0) {
            float magnitude = mantissa * 5.9604645e-8f; // 2^-24
            return sign == 0 ? magnitude : -magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        ort.release(OrtNative.RELEASE_VALUE, handle);
        if (data != null) data.close();
    }

    @Override
    public String toString() {
        return "OnnxTensor(info=" + info + ",closed=" + closed + ")";
    }
}
