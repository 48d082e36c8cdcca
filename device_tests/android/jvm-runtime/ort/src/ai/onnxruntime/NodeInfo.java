// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md).
package ai.onnxruntime;

/** A model input or output: its name and what it holds (OrtSession.getInputInfo/getOutputInfo). */
public class NodeInfo {
    private final String name;
    private final ValueInfo info;

    NodeInfo(String name, ValueInfo info) {
        this.name = name;
        this.info = info;
    }

    public String getName() {
        return name;
    }

    public ValueInfo getInfo() {
        return info;
    }

    @Override
    public String toString() {
        return "NodeInfo(name=" + name + ",info=" + info + ")";
    }
}
