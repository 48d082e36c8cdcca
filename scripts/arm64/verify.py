"""Verify an arm64 runtime (called by setup.sh with the manifest it is about to install).

Builds two tiny ONNX models on the host (FP32: Gather -> MatMul -> Add -> Relu -> ReduceMean from
int64 ids, the shape of the real models' inputs; INT8: DynamicQuantizeLinear + MatMulInteger),
runs them through harness.reference.arm64 under emulated aarch64 ORT and compares with host ORT.
Usage: verify.py RUNTIME_JSON
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from harness.reference.arm64 import STATS, Arm64Runtime


def tiny_model(path: Path) -> None:
    rng = np.random.default_rng(0)
    table = numpy_helper.from_array(rng.standard_normal((32, 16)).astype(np.float32), "table")
    weight = numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "weight")
    bias = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "bias")
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["emb"]),
        helper.make_node("MatMul", ["emb", "weight"], ["mm"]),
        helper.make_node("Add", ["mm", "bias"], ["pre"]),
        helper.make_node("Relu", ["pre"], ["act"]),
        helper.make_node("ReduceMean", ["act"], ["pooled"], axes=[1], keepdims=0),
        helper.make_node("DynamicQuantizeLinear", ["emb"], ["q", "q_scale", "q_zero"]),
        helper.make_node(
            "Constant",
            [],
            ["w_q"],
            value=numpy_helper.from_array(
                np.clip(np.round(rng.standard_normal((16, 8)) * 40), -127, 127).astype(np.int8), "w_q_value"
            ),
        ),
        helper.make_node("MatMulInteger", ["q", "w_q", "q_zero"], ["int_acc"]),
        helper.make_node("Cast", ["int_acc"], ["int_acc_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["int_acc_f", "q_scale"], ["dequant"]),
        helper.make_node("ReduceMean", ["dequant"], ["int8_pooled"], axes=[1], keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "ava_arm64_verify",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [
            helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", 8]),
            helper.make_tensor_value_info("int8_pooled", TensorProto.FLOAT, ["batch", 8]),
        ],
        [table, weight, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main(argv: list[str]) -> int:
    runtime = Arm64Runtime.from_manifest(Path(argv[1]))
    print(f"  qemu: {runtime.qemu_version} (-cpu {runtime.cpu})")
    with tempfile.TemporaryDirectory(prefix="ava-arm64-verify-") as tmp:
        model = Path(tmp) / "tiny.onnx"
        tiny_model(model)
        ids = np.random.default_rng(1).integers(0, 32, size=(3, 5)).astype(np.int64)
        feeds = [{"input_ids": ids}, {"input_ids": ids[:1, :3]}]
        session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        failures = 0
        for output in ("pooled", "int8_pooled"):
            started = time.perf_counter()
            arm = runtime.run_embeddings(model, feeds, output)
            seconds = time.perf_counter() - started
            host = [session.run([output], f)[0] for f in feeds]
            diff = max(float(np.abs(a - h).max()) for a, h in zip(arm, host, strict=True))
            ok = all(a.shape == h.shape for a, h in zip(arm, host, strict=True)) and diff < 1e-4
            failures += not ok
            info = STATS.last_run
            print(
                f"  {output}: arm64 ORT {info.get('onnxruntime')} on {info.get('machine')}, "
                f"max |arm64 - x86| = {diff:.2e} ({seconds:.1f} s) {'ok' if ok else 'MISMATCH'}"
            )
        if STATS.last_run.get("onnxruntime") != runtime.onnxruntime_version:
            print(f"  expected onnxruntime {runtime.onnxruntime_version}, got {STATS.last_run.get('onnxruntime')}")
            failures += 1
        if STATS.last_run.get("machine") != "aarch64":
            print(f"  expected machine aarch64, got {STATS.last_run.get('machine')}")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
