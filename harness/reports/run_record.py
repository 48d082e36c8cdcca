"""Reading a run's signoff.json and manifest.json back: `load_signoff(path)` and
`load_manifest(path)` return the current schema's shape (SCHEMA_VERSION) whatever version the file
was written with, or raise a one-line HarnessError naming the file and what is wrong.

Version 1 is the unversioned format (no `schema_version`): manifest.json had camelCase keys and
the eval command's manifest its own shape; signoff.json held a device's boolean check as the
strings 'true'/'false' and counts as floats. Version 2 is snake_case throughout, one manifest
shape for `eval --manifest` and `deploy-test`, counts as ints and booleans as booleans. A file
from a newer harness is refused, never guessed at: its fields may mean something else.

The checks here are the structural ones a reader relies on (an object, the version, the lists
and ids it walks); the full contract is schemas/*.schema.json, which the tests hold every report
to (jsonschema is a development dependency only)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

SCHEMA_VERSION = 2
# The oldest version a reader migrates; older than this has never existed.
OLDEST_VERSION = 1

# Version 1 manifest.json key -> version 2 key, per level of the document.
MANIFEST_TOP_RENAMES = {
    "runId": "run_id",
    "createdAt": "created_at",
    "harnessVersion": "harness_version",
    "onnxruntimeVersion": "onnxruntime_version",
    "exitCode": "exit_code",
}
MANIFEST_MODEL_RENAMES = {
    "sizeBytes": "size_bytes",
    "isQuantized": "is_quantized",
    "quantizationType": "quantization_type",
    "baselineQuality": "baseline_quality",
    "quantizedQuality": "quantized_quality",
    "quantizationPreset": "quantization_preset",
    "baselineSizeBytes": "baseline_size_bytes",
    "hostQuality": "host_quality",
    "hostGates": "host_gates",
    "hostGatesPassed": "host_gates_passed",
    "passedOnAllDevices": "passed_on_all_devices",
    "gatesPassed": "host_gates_passed",  # the v1 eval manifest's name for it
}
MANIFEST_MEASUREMENT_RENAMES = {
    "deviceModel": "device_model",
    "sha256Matches": "sha256_matches",
    "parityReference": "parity_reference",
    "endToEnd": "end_to_end",
    "vsFp32": "vs_fp32",
    "latencyMs": "latency_ms",
    "peakMemoryKb": "peak_memory_kb",
    "ortVersion": "ort_version",
    "executionProvider": "execution_provider",
    "failedGates": "failed_gates",
}
MANIFEST_DEVICE_RENAMES = {"ortVersions": "ort_versions"}
# The v1 eval manifest's `quality` block -> version 2 `host_quality` keys (the sign-off's names).
EVAL_QUALITY_RENAMES = {
    "stsSpearmanRetention": "sts_retention",
    "meanCosineVsFp32": "mean_cosine_vs_fp32",
    "minCosineVsFp32": "min_cosine_vs_fp32",
    "retrievalRetention": "retrieval_retention",
}
# Counts that version 1 wrote as floats (20.0): per-model dicts of a device and their count key.
V1_FLOAT_COUNTS = {"latency_ms": ("n",), "end_to_end": ("texts",)}


def load_signoff(path: Path | str) -> dict[str, Any]:
    """signoff.json (or a run directory holding one) in the current shape."""
    path = _file(path, "signoff.json")
    data = _read(path)
    version = _version(path, data)
    _expect(path, data, {"run_id": str, "devices": list, "models": list})
    if version == 1:
        data = _signoff_from_v1(data)
    for i, model in enumerate(data["models"]):
        if not isinstance(model, dict) or not isinstance(model.get("model_id"), str):
            raise HarnessError(f"{path}: models[{i}] has no string `model_id`")
    for i, device in enumerate(data["devices"]):
        if not isinstance(device, dict) or not isinstance(device.get("models", []), list):
            raise HarnessError(f"{path}: devices[{i}] is not a device record")
        for j, model in enumerate(device.get("models", [])):
            if not isinstance(model, dict) or not isinstance(model.get("model_id"), str):
                raise HarnessError(f"{path}: devices[{i}].models[{j}] has no string `model_id`")
    return data


def load_manifest(path: Path | str) -> dict[str, Any]:
    """manifest.json (or a run directory holding one) in the current shape."""
    path = _file(path, "manifest.json")
    data = _read(path)
    version = _version(path, data)
    if version == 1:
        data = _manifest_from_v1(data)
    _expect(path, data, {"models": list, "devices": list})
    for i, model in enumerate(data["models"]):
        if not isinstance(model, dict) or not isinstance(model.get("id"), str):
            raise HarnessError(f"{path}: models[{i}] has no string `id`")
    return data


def _file(path: Path | str, name: str) -> Path:
    path = Path(path)
    return path / name if path.is_dir() else path


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HarnessError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise HarnessError(f"{path}: unreadable ({type(err).__name__}: {err})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise HarnessError(f"{path}: not JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: not a report (the top level is a JSON {type(data).__name__}, not an object)")
    return data


def _version(path: Path, data: dict[str, Any]) -> int:
    version = data.get("schema_version", OLDEST_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < OLDEST_VERSION:
        raise HarnessError(f"{path}: schema_version {version!r} is not a version this harness knows")
    if version > SCHEMA_VERSION:
        raise HarnessError(
            f"{path}: schema_version {version} is newer than this harness reads "
            f"(versions {OLDEST_VERSION} to {SCHEMA_VERSION}); use a newer ava-harness"
        )
    return version


def _expect(path: Path, data: dict[str, Any], fields: dict[str, type]) -> None:
    for name, kind in fields.items():
        if not isinstance(data.get(name), kind):
            raise HarnessError(f"{path}: field `{name}` is missing or not a {kind.__name__}")


def _renamed(record: Any, renames: dict[str, str]) -> Any:
    if not isinstance(record, dict):
        return record
    return {renames.get(key, key): value for key, value in record.items()}


def _count(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _gate_from_v1(gate: Any) -> Any:
    """A v1 device check gate held its boolean as text: value 'true'/'false', threshold 'true'."""
    if isinstance(gate, dict) and gate.get("threshold") == "true" and gate.get("value") in ("true", "false"):
        return {**gate, "value": gate["value"] == "true", "threshold": True}
    return gate


def _model_counts_from_v1(model: Any) -> Any:
    if not isinstance(model, dict):
        return model
    model = dict(model)
    for block, keys in V1_FLOAT_COUNTS.items():
        if isinstance(model.get(block), dict):
            model[block] = {k: _count(v) if k in keys else v for k, v in model[block].items()}
    if isinstance(model.get("gates"), list):
        model["gates"] = [_gate_from_v1(g) for g in model["gates"]]
    return model


def _signoff_from_v1(data: dict[str, Any]) -> dict[str, Any]:
    data = {**data, "schema_version": SCHEMA_VERSION}
    # v1 did not record where the model file was.
    data["models"] = [{**m, "path": m.get("path", "")} if isinstance(m, dict) else m for m in data["models"]]
    devices = []
    for device in data["devices"]:
        if isinstance(device, dict) and isinstance(device.get("models"), list):
            device = {**device, "models": [_model_counts_from_v1(m) for m in device["models"]]}
        devices.append(device)
    data["devices"] = devices
    if isinstance(data.get("failed_gates"), list):
        data["failed_gates"] = [_gate_from_v1(g) for g in data["failed_gates"]]
    return data


def _manifest_from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had two manifests: deploy-test's (runId, devices, per-model hostQuality) and the
    eval command's (per-model `quality` and `gatesPassed`, no run). Both become the one shape."""
    top = _renamed(data, MANIFEST_TOP_RENAMES)
    source = "deploy-test" if "run_id" in top else "eval"
    models = []
    for raw in top.get("models") if isinstance(top.get("models"), list) else []:
        model = _renamed(raw, MANIFEST_MODEL_RENAMES)
        if isinstance(model, dict):
            if isinstance(model.get("quality"), dict) and "host_quality" not in model:
                model["host_quality"] = _renamed(model.pop("quality"), EVAL_QUALITY_RENAMES)
            measurements = model.get("devices") if isinstance(model.get("devices"), list) else []
            # v1 measurements did not name the device's ABI.
            model["devices"] = [
                {"abi": None, **_model_counts_from_v1(_renamed(m, MANIFEST_MEASUREMENT_RENAMES))}
                if isinstance(m, dict)
                else m
                for m in measurements
            ]
            model.setdefault("host_quality", {})
            model.setdefault("host_gates", [])
            model.setdefault("host_gates_passed", None)
            model.setdefault("passed_on_all_devices", None)
        models.append(model)
    devices = top.get("devices") if isinstance(top.get("devices"), list) else []
    passed = top.get("passed")
    if source == "eval" and passed is None:
        passed = bool(models) and all(isinstance(m, dict) and m.get("host_gates_passed") is True for m in models)
    return {
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "run_id": top.get("run_id"),
        "created_at": top.get("created_at", ""),
        "harness_version": top.get("harness_version", ""),
        "onnxruntime_version": top.get("onnxruntime_version", ""),
        "host": top.get("host") or {"python": "", "machine": ""},  # v1 sign-off manifests had none
        "passed": passed,
        "verdict": top.get("verdict", "passed" if passed else "failed"),
        "exit_code": top.get("exit_code", 0 if passed else 1),
        "headline": top.get("headline", ""),
        "summary": top.get("summary"),
        "models": models,
        "devices": [_renamed(d, MANIFEST_DEVICE_RENAMES) for d in devices],
    }
