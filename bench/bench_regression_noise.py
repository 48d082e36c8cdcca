"""Run-to-run noise of each regression figure (harness.regression_gates), on the virtual device:
the same model signed off RUNS times, every run compared with every other exactly as
`deploy-test --baseline` compares them (harness.signoff.baseline.compare_runs), and, side by side
in the same session, the signal the gates must catch: the same model ID made by the chapter's
per-tensor recipe, compared with each default-recipe run.

Writes bench/results/regression_noise.json and prints, per figure: the noise (the worst value over
all pairs of same-model runs), the swapped recipe's value, and the default threshold."""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.android.adb import AdbServer
from harness.android.contract import RunSettings
from harness.android.virtual import ava_device_config
from harness.fileio import write_json_atomic
from harness.regression_gates import RegressionGates
from harness.settings import PROJECT_ROOT as ROOT
from harness.signoff.baseline import compare_runs, decode_embeddings, embeddings_file
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test
from harness.signoff.results import SignoffRun
from virtual_device.lifecycle import start_devices, stop_devices
from virtual_device.testing.pytest_plugin import start_private_server

MODEL = "AVA-ONX-384-FAST-INT8"
RUNS = int(os.environ.get("RUNS", "5"))
EVAL_LIMIT = 200  # STS-B pairs / XQuAD questions of the host evaluation (cached after the first run)
# What each gated row's `value` is, and which end of it is the bad one.
FIGURES = {
    "embedding_cosine_mean": ("device", "min"),
    "latency_p50_ms": ("device", "max"),
    "size_bytes": ("host", "max"),
    "sts_retention": ("host", "max"),
    "xquad_top1_retention": ("host", "max"),
}


def _vectors(run: SignoffRun):
    def get(index: int, model_id: str):
        data = run.devices[index].artifact_data.get(embeddings_file(model_id))
        return None if data is None else decode_embeddings(data, run.run_id)

    return get


def _values(here: SignoffRun, there: SignoffRun) -> dict[str, float]:
    """Each regression figure's gate value (a ratio, a drop, a cosine) for `here` against `there`.
    The embedding cosine is computed whether or not the gate would apply (same file: not gated)."""
    comparison = compare_runs(
        here.to_dict(),
        there.to_dict(),
        here_vectors=_vectors(here),
        there_vectors=_vectors(there),
        gates=RegressionGates(),
    )
    out = {}
    for row in comparison["rows"]:
        if row["figure"] in FIGURES:
            value = row["value"] if row["value"] is not None else row["this_run"]
            if value is not None:
                out[row["figure"]] = float(value)
    return out


def _run(serial: str, server: AdbServer, reports: Path, preset: str | None = None) -> SignoffRun:
    options = DeployOptions(
        model_ids=[MODEL],
        servers=[server],
        settings=RunSettings(),  # the default iterations: what a release run measures
        host_eval_limit=EVAL_LIMIT,
        preset=preset,
        reports_dir=reports,
    )
    run = deploy_test([serial], options)
    assert run.devices[0].status in ("passed", "failed"), run.devices[0].error
    return run


def main() -> None:
    server = start_private_server()
    os.environ["ANDROID_ADB_SERVER_PORT"] = str(server.port)
    os.environ["AVA_VIRTUAL_DEVICE_STATE"] = str(Path(tempfile.mkdtemp()) / "state.json")
    adb = AdbServer("127.0.0.1", server.port)
    reports = Path(tempfile.mkdtemp())
    try:
        (serial,) = start_devices(1, config=ava_device_config())
        same = []
        for n in range(RUNS):
            same.append(_run(serial, adb, reports))
            print(f"run {n + 1}/{RUNS}: p50 {same[-1].devices[0].models[0].latency_ms['p50']:.2f} ms", flush=True)
        swapped = _run(serial, adb, reports, preset="chapter")
    finally:
        stop_devices()
        server.stop()
    noise: dict[str, list[float]] = {figure: [] for figure in FIGURES}
    for a, b in itertools.permutations(same, 2):  # both directions: a ratio's noise is two-sided
        for figure, value in _values(a, b).items():
            noise[figure].append(value)
    signal: dict[str, list[float]] = {figure: [] for figure in FIGURES}
    for base in same:
        for figure, value in _values(swapped, base).items():
            signal[figure].append(value)
    thresholds = {
        "embedding_cosine_mean": RegressionGates().min_embedding_cosine,
        "latency_p50_ms": RegressionGates().max_latency_p50_ratio,
        "size_bytes": RegressionGates().max_size_ratio,
        "sts_retention": RegressionGates().max_sts_retention_drop,
        "xquad_top1_retention": RegressionGates().max_xquad_retention_drop,
    }
    results: dict[str, Any] = {"model": MODEL, "runs": RUNS, "eval_limit": EVAL_LIMIT, "cpus": os.cpu_count()}
    # Each run's p50 on its own: one run on a busy moment of the shared host shows as one outlier.
    results["p50_ms_per_run"] = [r.devices[0].models[0].latency_ms["p50"] for r in same]
    results["p50_ms_chapter"] = swapped.devices[0].models[0].latency_ms["p50"]
    print(f"\n{'figure':24} {'noise range (same model)':>28} {'chapter recipe':>22} {'threshold':>10}")
    for figure, (_, bad) in FIGURES.items():
        values, swap = noise[figure], signal[figure]
        worst = min(values) if bad == "min" else max(values)
        results[figure] = {
            "noise_min": min(values),
            "noise_max": max(values),
            "noise_worst": worst,
            "chapter_min": min(swap),
            "chapter_max": max(swap),
            "threshold": thresholds[figure],
        }
        print(
            f"{figure:24} {min(values):>13.6f} .. {max(values):<12.6f} {min(swap):>9.6f} .. {max(swap):<9.6f}"
            f" {thresholds[figure]:>10g}",
            flush=True,
        )
    write_json_atomic(ROOT / "bench" / "results" / "regression_noise.json", results)
    json.dump(results, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
