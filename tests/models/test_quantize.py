"""Quantization on the real exported all-MiniLM-L6-v2 and the shipped paraphrase-MiniLM-L3-v2."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from harness.errors import InputError
from harness.models.quantize import PRESETS, quantize_file, resolve_preset
from harness.models.validate import weight_type_histogram
from tests.helpers import assert_user_error, run_cli

FEEDS = {
    "input_ids": np.array([[101, 7592, 2088, 102, 0]], dtype=np.int64),
    "attention_mask": np.array([[1, 1, 1, 1, 0]], dtype=np.int64),
}


def _run(path, inputs=("input_ids", "attention_mask", "token_type_ids")):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {**FEEDS, "token_type_ids": np.zeros((1, 5), dtype=np.int64)}
    return session, session.run(None, {name: feeds[name] for name in inputs})


def test_fp16_of_exported_minilm_loads_and_runs_regression(model_file, tmp_path):
    """The chapter's fp16 was 8-bit, and a naive float16 conversion of this export does not
    load (Cast typed float16 where float is expected). Ours loads, runs, and is float16."""
    out = tmp_path / "minilm-fp16.onnx"
    result = run_cli("quantize", str(model_file("AVA-ONX-384-BASE")), str(out), "--mode", "fp16")
    assert result.returncode == 0, result.stderr
    session, (vector,) = _run(out)
    assert vector.dtype == np.float32 and vector.shape == (1, 384)  # float32 graph I/O kept
    assert [i.type for i in session.get_inputs()] == ["tensor(int64)"] * 3
    weights = weight_type_histogram(onnx.load(str(out)))
    assert weights.get("FLOAT16", 0) > 20_000_000  # real 16-bit weights, not 8-bit
    assert "INT8" not in weights and "UINT8" not in weights
    _, (reference,) = _run(model_file("AVA-ONX-384-BASE"))
    cosine = float(vector[0] @ reference[0] / np.linalg.norm(vector[0]) / np.linalg.norm(reference[0]))
    assert cosine > 0.9999


def test_naive_fp16_conversion_is_what_fails(model_file, tmp_path):
    """Guards the regression test above: the failure it protects against is real."""
    from onnxconverter_common import float16

    naive = float16.convert_float_to_float16(onnx.load(str(model_file("AVA-ONX-384-BASE"))), keep_io_types=True)
    path = tmp_path / "naive.onnx"
    onnx.save(naive, str(path))
    with pytest.raises(Exception, match="float16"):
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_fp16_of_third_party_model_without_token_type_ids(model_file):
    path = model_file("AVA-ONX-384-FAST-FP16")
    session, outputs = _run(path, ("input_ids", "attention_mask"))
    assert [o.name for o in session.get_outputs()][3] == "461"
    assert outputs[3].dtype == np.float32 and outputs[3].shape == (1, 384)


def test_int8_default_is_per_channel_signed_and_a_quarter_of_the_size(model_file):
    fp32, int8 = model_file("AVA-ONX-384-BASE"), model_file("AVA-ONX-384-BASE-INT8")
    ratio = int8.stat().st_size / fp32.stat().st_size
    assert ratio <= 0.26, ratio
    model = onnx.load(str(int8))
    weights = weight_type_histogram(model)
    # 8-bit weights cover the MatMuls and the 11.7M-value word-embedding table (Gather)
    assert weights.get("INT8", 0) + weights.get("UINT8", 0) > 22_000_000
    assert weights.get("FLOAT", 0) < 100_000  # only biases and LayerNorm stay float32
    # per-channel: MatMul weight scales are vectors, not scalars
    scales = [i for i in model.graph.initializer if i.name.endswith("_scale") and "MatMul" in i.name]
    assert scales and all(len(i.dims) == 1 and i.dims[0] > 1 for i in scales)


def test_presets_are_plain_data_and_resolve_by_mode():
    assert resolve_preset("int8").name == "arm64"
    assert resolve_preset("INT8", "x86").reduce_range is True
    assert resolve_preset("int8", "chapter").per_channel is False
    assert resolve_preset("fp16").mode == "fp16"
    assert PRESETS["arm64"].describe()["per_channel"] is True
    with pytest.raises(InputError, match="fp16 preset, not int8"):
        resolve_preset("int8", "fp16")


def test_quantize_refuses_an_already_quantized_model(model_file, tmp_path):
    with pytest.raises(InputError, match="quantized already"):
        quantize_file(model_file("AVA-ONX-384-BASE-INT8"), tmp_path / "x.onnx", PRESETS["arm64"])
    assert not (tmp_path / "x.onnx").exists()


# --- bad input through the real CLI: one line, exit != 0, no traceback, no partial output ---


def _no_partial_files(directory):
    assert [p.name for p in directory.iterdir() if p.name.endswith(".partial") or p.name == "out.onnx"] == []


def test_missing_input_file(tmp_path):
    result = run_cli("quantize", str(tmp_path / "nope.onnx"), str(tmp_path / "out.onnx"))
    assert_user_error(result, "nope.onnx", "file not found")
    _no_partial_files(tmp_path)


def test_not_an_onnx_file(tmp_path):
    bogus = tmp_path / "notes.onnx"
    bogus.write_text("this is not a model\n" * 10)
    result = run_cli("quantize", str(bogus), str(tmp_path / "out.onnx"))
    assert_user_error(result, "notes.onnx", "not an ONNX model")
    _no_partial_files(tmp_path)


def test_truncated_onnx_file(model_file, tmp_path):
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(model_file("AVA-ONX-384-BASE").read_bytes()[:5_000_000])
    result = run_cli("quantize", str(truncated), str(tmp_path / "out.onnx"))
    assert_user_error(result, "truncated.onnx")
    _no_partial_files(tmp_path)


def test_onnx_without_expected_inputs(model_file, tmp_path):
    """The 2-input paraphrase model checked as AVA-ONX-384-BASE (which needs token_type_ids)."""
    result = run_cli(
        "quantize",
        str(model_file("AVA-ONX-384-FAST")),
        str(tmp_path / "out.onnx"),
        "--model-id",
        "AVA-ONX-384-BASE-INT8",
    )
    assert_user_error(result, "out.onnx", "token_type_ids")
    _no_partial_files(tmp_path)


def test_onnx_without_expected_output(registry, model_file, tmp_path):
    from harness.models.validate import check_onnx_model

    spec = registry.get("AVA-ONX-384-FAST")
    with pytest.raises(InputError, match="expects output 'sentence_embedding'"):
        check_onnx_model(
            model_file("AVA-ONX-384-FAST"),
            registry.get("AVA-ONX-384-BASE").__class__(**{**spec.__dict__, "output": "sentence_embedding"}),
        )


def test_unknown_mode(model_file, tmp_path):
    result = run_cli("quantize", str(model_file("AVA-ONX-384-BASE")), str(tmp_path / "out.onnx"), "--mode", "int4")
    assert_user_error(result, "int4", "int8 or fp16")
    _no_partial_files(tmp_path)


def test_unknown_preset(model_file, tmp_path):
    result = run_cli("quantize", str(model_file("AVA-ONX-384-BASE")), str(tmp_path / "out.onnx"), "--preset", "riscv")
    assert_user_error(result, "riscv")


def test_existing_output_survives_a_failed_quantization(tmp_path):
    out = tmp_path / "keep.onnx"
    out.write_bytes(b"previous good model")
    bogus = tmp_path / "bad.onnx"
    bogus.write_bytes(b"\x08\x01garbage")
    result = run_cli("quantize", str(bogus), str(out))
    assert result.returncode != 0
    assert out.read_bytes() == b"previous good model"  # nothing lost
    assert not list(tmp_path.glob("*.partial"))


def test_quantize_all_names_outputs_with_ava_ids(model_file, tmp_path):
    originals = tmp_path / "originals"
    originals.mkdir()
    (originals / "paraphrase-MiniLM-L3-v2.onnx").write_bytes(model_file("AVA-ONX-384-FAST").read_bytes())
    result = run_cli("quantize-all", str(originals), "--mode", "int8", "--output-dir", str(tmp_path / "q"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "q" / "AVA-ONX-384-FAST-INT8.onnx").is_file()
    assert "AVA-ONX-384-FAST-INT8.onnx" in result.stdout


def test_quantize_all_on_a_folder_without_models(tmp_path):
    assert_user_error(run_cli("quantize-all", str(tmp_path)), str(tmp_path), "no registered original")
