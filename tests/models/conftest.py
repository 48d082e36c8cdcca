"""A tiny FP32 ONNX model (an embedding Gather and a MatMul, 140 KB) for quantization tests that
are about files, not quality: it quantizes in well under a second."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_tiny_model(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    table = numpy_helper.from_array(rng.standard_normal((2100, 16)).astype(np.float32), "table")
    weight = numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "weight")
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["embedded"]),
            helper.make_node("MatMul", ["embedded", "weight"], ["sentence_embedding"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", "sequence", 8])],
        initializer=[table, weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    """tmp_path/input/tiny.onnx, alone in its folder."""
    return write_tiny_model(tmp_path / "input" / "tiny.onnx")
