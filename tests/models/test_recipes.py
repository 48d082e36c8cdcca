"""Recipes: validation, what each method writes (ops, attributes, opset), how close it stays to
FP32 on the tiny encoder, the record beside the file, and the store's tuned-file record."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from harness.errors import InputError
from harness.evaluation.metrics import cosine_rows
from harness.models.compatibility import model_needs
from harness.models.recipes import (
    DEFAULT_DYNAMIC,
    WEIGHT_ONLY_INT4,
    WEIGHT_ONLY_INT8,
    Calibration,
    Method,
    Recipe,
    apply_recipe,
    recipe_from_dict,
    required_ops,
)
from harness.models.store import write_tuned_record
from tests.models.test_sensitivity import BAD_NODE, tiny_spec, write_tiny_encoder

TEXTS = ["A man is playing a guitar.", "The cat sat on the mat.", "Stocks fell sharply on Monday morning."]


@pytest.fixture
def tiny_encoder(tmp_path):
    if not tiny_spec().tokenizer_path.is_file():
        pytest.skip("MiniLM tokenizer not built (make models)")
    return write_tiny_encoder(tmp_path / "tiny" / "tiny-test.onnx")


def run(path, texts=TEXTS) -> np.ndarray:
    from harness.evaluation.embed import Embedder

    return Embedder(tiny_spec(), path, batch_size=1).embed(texts).vectors


def ops(path) -> dict[str, dict]:
    return {o["op_type"]: o for o in required_ops(path)}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"method": "weight-only", "bits": 3}, "bits 3"),
        ({"bits": 4}, "bits 4"),  # dynamic is 8-bit only
        ({"method": "weight-only", "block_size": 48}, "power of two"),
        ({"method": "weight-only", "accuracy_level": 5}, "accuracy_level"),
        ({"method": "static"}, "calibration"),
        ({"calibration": "minmax"}, "calibration"),
        ({"embeddings": "int8"}, "weight-only"),
        ({"method": "weight-only", "int8_nodes": ("x",)}, "bits 4"),
        ({"method": "quantum"}, "method 'quantum'"),
        ({"method": "static", "calibration": "median"}, "calibration 'median'"),
    ],
)
def test_bad_recipes_are_one_line_naming_the_field(fields, message):
    with pytest.raises(InputError, match=message):
        Recipe("r", **fields)


def test_round_trip_and_key_ignores_the_name():
    recipe = replace(WEIGHT_ONLY_INT4, int8_nodes=("a", "b"), nodes_to_exclude=("c",))
    again = recipe_from_dict(json.loads(json.dumps(recipe.describe())))
    assert again == recipe and again.method is Method.WEIGHT_ONLY
    assert recipe.with_name("other").key() == recipe.key() != WEIGHT_ONLY_INT8.key()
    with pytest.raises(InputError, match="unknown field"):
        recipe_from_dict({**recipe.describe(), "colour": "red"})


def test_weight_only_int8_needs_matmulnbits_8bit_and_8bit_embeddings_and_stays_close(tiny_encoder, tmp_path):
    # The outlier MatMul breaks any 8-bit block that holds its huge row: kept in FP32 here.
    recipe = replace(WEIGHT_ONLY_INT8, nodes_to_exclude=(BAD_NODE,))
    record = apply_recipe(tiny_encoder, tmp_path / "w8.onnx", recipe, spec=tiny_spec())
    found = ops(tmp_path / "w8.onnx")
    assert found["MatMulNBits"]["domain"] == "com.microsoft"
    assert found["MatMulNBits"]["attributes"] == {"bits": 8, "block_size": 32, "accuracy_level": 4}
    assert found["GatherBlockQuantized"]["attributes"]["bits"] == 8
    needs = model_needs(tmp_path / "w8.onnx")
    assert needs.opsets.get("", needs.opsets.get("ai.onnx")) == 21  # converted before MatMulNBits (it declares 21)
    assert record["min_onnxruntime"] == needs.min_onnxruntime
    import onnx

    kinds = {n.name: n.op_type for n in onnx.load(str(tmp_path / "w8.onnx")).graph.node}
    assert "Gather" not in kinds.values()  # the word embedding became GatherBlockQuantized
    assert kinds[BAD_NODE] == "MatMul" and list(kinds.values()).count("MatMul") == 1
    assert record["required_ops"] == required_ops(tmp_path / "w8.onnx")
    assert record["recipe"]["name"] == WEIGHT_ONLY_INT8.name and record["onnxruntime_version"]
    assert record["size_bytes"] < 0.35 * tiny_encoder.stat().st_size
    assert cosine_rows(run(tmp_path / "w8.onnx"), run(tiny_encoder)).min() > 0.999


def test_int4_with_int8_nodes_mixes_bit_widths(tiny_encoder, tmp_path):
    mixed = replace(WEIGHT_ONLY_INT4, name="mixed", int8_nodes=(BAD_NODE,))
    apply_recipe(tiny_encoder, tmp_path / "w4.onnx", mixed, spec=tiny_spec())
    bits = sorted(o["attributes"]["bits"] for o in required_ops(tmp_path / "w4.onnx") if o["op_type"] == "MatMulNBits")
    assert bits == [4, 8]
    assert ops(tmp_path / "w4.onnx")["GatherBlockQuantized"]["attributes"]["bits"] == 4
    assert np.isfinite(run(tmp_path / "w4.onnx")).all()


def test_dynamic_keeps_excluded_nodes_in_fp32(tiny_encoder, tmp_path):
    recipe = replace(DEFAULT_DYNAMIC, nodes_to_exclude=(BAD_NODE,))
    apply_recipe(tiny_encoder, tmp_path / "d.onnx", recipe, spec=tiny_spec())
    import onnx

    nodes = {n.name: n.op_type for n in onnx.load(str(tmp_path / "d.onnx")).graph.node}
    assert nodes[BAD_NODE] == "MatMul"
    assert "MatMulInteger" in nodes.values()


@pytest.mark.parametrize("calibration", list(Calibration))
def test_static_qdq_records_its_calibration_set(tiny_encoder, tmp_path, calibration):
    recipe = Recipe("s", Method.STATIC, calibration=calibration, calibration_size=2, op_types=("MatMul",))
    record = apply_recipe(tiny_encoder, tmp_path / "s.onnx", recipe, spec=tiny_spec(), calibration_texts=TEXTS)
    assert record["calibration_texts"] == 2 and len(record["calibration_sha256"]) == 64
    assert {"QuantizeLinear", "DequantizeLinear"} <= set(ops(tmp_path / "s.onnx"))
    with pytest.raises(InputError, match="needs texts"):
        apply_recipe(tiny_encoder, tmp_path / "s2.onnx", recipe, spec=tiny_spec())


def test_quantized_or_weightless_inputs_are_refused(tiny_encoder, tmp_path):
    apply_recipe(tiny_encoder, tmp_path / "q.onnx", DEFAULT_DYNAMIC, spec=tiny_spec())
    with pytest.raises(InputError, match="quantized already"):
        apply_recipe(tmp_path / "q.onnx", tmp_path / "qq.onnx", WEIGHT_ONLY_INT8)
    plain = write_tiny_encoder(tmp_path / "plain.onnx", matmuls=False)
    with pytest.raises(InputError, match="no quantizable nodes"):
        apply_recipe(plain, tmp_path / "p.onnx", WEIGHT_ONLY_INT8)
    assert not (tmp_path / "p.onnx").exists()


def test_the_store_takes_a_tuned_record_only_for_its_bytes(tiny_encoder, tmp_path):
    from harness.models.store import tuned_record

    target = tmp_path / "TINY-TEST-INT8.onnx"
    made = apply_recipe(tiny_encoder, target, WEIGHT_ONLY_INT8, spec=tiny_spec())
    spec = replace(tiny_spec(), id="TINY-TEST-INT8", variant="INT8")
    write_tuned_record(spec, target, tiny_encoder, made, {"gate_profile": "mixed-index"})
    record = tuned_record(target)
    assert record is not None and record["preset"] == f"tuned:{WEIGHT_ONLY_INT8.name}"
    assert record["recipe"]["block_size"] == 32 and record["gate_profile"] == "mixed-index"
    assert any(o["op_type"] == "MatMulNBits" for o in record["required_ops"])
    target.write_bytes(target.read_bytes() + b"\0")
    assert tuned_record(target) is None


def test_the_store_serves_a_tuned_file_instead_of_quantizing_over_it(tiny_encoder, tmp_path, monkeypatch):
    """What deploy-test and eval call: ensure_model_file returns the tuned `<ID>-INT8.onnx` (its
    record matches the bytes and the original), names its recipe, and INT4 without one says how."""
    import harness.models.registry as registry_module
    import harness.models.store as store
    from harness.fileio import sha256_file, write_json_atomic
    from harness.models.registry import Registry

    base = replace(tiny_spec(), tokenizer=str(tiny_spec().tokenizer_path))  # absolute: the store moves
    monkeypatch.setattr(registry_module, "MODELS_DIR", tmp_path / "store")
    monkeypatch.setattr(store, "MODELS_DIR", tmp_path / "store")
    registry = Registry({base.id: base}, tmp_path / "registry.toml")
    base.original_path.parent.mkdir(parents=True)
    base.original_path.write_bytes(tiny_encoder.read_bytes())
    write_json_atomic(store.build_record_path(base), {"sha256": sha256_file(base.original_path)})
    int8 = registry.get(f"{base.id}-INT8")
    int8.quantized_path.parent.mkdir(parents=True)
    made = apply_recipe(base.original_path, int8.quantized_path, WEIGHT_ONLY_INT8, spec=base)
    write_tuned_record(int8, int8.quantized_path, base.original_path, made, {})
    before = sha256_file(int8.quantized_path)
    assert store.ensure_model_file(int8, registry, progress=lambda _m: None) == int8.quantized_path
    assert sha256_file(int8.quantized_path) == before  # served as it is, not quantized again
    assert store.model_preset(int8) == f"tuned:{WEIGHT_ONLY_INT8.name}"
    with pytest.raises(InputError, match=r"no INT4 file; run `ava-harness tune TINY-TEST --target int4`"):
        store.ensure_model_file(registry.get(f"{base.id}-INT4"), registry, progress=lambda _m: None)


def test_fp32_compute_nodes_get_accuracy_level_1_at_no_size_cost(tiny_encoder, tmp_path):
    plain = write_tiny_encoder(tmp_path / "plain.onnx", outlier=False)
    apply_recipe(plain, tmp_path / "a4.onnx", WEIGHT_ONLY_INT8, spec=tiny_spec())
    mixed = replace(WEIGHT_ONLY_INT8, name="f32c", fp32_compute_nodes=(BAD_NODE,))
    apply_recipe(plain, tmp_path / "a1.onnx", mixed, spec=tiny_spec())
    levels = sorted(
        o["attributes"]["accuracy_level"] for o in required_ops(tmp_path / "a1.onnx") if o["op_type"] == "MatMulNBits"
    )
    assert levels == [1, 4]
    assert abs((tmp_path / "a1.onnx").stat().st_size - (tmp_path / "a4.onnx").stat().st_size) < 1024
    assert mixed.key() != WEIGHT_ONLY_INT8.key()
    with pytest.raises(InputError, match="fp32_compute_nodes need method weight-only"):
        Recipe("d", fp32_compute_nodes=("x",))


def test_fine_nodes_get_finer_blocks_and_leave_older_keys_alone(tiny_encoder, tmp_path):
    plain = write_tiny_encoder(tmp_path / "plain.onnx", outlier=False)
    apply_recipe(plain, tmp_path / "b32.onnx", WEIGHT_ONLY_INT8, spec=tiny_spec())
    fine = replace(WEIGHT_ONLY_INT8, name="fb", fine_nodes=(BAD_NODE,))
    apply_recipe(plain, tmp_path / "fine.onnx", fine, spec=tiny_spec())
    blocks = sorted(
        o["attributes"]["block_size"] for o in required_ops(tmp_path / "fine.onnx") if o["op_type"] == "MatMulNBits"
    )
    assert blocks == [16, 32]
    # twice the scales on that node only: a little larger
    assert 0 < (tmp_path / "fine.onnx").stat().st_size - (tmp_path / "b32.onnx").stat().st_size < 64 * 1024
    assert fine.key() != WEIGHT_ONLY_INT8.key()
    # the key of a recipe without the later fields is what it was before they existed (caches hold)
    assert WEIGHT_ONLY_INT8.key() == "f217e1840338e3a3"
    with pytest.raises(InputError, match="fine_nodes need method weight-only"):
        Recipe("d", fine_nodes=("x",))
    with pytest.raises(InputError, match="fine_block_size 24"):
        replace(fine, fine_block_size=24)
