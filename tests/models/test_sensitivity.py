"""Per-node sensitivity on a tiny embedding model (Gather -> MatMul -> MatMul -> mean): the
MatMul whose weight has outliers (per-channel INT8 steps too coarse for its other values) must
rank first; cached results are reused; a model with nothing to quantize is one clear error."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness.errors import InputError
from harness.evaluation.datasets import STSB_TEST, load_sts_csv
from harness.gates import GATE_PROFILES
from harness.models.recipes import DEFAULT_DYNAMIC
from harness.models.registry import ModelSpec
from harness.tuning.sensitivity import EvalSet, node_groups, profile_gates, sensitivity

VOCAB, WIDTH = 30522, 32  # the bundled MiniLM tokenizer's vocabulary: real texts tokenize into it
BAD_NODE = "layer.1/outlier/MatMul"


def tiny_spec() -> ModelSpec:
    return ModelSpec(
        id="TINY-TEST",
        base_id="TINY-TEST",
        original="tiny-test",
        dimension=WIDTH,
        tokenizer="all-MiniLM-L6-v2/tokenizer.json",
        inputs=("input_ids", "attention_mask"),
        output="sentence_embedding",
        max_length=64,
    )


def write_tiny_encoder(path: Path, *, matmuls: bool = True, outlier: bool = True) -> Path:
    """input_ids -> embedding Gather -> MatMul (well-behaved) -> Relu -> MatMul (outliers) ->
    mean over tokens -> sentence_embedding [batch, WIDTH]; `matmuls=False`: no weights at all;
    `outlier=False`: no outlier row (every 8-bit recipe keeps it close to FP32)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    good = (rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH)).astype(np.float32)
    bad = (rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH)).astype(np.float32)
    # One huge row in `bad`, fed by a unit `good` keeps near zero: FP32 barely sees it, but every
    # column's INT8 step becomes ~0.5 and the useful weights round to 0 or to a coarse step.
    if outlier:
        good[:, 0] *= 0.001
        bad[0, :] = 60.0
    inits = [numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")]
    if matmuls:
        table = rng.standard_normal((VOCAB, WIDTH)).astype(np.float32)
        inits += [
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(good, "good"),
            numpy_helper.from_array(bad, "bad"),
        ]
        nodes = [
            helper.make_node("Gather", ["table", "input_ids"], ["embedded"], name="embeddings/word_embeddings/Gather"),
            helper.make_node("MatMul", ["embedded", "good"], ["hidden"], name="layer.0/dense/MatMul"),
            helper.make_node("Relu", ["hidden"], ["act"], name="layer.0/Relu"),
            helper.make_node("MatMul", ["act", "bad"], ["tokens"], name=BAD_NODE),
        ]
    else:
        nodes = [
            helper.make_node("Cast", ["input_ids"], ["ids_f"], to=TensorProto.FLOAT, name="cast"),
            helper.make_node("Unsqueeze", ["ids_f", "axes_last"], ["col"], name="unsq"),
            helper.make_node("Tile", ["col", "reps"], ["tokens"], name="tile"),
        ]
        inits += [
            numpy_helper.from_array(np.array([-1], dtype=np.int64), "axes_last"),
            numpy_helper.from_array(np.array([1, 1, WIDTH], dtype=np.int64), "reps"),
        ]
    nodes.append(helper.make_node("ReduceMean", ["tokens", "axes"], ["sentence_embedding"], keepdims=0, name="pool"))
    graph = helper.make_graph(
        nodes,
        "tiny-encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", WIDTH])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def tiny_evalset(pairs: int = 30) -> EvalSet:
    return EvalSet(tuple(load_sts_csv(STSB_TEST)[:pairs]))


@pytest.fixture
def tiny_encoder(tmp_path: Path) -> Path:
    if not tiny_spec().tokenizer_path.is_file():
        pytest.skip("MiniLM tokenizer not built (make models)")
    return write_tiny_encoder(tmp_path / "tiny" / "tiny-test.onnx")


def test_the_node_with_outlier_weights_ranks_first_and_a_second_run_is_cached(tiny_encoder, tmp_path, monkeypatch):
    spec, evalset = tiny_spec(), tiny_evalset()
    rows = sensitivity(spec, tiny_encoder, DEFAULT_DYNAMIC, evalset, cache_dir=tmp_path / "cache")
    assert rows[0]["label"] == BAD_NODE
    assert {r["label"] for r in rows} == {BAD_NODE, "layer.0/dense/MatMul", "embeddings/word_embeddings/Gather"}
    worst, best = rows[0], rows[-1]
    assert worst["drop"] > 5 * max(best["drop"], 1e-6)  # the outlier MatMul stands out, not by noise
    assert worst["min_cosine"] < best["min_cosine"]

    import harness.tuning.sensitivity as module

    def refuse(*_args, **_kwargs):
        raise AssertionError("a cached sensitivity run quantized again")

    monkeypatch.setattr(module, "apply_recipe", refuse)
    again = sensitivity(spec, tiny_encoder, DEFAULT_DYNAMIC, evalset, cache_dir=tmp_path / "cache")
    assert [r["label"] for r in again] == [r["label"] for r in rows]


def test_layer_groups_put_a_layers_nodes_together(tiny_encoder):
    groups = {label: names for label, names, _ in node_groups(tiny_encoder, "layer")}
    assert groups["layer 1"] == [BAD_NODE]
    assert groups["layer 0"] == ["layer.0/dense/MatMul"]
    with pytest.raises(InputError, match="--group"):
        node_groups(tiny_encoder, "block")


def test_a_model_without_quantizable_nodes_is_one_clear_error(tmp_path):
    path = write_tiny_encoder(tmp_path / "plain.onnx", matmuls=False)
    with pytest.raises(InputError, match="no quantizable nodes"):
        sensitivity(tiny_spec(), path, DEFAULT_DYNAMIC, tiny_evalset(5), cache_dir=tmp_path / "cache")


def test_profile_gates_hold_the_right_figures():
    figures = {
        "mean_cosine": 0.9995,
        "p5_cosine": 0.9990,
        "min_cosine": 0.990,
        "spearman_retention": 1.0,
        "xquad_en_top1_retention": 1.0,
        "xquad_en_ndcg10_retention": 1.0,
        "chapter_tests_passed": True,
    }
    mixed = {g.name: g.passed for g in profile_gates(figures, GATE_PROFILES["mixed-index"])}
    assert mixed["min_cosine"] is False and mixed["mean_cosine"] is True  # the worst text gates here
    same = {g.name: g.passed for g in profile_gates(figures, GATE_PROFILES["same-index"])}
    assert "mean_cosine" not in same and "min_cosine" not in same and all(same.values())  # reported only
    low = profile_gates({**figures, "spearman_retention": 0.9}, replace(GATE_PROFILES["same-index"]))
    assert not next(g for g in low if g.name == "spearman_retention").passed
