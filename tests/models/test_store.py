"""The model store: a file per preset, the preset on record, stale temporary files swept."""

from __future__ import annotations

import json
import os

import pytest

from harness.errors import InputError
from harness.fileio import sha256_file
from harness.models.store import (
    model_preset,
    quant_record_path,
    quantized_file,
    recorded_preset,
    store_dirs,
    sweep_store,
)
from harness.settings import CACHE_DIR, MODELS_DIR


def test_a_non_default_preset_has_its_own_file_and_record(registry):
    int8, fp16 = registry.get("AVA-ONX-384-BASE-INT8"), registry.get("AVA-ONX-384-BASE-FP16")
    quantized = MODELS_DIR / "quantized"
    assert quantized_file(int8) == quantized_file(int8, "arm64") == int8.quantized_path
    assert int8.quantized_path == quantized / "AVA-ONX-384-BASE-INT8.onnx"  # what the app loads
    assert quantized_file(int8, "chapter") == quantized / "AVA-ONX-384-BASE-INT8@chapter.onnx"
    assert quant_record_path(int8, "chapter") == quantized / "AVA-ONX-384-BASE-INT8@chapter.quant.json"
    assert quant_record_path(int8) == quantized / "AVA-ONX-384-BASE-INT8.quant.json"
    assert quantized_file(fp16, "fp16-occ") == quantized / "AVA-ONX-384-BASE-FP16@fp16-occ.onnx"
    with pytest.raises(InputError, match="int8 preset, not fp16"):
        quantized_file(fp16, "chapter")


def test_model_preset_names_what_ensure_model_file_uses(registry):
    assert model_preset(registry.get("AVA-ONX-384-BASE-INT8")) == "arm64"
    assert model_preset(registry.get("AVA-ONX-384-BASE-INT8"), "chapter") == "chapter"
    assert model_preset(registry.get("AVA-ONX-384-BASE-FP16")) == "fp16"
    assert model_preset(registry.get("AVA-ONX-384-BASE"), "chapter") is None  # FP32: not quantized


def test_recorded_preset_reads_the_record_only_for_the_same_bytes(tmp_path):
    model = tmp_path / "X-INT8@chapter.onnx"
    model.write_bytes(b"model bytes")
    record = tmp_path / "X-INT8@chapter.quant.json"
    assert recorded_preset(model) is None  # no record
    record.write_text(json.dumps({"preset": "chapter", "sha256": sha256_file(model)}))
    assert recorded_preset(model) == "chapter"
    record.write_text(json.dumps({"preset": "chapter", "sha256": "0" * 64}))
    assert recorded_preset(model) is None  # the record is for other bytes
    record.write_text("{not json")
    assert recorded_preset(model) is None


def test_ensure_model_file_sweeps_stale_temporary_files_from_the_store(registry, model_file):
    model_file("AVA-ONX-384-FAST-INT8")  # built and cached: the call below does no quantizing
    assert MODELS_DIR / "quantized" in store_dirs() and CACHE_DIR in store_dirs()
    stale = [
        MODELS_DIR / "quantized" / ".test-sweep.onnx.abcdefgh.partial",
        CACHE_DIR / "embeddings" / ".test-sweep.npy.abcdefgh.partial",
    ]
    live = MODELS_DIR / "quantized" / ".test-sweep.onnx.hgfedcba.partial"
    try:
        for path in [*stale, live]:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"half")
        for path in stale:
            then = path.stat().st_mtime - 2 * 86_400
            os.utime(path, (then, then))
        messages: list[str] = []
        from harness.models.store import ensure_model_file

        ensure_model_file(registry.get("AVA-ONX-384-FAST-INT8"), registry, progress=messages.append)
        assert not any(path.exists() for path in stale)
        assert live.exists()  # too young: a concurrent run's
        assert any("temporary file(s) an interrupted run left" in m and ".test-sweep.onnx" in m for m in messages)
        assert sweep_store(messages.append) == []
    finally:
        for path in [*stale, live]:
            path.unlink(missing_ok=True)
