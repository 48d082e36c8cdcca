"""manifest.json: the release manifest, one chapter 28A.7 ModelConfig per model with its measured
quality. One builder, one shape (schema_version SCHEMA_VERSION, schemas/manifest.schema.json) for
the eval command's `--manifest` (source "eval": host figures and gates, no devices) and for a
sign-off run (source "deploy-test": the same plus each device's parity and latency)."""

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
from harness.models.compatibility import model_needs, recorded_recipe
from harness.models.registry import ModelSpec
from harness.reports.formatting import PROP_ABI, PROP_RELEASE, PROP_SDK, as_finite
from harness.reports.json_report import summarize
from harness.reports.run_record import SCHEMA_VERSION
from harness.reports.sanitize import sanitized
from harness.reports.verdict import verdict_of
from harness.signoff.plan import host_model
from harness.signoff.results import DeviceRun, ExitCode, HostModel, ModelOnDevice, SignoffRun

QUANTIZATION_TYPES = ("INT8", "FP16")


def model_config(
    model_id: str,
    variant: str,
    sha256: str,
    size_bytes: int,
    *,
    path: str,
    baseline_size_bytes: int | None,
    sts_retention: Any,
    preset: str | None = None,
    recipe: dict[str, Any] | None = None,
    min_onnxruntime: str | None = None,
) -> dict[str, Any]:
    """Chapter 28A.7's ModelConfig for one model file: id, path (where the file is on the host,
    "" when not known), sha256, is_quantized, quantization_type, baseline_quality (the FP32
    original = 1.0) and quantized_quality (the measured STS-B Spearman retention vs FP32, rounded
    to 6 places), plus variant and sizes. quantized_quality is None for an FP32 model and when the
    retention was not measured or is not a finite number: an unmeasured model must not read as a
    perfect one. Callers add their measurements after these keys."""
    quantized = variant.upper() != "FP32"
    retention = as_finite(sts_retention)
    return {
        "id": model_id,
        "path": path,
        "sha256": sha256,
        "size_bytes": size_bytes,
        "is_quantized": quantized,
        "quantization_type": variant.upper() if variant.upper() in QUANTIZATION_TYPES else None,
        "baseline_quality": 1.0,
        "quantized_quality": round(retention, 6) if quantized and retention is not None else None,
        "variant": variant,
        "quantization_preset": preset if quantized else None,
        "baseline_size_bytes": baseline_size_bytes,
        # The recipe the file's .quant.json records (preset settings, or tune's full recipe and the
        # ops it needs), as recorded: None when there is none.
        "quantization_recipe": recipe or None,
        # The oldest ONNX Runtime (onnxruntime-android) that runs the file's ops, opset and IR version.
        "min_onnxruntime": min_onnxruntime or None,
    }


def _document(
    source: str, run_id: str | None, created_at: str, harness_version: str, onnxruntime_version: str
) -> dict[str, Any]:
    """The keys every manifest starts with, in this order."""
    return {
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "run_id": run_id,
        "created_at": created_at,
        "harness_version": harness_version,
        "onnxruntime_version": onnxruntime_version,
        "host": {"python": platform.python_version(), "machine": platform.machine()},
    }


def _eval_host_model(spec: ModelSpec, report: EvalReport) -> HostModel:
    """The eval command's report as the sign-off's HostModel, so both manifests hold the same
    figures under the same names; retrieval sets beyond XQuAD (BEIR) are added by name."""
    data = report.to_dict()
    model = host_model(spec, report.model_sha256, report.size_bytes, data, report.preset, report.model_path)
    model.recipe = recorded_recipe(report.model_path) or {} if report.model_path else {}
    model.min_onnxruntime = _min_onnxruntime(report.model_path)
    model.quality["min_cosine_vs_fp32"] = report.cosine_vs_baseline.get("min")
    for name, metrics in report.retrieval.items():
        if name != "xquad_en":
            model.quality.update({f"{name}_{k}": v for k, v in metrics.items() if k.endswith("_retention")})
    return model


def _min_onnxruntime(path: str) -> str:
    """The oldest ONNX Runtime that runs the file, "" when there is no readable file to ask."""
    from harness.errors import InputError

    if not path or not Path(path).is_file():
        return ""
    try:
        return model_needs(path).min_onnxruntime
    except InputError:
        return ""


def build_manifest(entries: Sequence[tuple[ModelSpec, EvalReport]]) -> dict[str, Any]:
    """The eval command's manifest: each evaluated model's ModelConfig, host figures and gates."""
    import onnxruntime

    models = [_model_entry(None, _eval_host_model(spec, report)) for spec, report in entries]
    passed = bool(entries) and all(report.passed for _, report in entries)
    count = sum(report.passed for _, report in entries)
    return {
        **_document(
            "eval", None, datetime.now(UTC).isoformat(timespec="seconds"), __version__, onnxruntime.__version__
        ),
        "passed": passed,
        "verdict": "passed" if passed else "failed",
        "exit_code": int(ExitCode.PASSED if passed else ExitCode.GATE_FAILED),
        "headline": f"{count} of {len(entries)} models passed the host gates",
        "summary": None,
        "models": models,
        "devices": [],
    }


def write_manifest(path: Path, entries: Sequence[tuple[ModelSpec, EvalReport]]) -> Path:
    write_json_atomic(path, build_manifest(entries))
    return path


def build_signoff_manifest(run: SignoffRun) -> dict[str, Any]:
    """The release manifest of a sign-off: the ModelConfig per model, with the host quality and
    each device's measured parity and latency, plus the devices and versions it was signed off
    on. `passed` is true only for a passing verdict; `verdict` and `exit_code` say which other."""
    run = sanitized(run)
    verdict = verdict_of(run)
    host_ids = [m.model_id for m in run.models]
    device_only: dict[str, ModelOnDevice] = {}
    for device in run.devices:
        for model in device.models:
            if model.model_id not in host_ids:
                device_only.setdefault(model.model_id, model)
    models = [_model_entry(run, m) for m in run.models]
    models += [
        _model_entry(run, HostModel(m.model_id, m.variant, m.sha256, m.size_bytes, 0), host=False)
        for m in device_only.values()
    ]
    return {
        **_document("deploy-test", run.run_id, run.created_at, run.harness_version, run.onnxruntime_version),
        "passed": verdict.passed,
        "verdict": verdict.status,
        "exit_code": int(verdict.exit_code),
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
                "ort_versions": sorted({m.ort_version for m in d.models if m.ort_version}),
            }
            for d in run.devices
        ],
    }


def _model_entry(run: SignoffRun | None, model: HostModel, *, host: bool = True) -> dict[str, Any]:
    """A manifest entry: the ModelConfig plus host quality and gates and each device's
    measurements of this model. `host` False: a model the devices ran that the host did not
    evaluate (no host figures: None, not an empty pass)."""
    on_devices = [(d, m) for d in run.devices for m in d.models if m.model_id == model.model_id] if run else []
    config = model_config(
        model.model_id,
        model.variant,
        model.sha256,
        model.size_bytes,
        path=model.path,
        baseline_size_bytes=model.baseline_size_bytes if host else None,
        sts_retention=model.quality.get("sts_retention"),
        preset=model.preset,
        recipe=model.recipe,
        min_onnxruntime=model.min_onnxruntime,
    )
    return {
        **config,
        "host_quality": model.quality,
        "host_gates": [_gate_dict(g) for g in model.gates],
        "host_gates_passed": bool(model.gates) and all(g.passed for g in model.gates) if host else None,
        "devices": [_device_measurement(d, m, model.sha256) for d, m in on_devices],
        "passed_on_all_devices": bool(on_devices) and all(m.passed for _, m in on_devices) if run else None,
    }


def _device_measurement(device: DeviceRun, model: ModelOnDevice, host_sha256: str) -> dict[str, Any]:
    return {
        "serial": device.serial,
        "device_model": device.model_name,
        "abi": device.props.get(PROP_ABI),
        "passed": model.passed,
        "judged": model.judged,
        "error": model.error,
        "sha256_matches": model.sha256 == host_sha256,
        "pushed": model.pushed,
        "parity_reference": model.reference,
        "parity": model.parity,
        "end_to_end": model.end_to_end,
        "vs_fp32": model.vs_fp32,
        "latency_ms": model.latency_ms,
        "peak_memory_kb": model.peak_memory_kb,
        "ort_version": model.ort_version,
        "execution_provider": model.execution_provider,
        "failed_gates": [g.name for g in model.gates if not g.passed],
    }


def _gate_dict(gate: Gate) -> dict[str, Any]:
    return {"name": gate.name, "passed": gate.passed, "value": gate.value, "threshold": gate.threshold}
