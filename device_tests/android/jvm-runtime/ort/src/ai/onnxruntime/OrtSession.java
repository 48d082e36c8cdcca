// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md). OrtSession, its
// SessionOptions and Result with onnxruntime-android's signatures, over OrtSession* of the C API.
package ai.onnxruntime;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

public class OrtSession implements AutoCloseable {
    private final OrtNative ort;
    private final Pointer handle;
    private final Map<String, NodeInfo> inputInfo;
    private final Map<String, NodeInfo> outputInfo;
    private boolean closed;

    private OrtSession(OrtNative ort, Pointer handle) throws OrtException {
        this.ort = ort;
        this.handle = handle;
        this.inputInfo = nodes(true);
        this.outputInfo = nodes(false);
    }

    static OrtSession fromPath(OrtEnvironment env, String modelPath, SessionOptions options) throws OrtException {
        OrtNative ort = env.ort;
        try (SessionOptions defaults = options == null ? new SessionOptions() : null) {
            SessionOptions used = options == null ? defaults : options;
            Pointer session = ort.outPointer(OrtNative.CREATE_SESSION, env.handle, OrtNative.cString(modelPath),
                    used.handle());
            return wrap(ort, session);
        }
    }

    static OrtSession fromBytes(OrtEnvironment env, byte[] model, SessionOptions options) throws OrtException {
        OrtNative ort = env.ort;
        Memory bytes = new Memory(Math.max(1, model.length));
        bytes.write(0, model, 0, model.length);
        try (SessionOptions defaults = options == null ? new SessionOptions() : null) {
            SessionOptions used = options == null ? defaults : options;
            Pointer session = ort.outPointer(OrtNative.CREATE_SESSION_FROM_ARRAY, env.handle, bytes,
                    (long) model.length, used.handle());
            return wrap(ort, session);
        } finally {
            bytes.close();
        }
    }

    private static OrtSession wrap(OrtNative ort, Pointer session) throws OrtException {
        try {
            return new OrtSession(ort, session);
        } catch (OrtException | RuntimeException e) {
            ort.release(OrtNative.RELEASE_SESSION, session);
            throw e;
        }
    }

    private Map<String, NodeInfo> nodes(boolean inputs) throws OrtException {
        long count = ort.outLong(inputs ? OrtNative.SESSION_GET_INPUT_COUNT : OrtNative.SESSION_GET_OUTPUT_COUNT, handle);
        Map<String, NodeInfo> result = new LinkedHashMap<>();
        for (long i = 0; i < count; i++) {
            String name = ort.takeString(ort.outPointer(
                    inputs ? OrtNative.SESSION_GET_INPUT_NAME : OrtNative.SESSION_GET_OUTPUT_NAME, handle, i, ort.allocator));
            Pointer typeInfo = ort.outPointer(
                    inputs ? OrtNative.SESSION_GET_INPUT_TYPE_INFO : OrtNative.SESSION_GET_OUTPUT_TYPE_INFO, handle, i);
            try {
                // Not released: CastTypeInfoToTensorInfo returns a view into typeInfo (null if not a tensor).
                Pointer tensorInfo = ort.outPointer(OrtNative.CAST_TYPE_INFO_TO_TENSOR_INFO, typeInfo);
                ValueInfo info = tensorInfo == null ? new ValueInfo() {} : TensorInfo.fromNative(ort, tensorInfo);
                result.put(name, new NodeInfo(name, info));
            } finally {
                ort.release(OrtNative.RELEASE_TYPE_INFO, typeInfo);
            }
        }
        return Collections.unmodifiableMap(result);
    }

    public long getNumInputs() {
        return inputInfo.size();
    }

    public long getNumOutputs() {
        return outputInfo.size();
    }

    public Set<String> getInputNames() {
        return inputInfo.keySet();
    }

    public Set<String> getOutputNames() {
        return outputInfo.keySet();
    }

    public Map<String, NodeInfo> getInputInfo() {
        return inputInfo;
    }

    public Map<String, NodeInfo> getOutputInfo() {
        return outputInfo;
    }

    public Result run(Map<String, ? extends OnnxTensorLike> inputs) throws OrtException {
        return run(inputs, outputInfo.keySet());
    }

    /**
     * Runs the model. Unknown input or output names are left to the C API, so the exception carries
     * its message (e.g. "Invalid input name: x").
     */
    public Result run(Map<String, ? extends OnnxTensorLike> inputs, Set<String> requestedOutputs) throws OrtException {
        if (closed) throw new IllegalStateException("Asking to run a closed session");
        if (requestedOutputs.isEmpty()) throw new OrtException("No outputs requested");
        List<Memory> keep = new ArrayList<>();
        String[] inputNames = inputs.keySet().toArray(new String[0]);
        String[] outputNames = new LinkedHashSet<>(requestedOutputs).toArray(new String[0]);
        Memory inputValues = new Memory((long) Math.max(1, inputNames.length) * Native.POINTER_SIZE);
        for (int i = 0; i < inputNames.length; i++) {
            OnnxTensorLike tensor = inputs.get(inputNames[i]);
            if (tensor == null) throw new OrtException("Input \"" + inputNames[i] + "\" is null");
            inputValues.setPointer((long) i * Native.POINTER_SIZE, tensor.handle);
        }
        Memory outputs = new Memory((long) outputNames.length * Native.POINTER_SIZE);
        outputs.clear();
        Memory inputNameArray = OrtNative.cStringArray(inputNames, keep);
        Memory outputNameArray = OrtNative.cStringArray(outputNames, keep);
        keep.add(inputNameArray);
        keep.add(outputNameArray);
        keep.add(inputValues);
        try {
            ort.call(OrtNative.RUN, handle, null, inputNameArray, inputValues, (long) inputNames.length,
                    outputNameArray, (long) outputNames.length, outputs);
        } catch (OrtException e) {
            outputs.close();
            throw e;
        } finally {
            // Freed now rather than by JNA's cleaner (ORT copied what it keeps).
            keep.forEach(Memory::close);
        }
        List<OnnxValue> values = new ArrayList<>();
        try {
            for (int i = 0; i < outputNames.length; i++) {
                Pointer value = outputs.getPointer((long) i * Native.POINTER_SIZE);
                int type = ort.outInt(OrtNative.GET_VALUE_TYPE, value);
                if (type != OrtNative.ONNX_TYPE_TENSOR) {
                    throw new OrtException("Output \"" + outputNames[i] + "\": ONNXType " + type
                            + " is not supported by this JVM build (tensors only)");
                }
                values.add(OnnxTensor.fromOutput(ort, value));
            }
        } catch (OrtException | RuntimeException e) {
            values.forEach(OnnxValue::close);
            // The value that failed and every later one are still owned by this method.
            for (int i = values.size(); i < outputNames.length; i++) {
                ort.release(OrtNative.RELEASE_VALUE, outputs.getPointer((long) i * Native.POINTER_SIZE));
            }
            throw e;
        }
        outputs.close();
        return new Result(outputNames, values);
    }

    /** Ends profiling; returns the profile file's name (what SessionOptions.enableProfiling started). */
    public String endProfiling() throws OrtException {
        return ort.takeString(ort.outPointer(OrtNative.SESSION_END_PROFILING, handle, ort.allocator));
    }

    @Override
    public synchronized void close() throws OrtException {
        if (closed) return;
        closed = true;
        ort.release(OrtNative.RELEASE_SESSION, handle);
    }

    @Override
    public String toString() {
        return "OrtSession(numInputs=" + inputInfo.size() + ",numOutputs=" + outputInfo.size() + ")";
    }

    /** Options for creating a session; ORT copies them, so they may be closed once the session exists. */
    public static class SessionOptions implements AutoCloseable {
        /** Graph optimisation levels (GraphOptimizationLevel of the C API). */
        public enum OptLevel {
            NO_OPT(0),
            BASIC_OPT(1),
            EXTENDED_OPT(2),
            ALL_OPT(99);

            private final int id;

            OptLevel(int id) {
                this.id = id;
            }

            public int getID() {
                return id;
            }
        }

        private final OrtNative ort;
        private final Pointer handle;
        private boolean closed;

        public SessionOptions() {
            try {
                ort = OrtNative.get();
                handle = ort.outPointer(OrtNative.CREATE_SESSION_OPTIONS);
            } catch (OrtException e) {
                throw new IllegalStateException("Failed to create SessionOptions: " + e.getMessage(), e);
            }
        }

        Pointer handle() {
            if (closed) throw new IllegalStateException("Trying to use a closed SessionOptions");
            return handle;
        }

        public void setIntraOpNumThreads(int numThreads) throws OrtException {
            ort.call(OrtNative.SET_INTRA_OP_NUM_THREADS, handle(), numThreads);
        }

        public void setInterOpNumThreads(int numThreads) throws OrtException {
            ort.call(OrtNative.SET_INTER_OP_NUM_THREADS, handle(), numThreads);
        }

        public void setOptimizationLevel(OptLevel level) throws OrtException {
            ort.call(OrtNative.SET_SESSION_GRAPH_OPTIMIZATION_LEVEL, handle(), level.getID());
        }

        /** ORT writes {@code <filePath>_<timestamp>.json}; OrtSession.endProfiling() returns that name. */
        public void enableProfiling(String filePath) throws OrtException {
            ort.call(OrtNative.ENABLE_PROFILING, handle(), OrtNative.cString(filePath));
        }

        public void disableProfiling() throws OrtException {
            ort.call(OrtNative.DISABLE_PROFILING, handle());
        }

        public void addConfigEntry(String key, String value) throws OrtException {
            ort.call(OrtNative.ADD_SESSION_CONFIG_ENTRY, handle(), OrtNative.cString(key), OrtNative.cString(value));
        }

        /**
         * NNAPI exists only in Android builds of ONNX Runtime. Like onnxruntime-android built without
         * it, this throws (so a caller's CPU fallback runs) unless the loaded library lists the provider.
         */
        public void addNnapi() throws OrtException {
            handle();
            if (!OrtEnvironment.getEnvironment().getAvailableProviderNames().contains("NnapiExecutionProvider")) {
                throw new OrtException(OrtException.OrtErrorCode.ORT_INVALID_ARGUMENT,
                        "This binary was not compiled with NNAPI support.");
            }
            throw new OrtException(OrtException.OrtErrorCode.ORT_NOT_IMPLEMENTED,
                    "NNAPI is listed by the library, but this JVM build has no entry point for it.");
        }

        /** SessionOptionsAppendExecutionProvider(options, "XNNPACK", ...): the C API decides if it is available. */
        public void addXnnpack(Map<String, String> providerOptions) throws OrtException {
            List<Memory> keep = new ArrayList<>();
            String[] keys = providerOptions.keySet().toArray(new String[0]);
            String[] values = new String[keys.length];
            for (int i = 0; i < keys.length; i++) values[i] = providerOptions.get(keys[i]);
            ort.call(OrtNative.SESSION_OPTIONS_APPEND_EXECUTION_PROVIDER, handle(), OrtNative.cString("XNNPACK"),
                    OrtNative.cStringArray(keys, keep), OrtNative.cStringArray(values, keep), (long) keys.length);
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            ort.release(OrtNative.RELEASE_SESSION_OPTIONS, handle);
        }
    }

    /** The outputs of one run, in the requested order; closing it closes every value. */
    public static class Result implements AutoCloseable, Iterable<Map.Entry<String, OnnxValue>> {
        private final Map<String, OnnxValue> map = new LinkedHashMap<>();
        private final List<OnnxValue> list;
        private boolean closed;

        Result(String[] names, List<OnnxValue> values) {
            for (int i = 0; i < names.length; i++) map.put(names[i], values.get(i));
            this.list = new ArrayList<>(values);
        }

        public int size() {
            return list.size();
        }

        public boolean isEmpty() {
            return list.isEmpty();
        }

        public OnnxValue get(int index) {
            if (closed) throw new IllegalStateException("Result is closed");
            return list.get(index);
        }

        public Optional<OnnxValue> get(String key) {
            if (closed) throw new IllegalStateException("Result is closed");
            return Optional.ofNullable(map.get(key));
        }

        @Override
        public Iterator<Map.Entry<String, OnnxValue>> iterator() {
            if (closed) throw new IllegalStateException("Result is closed");
            List<Map.Entry<String, OnnxValue>> entries = new ArrayList<>();
            for (Map.Entry<String, OnnxValue> e : map.entrySet()) {
                entries.add(new AbstractMap.SimpleImmutableEntry<>(e.getKey(), e.getValue()));
            }
            return entries.iterator();
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            list.forEach(OnnxValue::close);
        }
    }
}
