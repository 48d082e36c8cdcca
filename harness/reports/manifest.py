"""Release manifest in the shape of chapter 28A.7's ModelConfig, with measured quality."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import __version__
from harness.evaluation.evaluate import EvalReport
from harness.fileio import write_json_atomic
from harness.models.registry import ModelSpec


def model_config(spec: ModelSpec, report: EvalReport) -> dict[str, Any]:
    """One ModelConfig: id, path, sha256, isQuantized, quantizationType, baselineQuality,
    quantizedQuality (= measured STS-B Spearman retention vs FP32), plus every measured figure."""
    retrieval = {name: {k: v for k, v in m.items() if k.endswith("_retention")} for name, m in report.retrieval.items()}
    return {
        "id": spec.id,
        "path": f"models/{spec.id}.onnx",
        "sha256": report.model_sha256,
        "sizeBytes": report.size_bytes,
        "isQuantized": spec.is_quantized,
        "quantizationType": spec.variant if spec.is_quantized else None,
        "baselineQuality": 1.0,
        "quantizedQuality": round(report.sts.get("retention", 1.0), 6) if spec.is_quantized else None,
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
        "models": [model_config(spec, report) for spec, report in entries],
        **(extra or {}),
    }


def write_manifest(
    path: Path, entries: Sequence[tuple[ModelSpec, EvalReport]], extra: dict[str, Any] | None = None
) -> Path:
    write_json_atomic(path, build_manifest(entries, extra))
    return path
