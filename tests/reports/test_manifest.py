"""manifest.json: one builder and one shape (schema version 2, snake_case) for the sign-off
manifest and the eval command's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.models.registry import Registry
from harness.reports.manifest import build_manifest, build_signoff_manifest, model_config, write_manifest
from harness.signoff.results import SignoffRun
from tests.helpers import validate_report

from .conftest import BASE, FAILING_SERIAL, SHA, make_eval_report


def test_manifest_has_model_configs_and_devices(written: dict[str, Path]) -> None:
    manifest = json.loads(written["manifest"].read_text())
    assert manifest["schema_version"] == 2 and manifest["source"] == "deploy-test"
    assert manifest["run_id"] == "20250114-093012-7f3a" and manifest["passed"] is False
    assert manifest["harness_version"] == "0.1.0" and manifest["onnxruntime_version"] == "1.19.2"
    base = manifest["models"][0]
    assert {
        k: base[k]
        for k in ("id", "path", "sha256", "is_quantized", "quantization_type", "baseline_quality", "quantized_quality")
    } == {
        "id": BASE,
        "path": f"/srv/models/{BASE}.onnx",
        "sha256": SHA[BASE],
        "is_quantized": True,
        "quantization_type": "INT8",
        "baseline_quality": 1.0,
        "quantized_quality": 0.99612,
    }
    assert [d["serial"] for d in base["devices"]] == ["emulator-5554", FAILING_SERIAL]
    assert all(d["sha256_matches"] for d in base["devices"])
    assert base["devices"][0]["latency_ms"]["n"] == 40 and isinstance(base["devices"][0]["latency_ms"]["n"], int)
    assert manifest["models"][1]["devices"][1]["failed_gates"] == ["parity_min_cosine"]
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
        "ort_versions": ["1.19.2"],
    }
    assert manifest["devices"][2]["status"] == "error"
    validate_report(written["manifest"])


CORE_KEYS = [
    "id",
    "path",
    "sha256",
    "size_bytes",
    "is_quantized",
    "quantization_type",
    "baseline_quality",
    "quantized_quality",
    "variant",
    "quantization_preset",
    "baseline_size_bytes",
]


def _config(variant: str, retention: object) -> dict:
    return model_config(
        "M-" + variant, variant, "ab" * 32, 1_000, path="/m.onnx", baseline_size_bytes=4_000, sts_retention=retention
    )


def test_model_config_is_chapter_28a7_shape() -> None:
    config = _config("INT8", 0.99612345678)
    assert list(config)[: len(CORE_KEYS)] == CORE_KEYS
    assert config["path"] == "/m.onnx"
    assert (config["is_quantized"], config["quantization_type"]) == (True, "INT8")
    assert (config["baseline_quality"], config["quantized_quality"]) == (1.0, 0.996123)
    assert _config("FP16", 0.97)["quantization_type"] == "FP16"


def test_model_config_fp32_has_no_quantized_quality() -> None:
    config = _config("FP32", 0.99)
    assert (config["is_quantized"], config["quantization_type"], config["quantized_quality"]) == (False, None, None)


@pytest.mark.parametrize("retention", [None, float("nan"), float("inf"), "n/a"])
def test_model_config_unmeasured_quality_is_none_not_perfect(retention: object) -> None:
    # The eval command's manifest used to write 1.0 when STS-B was not run, and NaN when it failed.
    assert _config("INT8", retention)["quantized_quality"] is None


def test_model_config_accepts_numpy_retention() -> None:
    assert _config("INT8", np.float32(0.5))["quantized_quality"] == 0.5


def test_eval_and_signoff_manifests_have_one_shape(registry: Registry, run: SignoffRun) -> None:
    report = make_eval_report(BASE, {"spearman": 0.81, "retention": 0.99612})
    from_eval = build_manifest([(registry.get(BASE), report)])
    from_signoff = build_signoff_manifest(run)
    assert list(from_eval) == list(from_signoff)
    assert (from_eval["source"], from_eval["run_id"], from_eval["devices"]) == ("eval", None, [])
    (eval_model,) = from_eval["models"]
    signoff_model = from_signoff["models"][0]
    assert list(eval_model) == list(signoff_model)
    assert {k: eval_model[k] for k in CORE_KEYS if k != "path"} == {
        k: signoff_model[k] for k in CORE_KEYS if k != "path"
    }
    # The same figures under the sign-off's names; the eval's own gates named as the sign-off's.
    assert eval_model["host_quality"]["sts_retention"] == 0.99612
    assert eval_model["host_quality"]["xquad_top1_retention"] == 0.982
    assert eval_model["host_gates"][0]["name"] == "host_spearman_retention"
    assert eval_model["host_gates_passed"] is True and from_eval["passed"] is True
    assert (eval_model["devices"], eval_model["passed_on_all_devices"]) == ([], None)


def test_the_manifest_path_is_where_the_model_file_is(registry: Registry, tmp_path: Path) -> None:
    model_file = tmp_path / "models" / f"{BASE}.onnx"
    report = make_eval_report(BASE, {"retention": 0.99}, model_path=str(model_file))
    (entry,) = build_manifest([(registry.get(BASE), report)])["models"]
    assert entry["path"] == str(model_file.resolve())


def test_eval_manifest_without_sts_has_no_quantized_quality(registry: Registry, tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "manifest.json", [(registry.get(BASE), make_eval_report(BASE, {}))])
    manifest = json.loads(path.read_text())
    assert manifest["models"][0]["quantized_quality"] is None
    validate_report(path)


def test_eval_manifest_is_strict_json(registry: Registry, tmp_path: Path) -> None:
    report = make_eval_report(BASE, {"spearman": float("nan"), "retention": float("nan")})
    report.cosine_vs_baseline["min"] = float("-inf")
    path = write_manifest(tmp_path / "manifest.json", [(registry.get(BASE), report)])
    manifest = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    quality = manifest["models"][0]["host_quality"]
    assert (quality["sts_retention"], quality["min_cosine_vs_fp32"]) == (None, None)
    assert manifest["models"][0]["quantized_quality"] is None
    validate_report(path)


def test_the_model_config_names_the_preset_of_a_quantized_file_only() -> None:
    int8 = model_config("A-INT8", "INT8", "s", 1, path="", baseline_size_bytes=4, sts_retention=0.99, preset="chapter")
    fp32 = model_config("A", "FP32", "s", 4, path="", baseline_size_bytes=4, sts_retention=1.0, preset="chapter")
    assert int8["quantization_preset"] == "chapter" and fp32["quantization_preset"] is None
