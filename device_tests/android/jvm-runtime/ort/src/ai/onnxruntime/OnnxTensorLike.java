// ai.onnxruntime for the JVM (see device_tests/android/jvm-runtime/README.md).
package ai.onnxruntime;

import com.sun.jna.Pointer;

/** The tensors a session accepts as inputs: holds the native OrtValue* and its TensorInfo. */
public abstract class OnnxTensorLike implements OnnxValue {
    final Pointer handle;
    final TensorInfo info;

    OnnxTensorLike(Pointer handle, TensorInfo info) {
        this.handle = handle;
        this.info = info;
    }

    @Override
    public TensorInfo getInfo() {
        return info;
    }
}
