"""manifest.json: the one ModelConfig builder, the sign-off manifest and the eval command's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.models.registry import Registry
from harness.reports.manifest import build_manifest, build_signoff_manifest, model_config, write_manifest
from harness.signoff.results import SignoffRun

from .conftest import BASE, FAILING_SERIAL, SHA, make_eval_report


def test_manifest_has_model_configs_and_devices(written: dict[str, Path]) -> None:
    manifest = json.loads(written["manifest"].read_text())
    assert manifest["runId"] == "20250114-093012-7f3a" and manifest["passed"] is False
    assert manifest["harnessVersion"] == "0.1.0" and manifest["onnxruntimeVersion"] == "1.19.2"
    base = manifest["models"][0]
    assert {
        k: base[k]
        for k in ("id", "path", "sha256", "isQuantized", "quantizationType", "baselineQuality", "quantizedQuality")
    } == {
        "id": BASE,
        "path": f"models/{BASE}.onnx",
        "sha256": SHA[BASE],
        "isQuantized": True,
        "quantizationType": "INT8",
        "baselineQuality": 1.0,
        "quantizedQuality": 0.99612,
    }
    assert [d["serial"] for d in base["devices"]] == ["emulator-5554", FAILING_SERIAL]
    assert all(d["sha256Matches"] for d in base["devices"])
    assert manifest["models"][1]["devices"][1]["failedGates"] == ["parity_min_cosine"]
    assert manifest["devices"][0] == {
        "serial": "emulator-5554",
        "model": "Pixel 7",
        "abi": "arm64-v8a",
        "sdk": "34",
        "release": "14",
        "status": "passed",
        "passed": True,
        "error": None,
        "stage": "done",
        "ortVersions": ["1.19.2"],
    }
    assert manifest["devices"][2]["status"] == "error"


CORE_KEYS = [
    "id",
    "path",
    "sha256",
    "sizeBytes",
    "isQuantized",
    "quantizationType",
    "baselineQuality",
    "quantizedQuality",
    "variant",
    "quantizationPreset",
    "baselineSizeBytes",
]


def _config(variant: str, retention: object) -> dict:
    return model_config("M-" + variant, variant, "ab" * 32, 1_000, baseline_size_bytes=4_000, sts_retention=retention)


def test_model_config_is_chapter_28a7_shape() -> None:
    config = _config("INT8", 0.99612345678)
    assert list(config) == CORE_KEYS
    assert config["path"] == "models/M-INT8.onnx"
    assert (config["isQuantized"], config["quantizationType"]) == (True, "INT8")
    assert (config["baselineQuality"], config["quantizedQuality"]) == (1.0, 0.996123)
    assert _config("FP16", 0.97)["quantizationType"] == "FP16"


def test_model_config_fp32_has_no_quantized_quality() -> None:
    config = _config("FP32", 0.99)
    assert (config["isQuantized"], config["quantizationType"], config["quantizedQuality"]) == (False, None, None)


@pytest.mark.parametrize("retention", [None, float("nan"), float("inf"), "n/a"])
def test_model_config_unmeasured_quality_is_none_not_perfect(retention: object) -> None:
    # The eval command's manifest used to write 1.0 when STS-B was not run, and NaN when it failed.
    assert _config("INT8", retention)["quantizedQuality"] is None


def test_model_config_accepts_numpy_retention() -> None:
    assert _config("INT8", np.float32(0.5))["quantizedQuality"] == 0.5


def test_eval_and_signoff_manifests_share_one_model_config(registry: Registry, run: SignoffRun) -> None:
    report = make_eval_report(BASE, {"spearman": 0.81, "retention": 0.99612})
    (from_eval,) = build_manifest([(registry.get(BASE), report)])["models"]
    from_signoff = build_signoff_manifest(run)["models"][0]
    assert list(from_eval)[: len(CORE_KEYS)] == list(from_signoff)[: len(CORE_KEYS)] == CORE_KEYS
    assert {k: from_eval[k] for k in CORE_KEYS} == {k: from_signoff[k] for k in CORE_KEYS}
    assert from_eval["quality"]["retrievalRetention"] == {"xquad_en": {"top1_retention": 0.982}}
    assert from_eval["gatesPassed"] is True


def test_eval_manifest_without_sts_has_no_quantized_quality(registry: Registry, tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "manifest.json", [(registry.get(BASE), make_eval_report(BASE, {}))], {"note": "x"})
    manifest = json.loads(path.read_text())
    assert manifest["models"][0]["quantizedQuality"] is None
    assert manifest["note"] == "x"


def test_eval_manifest_is_strict_json(registry: Registry, tmp_path: Path) -> None:
    report = make_eval_report(BASE, {"spearman": float("nan"), "retention": float("nan")})
    report.cosine_vs_baseline["min"] = float("-inf")
    path = write_manifest(tmp_path / "manifest.json", [(registry.get(BASE), report)])
    manifest = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    quality = manifest["models"][0]["quality"]
    assert (quality["stsSpearmanRetention"], quality["minCosineVsFp32"]) == (None, None)
    assert manifest["models"][0]["quantizedQuality"] is None


def test_the_model_config_names_the_preset_of_a_quantized_file_only():
    from harness.reports.manifest import model_config

    int8 = model_config("A-INT8", "INT8", "s", 1, baseline_size_bytes=4, sts_retention=0.99, preset="chapter")
    fp32 = model_config("A", "FP32", "s", 4, baseline_size_bytes=4, sts_retention=1.0, preset="chapter")
    assert int8["quantizationPreset"] == "chapter" and fp32["quantizationPreset"] is None
