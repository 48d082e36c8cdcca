// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md): the real ONNX Runtime
// C API, reached through JNA. Package-private: the public classes mirror onnxruntime-android's API.
package ai.onnxruntime;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * The OrtApi function table of one loaded libonnxruntime. Slot numbers are the positions of the
 * members of {@code struct OrtApi} in onnxruntime_c_api.h (counted from 0; the struct is append-only,
 * so a slot never moves in a later release). The table was counted for {@link #API_VERSION}; the
 * library's own GetVersionString() must start with {@link #SUPPORTED_VERSION_PREFIX}, else loading fails.
 */
final class OrtNative {
    /** ORT_API_VERSION of onnxruntime 1.30 (the minor version, as for every 1.x release). */
    static final int API_VERSION = 30;
    static final String SUPPORTED_VERSION_PREFIX = "1.30.";

    // Slots in struct OrtApi (onnxruntime_c_api.h, counted on 1.29.0's header; README.md says how and
    // how it was cross-checked). All are inside API version 12 (slots 0..218), frozen since ORT 1.12:
    // OrtApi is append-only, so later releases keep them.
    static final int GET_ERROR_CODE = 1;
    static final int GET_ERROR_MESSAGE = 2;
    static final int CREATE_ENV = 3;
    static final int CREATE_SESSION = 7;
    static final int CREATE_SESSION_FROM_ARRAY = 8;
    static final int RUN = 9;
    static final int CREATE_SESSION_OPTIONS = 10;
    static final int ENABLE_PROFILING = 14;
    static final int DISABLE_PROFILING = 15;
    static final int SET_SESSION_GRAPH_OPTIMIZATION_LEVEL = 23;
    static final int SET_INTRA_OP_NUM_THREADS = 24;
    static final int SET_INTER_OP_NUM_THREADS = 25;
    static final int SESSION_GET_INPUT_COUNT = 30;
    static final int SESSION_GET_OUTPUT_COUNT = 31;
    static final int SESSION_GET_INPUT_TYPE_INFO = 33;
    static final int SESSION_GET_OUTPUT_TYPE_INFO = 34;
    static final int SESSION_GET_INPUT_NAME = 36;
    static final int SESSION_GET_OUTPUT_NAME = 37;
    static final int CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE = 49;
    static final int GET_TENSOR_MUTABLE_DATA = 51;
    static final int CAST_TYPE_INFO_TO_TENSOR_INFO = 55;
    static final int GET_TENSOR_ELEMENT_TYPE = 60;
    static final int GET_DIMENSIONS_COUNT = 61;
    static final int GET_DIMENSIONS = 62;
    static final int GET_TENSOR_SHAPE_ELEMENT_COUNT = 64;
    static final int GET_TENSOR_TYPE_AND_SHAPE = 65;
    static final int GET_VALUE_TYPE = 67;
    static final int CREATE_CPU_MEMORY_INFO = 69;
    static final int ALLOCATOR_FREE = 76;
    static final int GET_ALLOCATOR_WITH_DEFAULT_OPTIONS = 78;
    static final int RELEASE_ENV = 92;
    static final int RELEASE_STATUS = 93;
    static final int RELEASE_MEMORY_INFO = 94;
    static final int RELEASE_SESSION = 95;
    static final int RELEASE_VALUE = 96;
    static final int RELEASE_TYPE_INFO = 98;
    static final int RELEASE_TENSOR_TYPE_AND_SHAPE_INFO = 99;
    static final int RELEASE_SESSION_OPTIONS = 100;
    static final int SESSION_END_PROFILING = 110;
    static final int GET_AVAILABLE_PROVIDERS = 125;
    static final int RELEASE_AVAILABLE_PROVIDERS = 126;
    static final int ADD_SESSION_CONFIG_ENTRY = 130;
    static final int SESSION_OPTIONS_APPEND_EXECUTION_PROVIDER = 216;

    // ONNXTensorElementDataType and ONNXType values used here.
    static final int ELEMENT_FLOAT = 1;
    static final int ELEMENT_UINT8 = 2;
    static final int ELEMENT_INT8 = 3;
    static final int ELEMENT_INT32 = 6;
    static final int ELEMENT_INT64 = 7;
    static final int ELEMENT_BOOL = 9;
    static final int ELEMENT_FLOAT16 = 10;
    static final int ELEMENT_DOUBLE = 11;
    static final int ONNX_TYPE_TENSOR = 1;

    /** Where to find the library: a system property, an environment variable, or the build's properties. */
    static final String LIBRARY_PROPERTY = "ai.onnxruntime.library";
    static final String LIBRARY_ENV = "ORT_JVM_LIBRARY";
    static final String PROPERTIES_FILE = "ort-jvm.properties";

    private static OrtNative instance;

    final String libraryPath;
    final String version;
    private final Pointer api;
    private final Function[] cache = new Function[512];
    /** OrtAllocatorWithDefaultOptions: owned by ORT, never released. */
    final Pointer allocator;
    /** One CPU memory info for every tensor this JVM creates from Java data. */
    final Pointer cpuMemoryInfo;

    private OrtNative(String libraryPath) throws OrtException {
        if (Native.SIZE_T_SIZE != 8) {
            throw new OrtException("ai.onnxruntime (JVM): only 64-bit JVMs are supported (size_t is "
                    + Native.SIZE_T_SIZE + " bytes)");
        }
        this.libraryPath = libraryPath;
        if (!new File(libraryPath).isFile()) {
            throw new OrtException("ai.onnxruntime (JVM): ONNX Runtime library not found: " + libraryPath);
        }
        NativeLibrary library;
        try {
            library = NativeLibrary.getInstance(libraryPath);
        } catch (UnsatisfiedLinkError e) {
            // JNA's message repeats the dlopen error on several lines: the second one says why.
            String[] lines = String.valueOf(e.getMessage()).split("\n");
            throw new OrtException("ai.onnxruntime (JVM): cannot load " + libraryPath + ": "
                    + (lines.length > 1 ? lines[1] : lines[0]));
        }
        Pointer base = library.getFunction("OrtGetApiBase").invokePointer(new Object[0]);
        // struct OrtApiBase { const OrtApi* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); }
        Pointer versionString = Function.getFunction(base.getPointer(Native.POINTER_SIZE)).invokePointer(new Object[0]);
        version = versionString.getString(0, "UTF-8");
        if (!version.startsWith(SUPPORTED_VERSION_PREFIX)) {
            throw new OrtException("ai.onnxruntime (JVM): " + libraryPath + " is ONNX Runtime " + version
                    + ", but this build's OrtApi slot table is for " + SUPPORTED_VERSION_PREFIX
                    + "x (device_tests/android/jvm-runtime/README.md)");
        }
        api = Function.getFunction(base.getPointer(0)).invokePointer(new Object[] {API_VERSION});
        if (api == null) {
            throw new OrtException("ai.onnxruntime (JVM): ONNX Runtime " + version + " does not offer API version "
                    + API_VERSION);
        }
        allocator = outPointer(GET_ALLOCATOR_WITH_DEFAULT_OPTIONS);
        // OrtArenaAllocator (1), OrtMemTypeDefault (0): what the Java binding uses for CPU tensors.
        cpuMemoryInfo = outPointer(CREATE_CPU_MEMORY_INFO, 1, 0);
    }

    static synchronized OrtNative get() throws OrtException {
        if (instance == null) instance = new OrtNative(findLibrary());
        return instance;
    }

    /** The library to load: -Dai.onnxruntime.library, $ORT_JVM_LIBRARY, else ort-jvm.properties beside the jar. */
    static String findLibrary() throws OrtException {
        String path = System.getProperty(LIBRARY_PROPERTY);
        if (path == null || path.isEmpty()) path = System.getenv(LIBRARY_ENV);
        if (path != null && !path.isEmpty()) return path;
        File properties = propertiesBesideJar();
        if (properties == null || !properties.isFile()) {
            throw new OrtException("ai.onnxruntime (JVM): no ONNX Runtime library configured: set -D" + LIBRARY_PROPERTY
                    + " or " + LIBRARY_ENV + ", or run device_tests/android/jvm-runtime/build-ort.sh (writes "
                    + PROPERTIES_FILE + " beside the jar)");
        }
        Properties values = new Properties();
        try (InputStream in = new FileInputStream(properties)) {
            values.load(in);
        } catch (IOException e) {
            throw new OrtException("ai.onnxruntime (JVM): cannot read " + properties + ": " + e.getMessage());
        }
        // One entry per architecture, so an arm64 JVM (e.g. under qemu-user) picks the arm64 build.
        String arch = System.getProperty("os.arch");
        path = values.getProperty("library." + ("amd64".equals(arch) ? "x86_64" : arch), values.getProperty("library"));
        if (path == null || path.isEmpty()) {
            throw new OrtException("ai.onnxruntime (JVM): " + properties + " has no library for " + arch);
        }
        return path;
    }

    private static File propertiesBesideJar() {
        try {
            File source = new File(OrtNative.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return new File(source.isDirectory() ? source : source.getParentFile(), PROPERTIES_FILE);
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            return null;
        }
    }

    private Function function(int slot) {
        Function f = cache[slot];
        if (f == null) {
            f = Function.getFunction(api.getPointer((long) slot * Native.POINTER_SIZE));
            cache[slot] = f;
        }
        return f;
    }

    /** Calls a function returning OrtStatus*; a non-null status becomes an OrtException with its message. */
    void call(int slot, Object... args) throws OrtException {
        check(function(slot).invokePointer(args));
    }

    /** Calls a function whose last parameter is a T** out, and returns *out. */
    Pointer outPointer(int slot, Object... args) throws OrtException {
        // Freed right away rather than by JNA's cleaner: the sign-off calls this thousands of times.
        try (Memory out = new Memory(Native.POINTER_SIZE)) {
            out.setPointer(0, null);
            call(slot, withOut(args, out));
            return out.getPointer(0);
        }
    }

    /** Calls a function whose last parameter is a size_t* (or int64_t*) out. */
    long outLong(int slot, Object... args) throws OrtException {
        try (Memory out = new Memory(8)) {
            out.setLong(0, 0);
            call(slot, withOut(args, out));
            return out.getLong(0);
        }
    }

    /** Calls a function whose last parameter is an enum* (int) out. */
    int outInt(int slot, Object... args) throws OrtException {
        try (Memory out = new Memory(4)) {
            out.setInt(0, 0);
            call(slot, withOut(args, out));
            return out.getInt(0);
        }
    }

    private static Object[] withOut(Object[] args, Memory out) {
        Object[] all = java.util.Arrays.copyOf(args, args.length + 1);
        all[args.length] = out;
        return all;
    }

    /** Calls a Release* function (void, null-tolerant). */
    void release(int slot, Pointer handle) {
        if (handle != null) function(slot).invokeVoid(new Object[] {handle});
    }

    void check(Pointer status) throws OrtException {
        if (status == null) return;
        int code = function(GET_ERROR_CODE).invokeInt(new Object[] {status});
        Pointer message = function(GET_ERROR_MESSAGE).invokePointer(new Object[] {status});
        String text = message == null ? "" : message.getString(0, "UTF-8");
        function(RELEASE_STATUS).invokeVoid(new Object[] {status});
        throw new OrtException(OrtException.OrtErrorCode.fromValue(code), text);
    }

    /** A string ORT allocated with the default allocator: read, then freed. */
    String takeString(Pointer p) throws OrtException {
        if (p == null) return null;
        try {
            return p.getString(0, "UTF-8");
        } finally {
            call(ALLOCATOR_FREE, allocator, p);
        }
    }

    /** NUL-terminated UTF-8 (JNA's String conversion would use the platform charset). */
    static Memory cString(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        Memory m = new Memory(bytes.length + 1L);
        m.write(0, bytes, 0, bytes.length);
        m.setByte(bytes.length, (byte) 0);
        return m;
    }

    /** A char*[] over the given strings; keep the returned holder alive while ORT reads it. */
    static Memory cStringArray(String[] strings, java.util.List<Memory> keepAlive) {
        Memory array = new Memory((long) Math.max(1, strings.length) * Native.POINTER_SIZE);
        for (int i = 0; i < strings.length; i++) {
            Memory s = cString(strings[i]);
            keepAlive.add(s);
            array.setPointer((long) i * Native.POINTER_SIZE, s);
        }
        return array;
    }
}
