"""manifest.json: the release manifest, one chapter 28A.7 ModelConfig per model with its measured
quality; for the `manifest` option of the eval command and for a sign-off run (host quality plus
each device's parity and latency)."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import __version__
from harness.evaluation.evaluate import EvalReport
from harness.fileio import write_json_atomic
from harness.gates import Gate
from harness.models.registry import ModelSpec
from harness.reports.formatting import PROP_ABI, PROP_RELEASE, PROP_SDK, as_finite
from harness.reports.json_report import summarize
from harness.reports.sanitize import sanitized
from harness.reports.verdict import verdict_of
from harness.signoff.results import DeviceRun, HostModel, ModelOnDevice, SignoffRun

QUANTIZATION_TYPES = ("INT8", "FP16")


def model_config(
    model_id: str,
    variant: str,
    sha256: str,
    size_bytes: int,
    *,
    baseline_size_bytes: int | None,
    sts_retention: Any,
    preset: str | None = None,
) -> dict[str, Any]:
    """Chapter 28A.7's ModelConfig for one model file: id, path, sha256, isQuantized,
    quantizationType, baselineQuality (the FP32 original = 1.0) and quantizedQuality (the measured
    STS-B Spearman retention vs FP32, rounded to 6 places), plus variant and sizes. quantizedQuality
    is None for an FP32 model and when the retention was not measured or is not a finite number:
    an unmeasured model must not read as a perfect one. Callers add their measurements after these
    keys."""
    quantized = variant.upper() != "FP32"
    retention = as_finite(sts_retention)
    return {
        "id": model_id,
        "path": f"models/{model_id}.onnx",
        "sha256": sha256,
        "sizeBytes": size_bytes,
        "isQuantized": quantized,
        "quantizationType": variant.upper() if variant.upper() in QUANTIZATION_TYPES else None,
        "baselineQuality": 1.0,
        "quantizedQuality": round(retention, 6) if quantized and retention is not None else None,
        "variant": variant,
        "quantizationPreset": preset if quantized else None,
        "baselineSizeBytes": baseline_size_bytes,
    }


def _eval_entry(spec: ModelSpec, report: EvalReport) -> dict[str, Any]:
    """The eval command's manifest entry: the ModelConfig plus every measured figure."""
    retrieval = {name: {k: v for k, v in m.items() if k.endswith("_retention")} for name, m in report.retrieval.items()}
    config = model_config(
        spec.id,
        spec.variant,
        report.model_sha256,
        report.size_bytes,
        baseline_size_bytes=report.baseline_size_bytes,
        sts_retention=report.sts.get("retention"),
        preset=report.preset,
    )
    return {
        **config,
        "quality": {
            "stsSpearmanRetention": report.sts.get("retention"),
            "meanCosineVsFp32": report.cosine_vs_baseline.get("mean"),
            "minCosineVsFp32": report.cosine_vs_baseline.get("min"),
            "retrievalRetention": retrieval,
        },
        "gatesPassed": report.passed,
    }


def build_manifest(
    entries: Sequence[tuple[ModelSpec, EvalReport]], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    import onnxruntime

    return {
        "createdAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "harnessVersion": __version__,
        "onnxruntimeVersion": onnxruntime.__version__,
        "host": {"python": platform.python_version(), "machine": platform.machine()},
        "models": [_eval_entry(spec, report) for spec, report in entries],
        **(extra or {}),
    }


def write_manifest(
    path: Path, entries: Sequence[tuple[ModelSpec, EvalReport]], extra: dict[str, Any] | None = None
) -> Path:
    write_json_atomic(path, build_manifest(entries, extra))
    return path


def build_signoff_manifest(run: SignoffRun) -> dict[str, Any]:
    """The release manifest: chapter 28A.7 ModelConfig per model, with the host quality and each
    device's measured parity and latency, plus the devices and versions it was signed off on.
    `passed` is true only for a passing verdict; `verdict` and `exitCode` say which other one."""
    run = sanitized(run)
    verdict = verdict_of(run)
    host_ids = [m.model_id for m in run.models]
    device_only: dict[str, ModelOnDevice] = {}
    for device in run.devices:
        for model in device.models:
            if model.model_id not in host_ids:
                device_only.setdefault(model.model_id, model)
    models = [_signoff_entry(run, m.model_id, m.variant, m.sha256, m.size_bytes, m) for m in run.models]
    models += [_signoff_entry(run, m.model_id, m.variant, m.sha256, m.size_bytes, None) for m in device_only.values()]
    return {
        "runId": run.run_id,
        "createdAt": run.created_at,
        "harnessVersion": run.harness_version,
        "onnxruntimeVersion": run.onnxruntime_version,
        "passed": verdict.passed,
        "verdict": verdict.status,
        "exitCode": int(verdict.exit_code),
        "headline": verdict.headline,
        "summary": summarize(run),
        "models": models,
        "devices": [
            {
                "serial": d.serial,
                "model": d.model_name,
                "abi": d.props.get(PROP_ABI),
                "sdk": d.props.get(PROP_SDK),
                "release": d.props.get(PROP_RELEASE),
                "status": d.status,
                "passed": d.passed and all(m.passed for m in d.models),
                "error": d.error,
                "stage": d.stage,
                "ortVersions": sorted({m.ort_version for m in d.models if m.ort_version}),
            }
            for d in run.devices
        ],
    }


def _signoff_entry(
    run: SignoffRun, model_id: str, variant: str, sha256: str, size_bytes: int, host: HostModel | None
) -> dict[str, Any]:
    """A sign-off manifest entry: the ModelConfig plus host quality and gates and each device's
    measurements of this model."""
    quality = host.quality if host else {}
    on_devices = [(d, m) for d in run.devices for m in d.models if m.model_id == model_id]
    config = model_config(
        model_id,
        variant,
        sha256,
        size_bytes,
        baseline_size_bytes=host.baseline_size_bytes if host else None,
        sts_retention=quality.get("sts_retention"),
        preset=host.preset if host else None,
    )
    return {
        **config,
        "hostQuality": quality,
        "hostGates": [_gate_dict(g) for g in host.gates] if host else [],
        "hostGatesPassed": bool(host.gates) and all(g.passed for g in host.gates) if host else None,
        "devices": [_device_measurement(d, m, sha256) for d, m in on_devices],
        "passedOnAllDevices": bool(on_devices) and all(m.passed for _, m in on_devices),
    }


def _device_measurement(device: DeviceRun, model: ModelOnDevice, host_sha256: str) -> dict[str, Any]:
    return {
        "serial": device.serial,
        "deviceModel": device.model_name,
        "passed": model.passed,
        "judged": model.judged,
        "error": model.error,
        "sha256Matches": model.sha256 == host_sha256,
        "pushed": model.pushed,
        "parityReference": model.reference,
        "parity": model.parity,
        "endToEnd": model.end_to_end,
        "vsFp32": model.vs_fp32,
        "latencyMs": model.latency_ms,
        "peakMemoryKb": model.peak_memory_kb,
        "ortVersion": model.ort_version,
        "executionProvider": model.execution_provider,
        "failedGates": [g.name for g in model.gates if not g.passed],
    }


def _gate_dict(gate: Gate) -> dict[str, Any]:
    return {"name": gate.name, "passed": gate.passed, "value": gate.value, "threshold": gate.threshold}
