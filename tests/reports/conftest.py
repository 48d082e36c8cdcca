"""Shared data for the report tests: a three-device sign-off run with one failing parity gate, one
device that went offline, and host quality for two INT8 models; and an eval command's report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.evaluation.evaluate import EvalReport
from harness.reports.writers import write_reports
from harness.signoff.results import DeviceRun, Gate, HostModel, ModelOnDevice, SignoffRun

BASE = "AVA-ONX-384-BASE-INT8"
FAST = "AVA-ONX-384-FAST-INT8"
SHA = {BASE: "3f6a1c0e" * 8, FAST: "9b27d4e1" * 8}
SIZE = {BASE: 22_972_370, FAST: 17_381_904}
FAILING_SERIAL = "192.168.1.20:5555"
EVIL = "<script>alert(1)</script>"


def _model_on_device(model_id: str, rng: np.random.Generator, *, p50: float, worst_cosine: float | None = None):
    cosines = (1.0 - np.abs(rng.normal(0.0, 4e-5, size=34))).clip(max=1.0)
    if worst_cosine is not None:
        cosines[7] = worst_cosine
    samples = list(np.round(rng.lognormal(np.log(p50), 0.08, size=40), 2))
    m = ModelOnDevice(
        model_id=model_id,
        variant="INT8",
        sha256=SHA[model_id],
        size_bytes=SIZE[model_id],
        pushed=True,
        parity={"min_cosine": float(cosines.min()), "mean_cosine": float(cosines.mean()), "max_abs_diff": 0.00071},
        end_to_end={"token_agreement": 1.0, "texts": 34, "min_cosine": float(cosines.min()), "mean_cosine": 0.99997},
        vs_fp32={
            "mean_cosine": 0.99213,
            "min_cosine": 0.97804,
            "p5_cosine": 0.98391,
            "top1": 0.875,
            "fp32_top1": 0.875,
            "top1_retention": 1.0,
        },
        latency_ms={
            "p50": float(np.percentile(samples, 50)),
            "p90": float(np.percentile(samples, 90)),
            "p99": float(np.percentile(samples, 99)),
            "n": 40,
            "load_ms": 412.0,
            "cold_ms": p50 * 3.1,
        },
        latency_samples_ms=[float(s) for s in samples],
        parity_cosines=[float(c) for c in cosines],
        peak_memory_kb=148_220,
        ort_version="1.19.2",
        execution_provider="CPUExecutionProvider",
        chapter_tests={"test1_dimension": True, "test2_normalized": True},
    )
    m.gates = [
        Gate("parity_min_cosine", m.parity["min_cosine"] >= 0.999, m.parity["min_cosine"], 0.999, "vs x86_64 host"),
        Gate("fp32_mean_cosine", True, 0.99213, 0.985, "what ran on the device vs host FP32"),
        Gate("e2e_token_agreement", True, 1.0, 1.0, ""),
        Gate("latency_p50_ms", m.latency_ms["p50"] <= 250.0, m.latency_ms["p50"], 250.0, "budget per text"),
    ]
    return m


def make_run() -> SignoffRun:
    rng = np.random.default_rng(28)
    hosts = [
        HostModel(
            model_id,
            "INT8",
            SHA[model_id],
            SIZE[model_id],
            90_868_376,
            quality={
                "sts_retention": retention,
                "mean_cosine": cosine,
                "retrieval": {"xquad_en": {"top1_retention": 0.982, "ndcg10_retention": 0.991}},
            },
            gates=[Gate("min_spearman_retention", True, retention, 0.99), Gate("min_mean_cosine", True, cosine, 0.985)],
            path=f"/srv/models/{model_id}.onnx",
        )
        for model_id, retention, cosine in ((BASE, 0.99612, 0.99231), (FAST, 0.99307, 0.98877))
    ]
    pixel = DeviceRun(
        serial="emulator-5554",
        server="127.0.0.1:5037",
        props={
            "ro.product.model": "Pixel 7",
            "ro.product.cpu.abi": "arm64-v8a",
            "ro.build.version.sdk": "34",
            "ro.build.version.release": "14",
        },
        health={"battery_level": 87, "thermal_status": "none", "free_storage_mb": 10_482},
        status="passed",
        stage="done",
        models=[_model_on_device(BASE, rng, p50=38.0), _model_on_device(FAST, rng, p50=21.0)],
        instrumentation={"status_counts": {"passed": 6, "failed": 0}},
        seconds=74.2,
    )
    galaxy = DeviceRun(
        serial=FAILING_SERIAL,
        server="127.0.0.1:5037",
        props={
            "ro.product.model": "SM-A525F",
            "ro.product.cpu.abi": "arm64-v8a",
            "ro.build.version.sdk": "33",
            "ro.build.version.release": "13",
        },
        health={"battery_level": 41, "thermal_status": "light"},
        status="failed",
        stage="done",
        models=[_model_on_device(BASE, rng, p50=71.0), _model_on_device(FAST, rng, p50=44.0, worst_cosine=0.99862)],
        seconds=121.9,
    )
    offline = DeviceRun(
        serial="emulator-5556",
        server="127.0.0.1:5037",
        props={"ro.product.model": "sdk_gphone64_x86_64", "ro.product.cpu.abi": "x86_64"},
        status="error",
        error="adb: device 'emulator-5556' went offline while pushing AVA-ONX-384-BASE-INT8.onnx",
        stage="push",
        seconds=3.4,
    )
    return SignoffRun(
        run_id="20250114-093012-7f3a",
        created_at="2025-01-14T09:30:12+00:00",
        harness_version="0.1.0",
        onnxruntime_version="1.19.2",
        texts=[f"text {i}" for i in range(34)],
        models=hosts,
        devices=[pixel, galaxy, offline],
        settings={"mode": "both", "parity": {"min_parity_cosine": 0.999}},
    )


def make_eval_report(model_id: str, sts: dict[str, float], **overrides: object) -> EvalReport:
    """What the eval command measured for one variant: cosine, STS-B, XQuAD retrieval, one gate."""
    fields: dict[str, object] = {
        "model_id": model_id,
        "baseline_id": "AVA-ONX-384-BASE",
        "variant": "INT8",
        "model_path": f"{model_id}.onnx",
        "model_sha256": SHA[BASE],
        "size_bytes": SIZE[BASE],
        "baseline_size_bytes": 90_868_376,
        "cosine_vs_baseline": {"mean": 0.992, "p5": 0.986, "min": 0.971},
        "sts": sts,
        "retrieval": {
            "xquad_en": {"top1": 0.81, "top1_retention": 0.982, "top5": 0.95, "ndcg10": 0.873, "queries": 1190}
        },
        "gates": [Gate("spearman_retention", True, 0.996, 0.99)],
    }
    return EvalReport(**{**fields, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def run() -> SignoffRun:
    return make_run()


@pytest.fixture
def written(run: SignoffRun, tmp_path: Path) -> dict[str, Path]:
    return write_reports(run, tmp_path / "reports" / run.run_id)
