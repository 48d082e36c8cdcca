// Check program for ai.onnxruntime on the JVM (tests/android_jvm/test_ort_jvm.py runs it): the
// token ids in a JSON file through each model, outputs written as raw little-endian float32 for the
// test to compare with Python onnxruntime; plus the error paths, the providers and profiling.
//
// Usage: java -cp ort-check.jar:ort-jvm.jar:jna.jar OrtCheck <ids.json> <outDir> <model.onnx>...
//        java -cp ... OrtCheck --version   (prints the loaded library's version, or why it cannot load)
// Writes <outDir>/report.json and <outDir>/m<i>_t<j>.f32 (model i, text j).
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class OrtCheck {
    private OrtCheck() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("--version")) {
            // Loads the library (-Dai.onnxruntime.library or ort-jvm.properties) and prints its version.
            try {
                System.out.println(OrtEnvironment.getEnvironment().getVersion());
            } catch (IllegalStateException e) {
                System.err.println(e.getMessage());
                System.exit(1);
            }
            return;
        }
        if (args.length < 3) {
            System.err.println("usage: OrtCheck <ids.json> <outDir> <model.onnx>...");
            System.exit(2);
        }
        List<long[]> texts = parseIds(new String(Files.readAllBytes(new File(args[0]).toPath()), StandardCharsets.UTF_8));
        File out = new File(args[1]);
        out.mkdirs();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Json report = new Json();
        report.field("version", env.getVersion()).field("library", env.getLibraryPath());
        report.raw("providers", Json.strings(env.getAvailableProviderNames()));
        List<String> models = new ArrayList<>();
        for (int m = 2; m < args.length; m++) models.add(runModel(env, args[m], m - 2, texts, out));
        report.raw("models", "[" + String.join(",", models) + "]");

        String first = args[2];
        Json errors = new Json();
        errors.raw("missingModel", caught(() -> env.createSession(new File(out, "no-such-model.onnx").getPath(),
                new OrtSession.SessionOptions()).close()));
        errors.raw("wrongInput", caught(() -> {
            try (OrtSession session = env.createSession(first, new OrtSession.SessionOptions());
                    OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(texts.get(0)),
                            new long[] {1, texts.get(0).length})) {
                session.run(Collections.singletonMap("input_idz", ids)).close();
            }
        }));
        errors.raw("nnapi", caught(() -> new OrtSession.SessionOptions().addNnapi()));
        errors.raw("xnnpack", caught(() -> new OrtSession.SessionOptions()
                .addXnnpack(Collections.singletonMap("intra_op_num_threads", "1"))));
        errors.raw("shapeMismatch", caught(() -> OnnxTensor.createTensor(env, LongBuffer.wrap(new long[3]),
                new long[] {1, 4}).close()));
        report.raw("errors", errors.toString());
        report.field("profile", profile(env, first, texts.get(0), new File(out, "profile")));
        Files.write(new File(out, "report.json").toPath(), report.toString().getBytes(StandardCharsets.UTF_8));
    }

    interface Action {
        void run() throws Exception;
    }

    /** What an action threw (class, OrtException code, message), or null if it did not throw. */
    static String caught(Action action) {
        try {
            action.run();
            return "null";
        } catch (Exception e) {
            Json j = new Json().field("class", e.getClass().getName()).field("message", e.getMessage());
            if (e instanceof OrtException) j.field("code", ((OrtException) e).getCode().name());
            return j.toString();
        }
    }

    static Map<String, OnnxTensor> feeds(OrtEnvironment env, OrtSession session, long[] ids, boolean viaObject)
            throws OrtException {
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        long[] shape = {1, ids.length};
        for (String name : session.getInputNames()) {
            long[] values;
            if (name.equals("input_ids")) values = ids;
            else if (name.equals("attention_mask")) { values = new long[ids.length]; Arrays.fill(values, 1L); }
            else if (name.equals("token_type_ids")) values = new long[ids.length];
            else throw new IllegalArgumentException("unsupported input " + name);
            feeds.put(name, viaObject ? OnnxTensor.createTensor(env, new long[][] {values})
                    : OnnxTensor.createTensor(env, LongBuffer.wrap(values), shape));
        }
        return feeds;
    }

    static String runModel(OrtEnvironment env, String path, int index, List<long[]> texts, File out) throws Exception {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        OrtSession session = env.createSession(path, options);
        options.close();
        String output = session.getOutputNames().iterator().next();
        List<String> shapes = new ArrayList<>();
        boolean valueMatchesBuffer = true;
        boolean objectTensorMatches = true;
        for (int t = 0; t < texts.size(); t++) {
            float[] values;
            Map<String, OnnxTensor> feeds = feeds(env, session, texts.get(t), false);
            try (OrtSession.Result result = session.run(feeds, Collections.singleton(output))) {
                OnnxTensor tensor = (OnnxTensor) result.get(output).get();
                FloatBuffer buffer = tensor.getFloatBuffer();
                values = new float[buffer.remaining()];
                buffer.get(values);
                shapes.add(Arrays.toString(tensor.getInfo().getShape()));
                valueMatchesBuffer &= Arrays.equals(flatten(tensor.getValue()), values);
                OnnxValue byIndex = result.get(0);
                valueMatchesBuffer &= byIndex == tensor && result.size() == 1;
            } finally {
                feeds.values().forEach(OnnxTensor::close);
            }
            if (t == 0) {
                Map<String, OnnxTensor> objectFeeds = feeds(env, session, texts.get(t), true);
                try (OrtSession.Result result = session.run(objectFeeds)) {
                    FloatBuffer again = ((OnnxTensor) result.get(output).get()).getFloatBuffer();
                    float[] copy = new float[again.remaining()];
                    again.get(copy);
                    objectTensorMatches = Arrays.equals(copy, values);
                } finally {
                    objectFeeds.values().forEach(OnnxTensor::close);
                }
            }
            ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(values);
            Files.write(new File(out, "m" + index + "_t" + t + ".f32").toPath(), bytes.array());
        }
        // The other ways in: a session from bytes, with a config entry and profiling switched off.
        boolean fromBytesMatches;
        try (OrtSession.SessionOptions more = new OrtSession.SessionOptions()) {
            more.setIntraOpNumThreads(1);
            more.addConfigEntry("session.intra_op.allow_spinning", "0");
            more.enableProfiling(new File(out, "never").getAbsolutePath());
            more.disableProfiling();
            try (OrtSession fromBytes = env.createSession(Files.readAllBytes(new File(path).toPath()), more)) {
                Map<String, OnnxTensor> feeds = feeds(env, fromBytes, texts.get(0), false);
                try (OrtSession.Result result = fromBytes.run(feeds)) {
                    float[] first = new float[(int) ((OnnxTensor) result.get(0)).getInfo().getNumElements()];
                    ((OnnxTensor) result.get(0)).getFloatBuffer().get(first);
                    byte[] written = Files.readAllBytes(new File(out, "m" + index + "_t0.f32").toPath());
                    float[] expected = new float[first.length];
                    ByteBuffer.wrap(written).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(expected);
                    fromBytesMatches = Arrays.equals(first, expected);
                } finally {
                    feeds.values().forEach(OnnxTensor::close);
                }
            }
        }
        Json inputs = new Json();
        for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
            inputs.field(e.getKey(), Arrays.toString(((TensorInfo) e.getValue().getInfo()).getShape()));
        }
        Json model = new Json().field("path", path).field("output", output)
                .raw("inputNames", Json.strings(new ArrayList<>(session.getInputNames())))
                .raw("outputNames", Json.strings(new ArrayList<>(session.getOutputNames())))
                .raw("inputShapes", inputs.toString())
                .raw("shapes", Json.strings(shapes))
                .raw("valueMatchesBuffer", String.valueOf(valueMatchesBuffer))
                .raw("objectTensorMatches", String.valueOf(objectTensorMatches))
                .raw("fromBytesMatches", String.valueOf(fromBytesMatches));
        session.close();
        return model.toString();
    }

    static String profile(OrtEnvironment env, String path, long[] ids, File prefix) throws Exception {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.enableProfiling(prefix.getAbsolutePath());
        try (OrtSession session = env.createSession(path, options)) {
            options.close();
            Map<String, OnnxTensor> feeds = feeds(env, session, ids, false);
            session.run(feeds).close();
            feeds.values().forEach(OnnxTensor::close);
            return session.endProfiling();
        }
    }

    static float[] flatten(Object value) {
        if (value instanceof float[]) return (float[]) value;
        Object[] rows = (Object[]) value;
        List<float[]> parts = new ArrayList<>();
        int n = 0;
        for (Object row : rows) {
            float[] part = flatten(row);
            parts.add(part);
            n += part.length;
        }
        float[] all = new float[n];
        int at = 0;
        for (float[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    /** [[1, 2], [3]]: a JSON array of arrays of integers (all this program reads). */
    static List<long[]> parseIds(String json) {
        List<long[]> texts = new ArrayList<>();
        List<Long> current = null;
        StringBuilder number = new StringBuilder();
        int depth = 0;
        for (char c : json.toCharArray()) {
            if (Character.isDigit(c) || c == '-') { number.append(c); continue; }
            if (number.length() > 0) { current.add(Long.parseLong(number.toString())); number.setLength(0); }
            if (c == '[' && ++depth == 2) current = new ArrayList<>();
            else if (c == ']' && depth-- == 2) {
                long[] ids = new long[current.size()];
                for (int i = 0; i < ids.length; i++) ids[i] = current.get(i);
                texts.add(ids);
            }
        }
        return texts;
    }

    /** A JSON object written field by field. */
    static final class Json {
        private final StringBuilder sb = new StringBuilder("{");

        Json field(String key, String value) {
            return raw(key, value == null ? "null" : quote(value));
        }

        Json raw(String key, String json) {
            if (sb.length() > 1) sb.append(',');
            sb.append(quote(key)).append(':').append(json);
            return this;
        }

        static String strings(List<String> values) {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < values.size(); i++) b.append(i > 0 ? "," : "").append(quote(values.get(i)));
            return b.append(']').toString();
        }

        static String quote(String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                if (c == '"' || c == '\\') b.append('\\').append(c);
                else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                else b.append(c);
            }
            return b.append('"').toString();
        }

        @Override
        public String toString() {
            return sb + "}";
        }
    }

}
