// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md). One OrtEnv per JVM,
// as in onnxruntime-android; close() is a no-op there since ORT 1.11, and here too.
package ai.onnxruntime;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

public final class OrtEnvironment implements AutoCloseable {
    public static final String DEFAULT_NAME = "ort-java";

    private static OrtEnvironment instance;

    final OrtNative ort;
    final Pointer handle;
    private final String name;

    private OrtEnvironment(OrtNative ort, Pointer handle, String name) {
        this.ort = ort;
        this.handle = handle;
        this.name = name;
    }

    public static OrtEnvironment getEnvironment() {
        return getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, DEFAULT_NAME);
    }

    public static OrtEnvironment getEnvironment(String name) {
        return getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, name);
    }

    public static OrtEnvironment getEnvironment(OrtLoggingLevel level) {
        return getEnvironment(level, DEFAULT_NAME);
    }

    /** The first call creates the environment; later ones return it (their arguments are ignored, as on Android). */
    public static synchronized OrtEnvironment getEnvironment(OrtLoggingLevel level, String name) {
        if (instance == null) {
            try {
                OrtNative ort = OrtNative.get();
                Memory logId = OrtNative.cString(name);
                Pointer env = ort.outPointer(OrtNative.CREATE_ENV, level.getValue(), logId);
                instance = new OrtEnvironment(ort, env, name);
            } catch (OrtException e) {
                // onnxruntime-android throws IllegalStateException when the environment cannot be created.
                throw new IllegalStateException("Failed to create OrtEnvironment: " + e.getMessage(), e);
            }
        }
        return instance;
    }

    public OrtSession createSession(String modelPath) throws OrtException {
        return createSession(modelPath, null);
    }

    public OrtSession createSession(String modelPath, OrtSession.SessionOptions options) throws OrtException {
        return OrtSession.fromPath(this, modelPath, options);
    }

    public OrtSession createSession(byte[] modelArray) throws OrtException {
        return createSession(modelArray, null);
    }

    public OrtSession createSession(byte[] modelArray, OrtSession.SessionOptions options) throws OrtException {
        return OrtSession.fromBytes(this, modelArray, options);
    }

    /** The native library's version string, e.g. "1.30.0" (onnxruntime-android's getVersion()). */
    public String getVersion() {
        return ort.version;
    }

    /** The path of the libonnxruntime this JVM loaded (JVM build only). */
    public String getLibraryPath() {
        return ort.libraryPath;
    }

    /** The execution providers compiled into the loaded library, e.g. [CPUExecutionProvider]. */
    public List<String> getAvailableProviderNames() throws OrtException {
        Memory names = new Memory(Native.POINTER_SIZE);
        Memory count = new Memory(4);
        ort.call(OrtNative.GET_AVAILABLE_PROVIDERS, names, count);
        Pointer array = names.getPointer(0);
        int n = count.getInt(0);
        List<String> result = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) result.add(array.getPointer((long) i * Native.POINTER_SIZE).getString(0, "UTF-8"));
        } finally {
            ort.call(OrtNative.RELEASE_AVAILABLE_PROVIDERS, array, n);
        }
        return Collections.unmodifiableList(result);
    }

    @Override
    public void close() {}

    @Override
    public String toString() {
        return "OrtEnvironment(name=" + name + ",version=" + ort.version + ")";
    }
}
