"""The on-device profiled pass (contract v3) on a virtual device, side by side in one run:

1. cost: one profiled run (ONNX Runtime's profiler on, a separate session) vs one timed run of the
   same text without it, in the same instrumentation: ratio = (profileMs / profiled runs) /
   mean(latencyMs);
2. no interference: the timed iterations of runs that ask for a later profiled pass vs runs that
   do not, interleaved on the same device: ratio = median p50 with / median p50 without (1.0: the
   later pass changes nothing in what was timed).

Both through a private adb server to a virtual device started with virtual_device.lifecycle (its
own state file, so nothing else's devices are touched). Writes bench/results/profile.json."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from harness.android.adb import AdbServer
from harness.android.contract import RunSettings
from harness.android.virtual import ava_device_config
from harness.fileio import write_json_atomic
from harness.settings import PROJECT_ROOT as ROOT
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test
from virtual_device.lifecycle import start_devices, stop_devices
from virtual_device.testing.pytest_plugin import start_private_server

MODELS = ["AVA-ONX-384-FAST-INT8", "AVA-ONX-384-BASE-INT8"]


def one_run(serial: str, server_port: int, profile: bool, iterations: int) -> dict[str, dict[str, float]]:
    options = DeployOptions(
        model_ids=MODELS,
        servers=[AdbServer("127.0.0.1", server_port)],
        reports_dir=Path(tempfile.mkdtemp()),
        settings=RunSettings(mode="model_parity", iterations=iterations, profile=profile),
        host_eval_limit=40,  # the tests' limit: the host evaluation is cached already
    )
    run = deploy_test([serial], options)
    (device,) = run.devices
    if device.status != "passed":
        raise SystemExit(f"the run did not pass: {device.error}")
    out = {}
    for model in device.models:
        samples = model.latency_samples_ms
        entry = {"p50_ms": statistics.median(samples), "mean_ms": statistics.fmean(samples)}
        if profile:
            if model.profile_error or "pass_ms" not in model.profile:
                raise SystemExit(f"{model.model_id}: no profile ({model.profile_error})")
            entry["profiled_run_ms"] = model.profile["pass_ms"] / model.profile["runs"]
            entry["profiled_runs"] = model.profile["runs"]
            entry["top_op"] = model.profile["top_ops"][0]["op_type"]
        out[model.model_id] = entry
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved pairs (with, without)")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "profile.json")
    args = parser.parse_args()
    server = start_private_server()
    os.environ["ANDROID_ADB_SERVER_PORT"] = str(server.port)  # start_devices connects them to it
    os.environ["AVA_VIRTUAL_DEVICE_STATE"] = str(Path(tempfile.mkdtemp()) / "state.json")
    serials: list[str] = []
    rounds: list[dict[str, object]] = []
    try:
        serials = start_devices(1, config=ava_device_config())
        (serial,) = serials
        one_run(serial, server.port, False, 3)  # warm-up: models pushed, host caches filled
        for index in range(args.rounds):
            order = (True, False) if index % 2 == 0 else (False, True)  # alternate which goes first
            pair = {("with" if p else "without"): one_run(serial, server.port, p, args.iterations) for p in order}
            rounds.append(pair)
            print(f"round {index + 1}/{args.rounds}: {json.dumps(pair)}", flush=True)
    finally:
        if serials:
            stop_devices(serials=serials, missing_ok=True)
        server.stop()

    results: dict[str, object] = {
        "cpus": os.cpu_count(),
        "iterations": args.iterations,
        "rounds": rounds,
        "models": {},
    }
    for model_id in MODELS:
        with_p50 = [r["with"][model_id]["p50_ms"] for r in rounds]
        without_p50 = [r["without"][model_id]["p50_ms"] for r in rounds]
        cost = [r["with"][model_id]["profiled_run_ms"] / r["with"][model_id]["mean_ms"] for r in rounds]
        summary = {
            "profiled_run_vs_timed_run": statistics.median(cost),
            "profiled_run_ms_median": statistics.median(r["with"][model_id]["profiled_run_ms"] for r in rounds),
            "timed_run_ms_median": statistics.median(r["with"][model_id]["mean_ms"] for r in rounds),
            "p50_with_profile_ms": statistics.median(with_p50),
            "p50_without_profile_ms": statistics.median(without_p50),
            "p50_with_vs_without": statistics.median(with_p50) / statistics.median(without_p50),
            # the spread across rounds: what the noise of a shared machine alone does to the ratio
            "p50_with_vs_without_per_round": [w / wo for w, wo in zip(with_p50, without_p50, strict=True)],
            "profiled_run_vs_timed_run_per_round": cost,
            "top_op": rounds[0]["with"][model_id]["top_op"],
        }
        results["models"][model_id] = summary  # type: ignore[index]
        print(
            f"{model_id}: profiled run / timed run = {summary['profiled_run_vs_timed_run']:.2f} "
            f"({summary['profiled_run_ms_median']:.2f} vs {summary['timed_run_ms_median']:.2f} ms); "
            f"timed p50 with / without a later profiled pass = {summary['p50_with_vs_without']:.3f} "
            f"({summary['p50_with_profile_ms']:.2f} vs {summary['p50_without_profile_ms']:.2f} ms)",
            flush=True,
        )
    write_json_atomic(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
