"""manifest.json: chapter 28A.7 ModelConfig per model, with devices."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import BASE, FAILING_SERIAL, SHA


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
