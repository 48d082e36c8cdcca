"""The Kotlin device side on a JVM vs the Python reference, on the same request and device.

One virtual device hosts both instrumentations (the JVM app under the contract's runner, the
Python reference under a second runner name). A deploy-test pushes the two default models and a
request (mode both); then each side runs `am instrument -w -r` on its own copy of that request,
alternating, ROUNDS times. Measured per run, from the streamed output (host clock) and result.json:
- start: `am instrument` issued -> first test started (process start, runner, request read);
- load / cold: result.json loadMs (session created) and coldMs (first inference), per model;
- latency p50: result.json latencyMs, texts[0] with the host's token ids (per-text inference);
- e2e per text: the endToEnd check's wall time / number of texts (the app's tokenizer + embed +
  writing the outputs);
- total: the whole instrumentation.
Medians over the rounds, and the ratio Kotlin / Python. Writes bench/results/kotlin_app.json and
prints a markdown table. Usage: bench/bench_kotlin_app.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.android.adb import AdbServer
from harness.android.contract import DEFAULT_APP_PACKAGE, DEFAULT_RUNNER, DEFAULT_TEST_PACKAGE, RunSettings
from harness.android.virtual import ava_kotlin_device_config
from harness.settings import PROJECT_ROOT as ROOT
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test

MODELS = ("AVA-ONX-384-BASE-INT8", "AVA-ONX-384-FAST-INT8")
PYTHON_RUNNER = "ava.reference.PythonRunner"
TEST_CLASS = "com.augmentalis.ava.harness.EmbeddingSignoffTest"
FILES = f"/sdcard/Android/data/{DEFAULT_APP_PACKAGE}/files"
RESULTS = ROOT / "bench" / "results" / "kotlin_app.json"
SIDES = {"kotlin": DEFAULT_RUNNER, "python": PYTHON_RUNNER}


def timed_instrument(adb: str, port: int, serial: str, request: str, runner: str) -> dict[str, Any]:
    """One `am instrument` run, its lines stamped with the host clock as they arrive."""
    command = f"am instrument -w -r -e class {TEST_CLASS} -e ava.request {shlex.quote(request)} "
    command += f"{DEFAULT_TEST_PACKAGE}/{runner}"
    env = {**os.environ, "ANDROID_ADB_SERVER_PORT": str(port)}
    began = time.perf_counter()
    proc = subprocess.Popen([adb, "-s", serial, "shell", command], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    first_start: float | None = None
    bundle: dict[str, str] = {}
    started: dict[str, float] = {}
    durations: dict[str, float] = {}
    lines = []
    for line in proc.stdout:
        now = time.perf_counter() - began
        lines.append(line)
        if line.startswith("INSTRUMENTATION_STATUS: "):
            key, _, value = line[len("INSTRUMENTATION_STATUS: ") :].rstrip("\n").partition("=")
            bundle[key] = value
        elif line.startswith("INSTRUMENTATION_STATUS_CODE: "):
            code = line.split(":", 1)[1].strip()
            test = bundle.get("test")
            if test and code == "1":
                first_start = now if first_start is None else first_start
                started[test] = now
            elif test and code in ("0", "-2") and test in started:
                durations[test] = now - started[test]
            bundle = {}
    proc.wait()
    text = "".join(lines)
    if "INSTRUMENTATION_CODE: -1" not in text or "FAILURES!!!" in text:
        raise SystemExit(f"{runner}: the run did not pass:\n{text[-2000:]}")
    return {"start_s": first_start, "total_s": time.perf_counter() - began, "tests_s": durations}


def measure(device: Any, adb: str, port: int, request: dict[str, Any], rounds: int) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    n_texts = len(request["texts"])
    for i in range(rounds):
        for side, runner in SIDES.items():
            device_dir = f"{FILES}/ava-harness/runs/{request['runId']}-bench-{side}-{i}"
            host_dir = device.host_path(device_dir)
            host_dir.mkdir(parents=True, exist_ok=True)
            (host_dir / "request.json").write_text(json.dumps(request), encoding="utf-8")
            run = timed_instrument(adb, port, device.serial, f"{device_dir}/request.json", runner)
            for model_id in MODELS:
                result = json.loads((host_dir / "out" / model_id / "result.json").read_text(encoding="utf-8"))
                run[model_id] = {
                    "load_ms": result["loadMs"],
                    "cold_ms": result["coldMs"],
                    "p50_ms": statistics.median(result["latencyMs"]),
                    "e2e_per_text_ms": run["tests_s"][f"endToEnd[{model_id}]"] * 1000 / n_texts,
                    "ort_version": result["ortVersion"],
                }
            runs[side].append(run)
            print(f"round {i + 1}/{rounds} {side}: start {run['start_s']:.2f} s, total {run['total_s']:.2f} s")
    return runs


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    def med(side: str, get: Any) -> float:
        return statistics.median(get(run) for run in runs[side])

    rows = [("start (s)", lambda r: r["start_s"]), ("total (s)", lambda r: r["total_s"])]
    for model_id in MODELS:
        for key in ("load_ms", "cold_ms", "p50_ms", "e2e_per_text_ms"):
            rows.append((f"{model_id} {key}", lambda r, m=model_id, k=key: r[m][k]))
    table = {}
    for name, get in rows:
        kotlin, python = med("kotlin", get), med("python", get)
        table[name] = {"kotlin": round(kotlin, 3), "python": round(python, 3), "ratio": round(kotlin / python, 2)}
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    subprocess.run([str(ROOT / "device_tests" / "android" / "build.sh")], check=True)
    from ava_reference.virtual_app import ENTRY as PYTHON_ENTRY
    from virtual_device import adbtools
    from virtual_device.config import InstrumentationSpec
    from virtual_device.host import DeviceHost
    from virtual_device.testing.pytest_plugin import start_private_server

    server = start_private_server()
    os.environ["ANDROID_ADB_SERVER_PORT"] = str(server.port)
    config = ava_kotlin_device_config()
    python = InstrumentationSpec(entry=PYTHON_ENTRY, target=DEFAULT_APP_PACKAGE)
    config = config.replace(
        instrumentations={**config.instrumentations, f"{DEFAULT_TEST_PACKAGE}/{PYTHON_RUNNER}": python}
    )
    host = DeviceHost()
    with tempfile.TemporaryDirectory(prefix="bench-kotlin-") as scratch:
        device = host.add_device(config, sandbox=Path(scratch) / "device")
        adbtools.connect(server.adb_path, server.port, device.serial)
        try:
            settings = RunSettings()  # the defaults a sign-off uses: 20 iterations, 3 warm-up, 2 threads
            options = DeployOptions(
                model_ids=list(MODELS),
                servers=[AdbServer("127.0.0.1", server.port)],
                settings=settings,
                host_eval_limit=40,
                reports_dir=Path(scratch) / "reports",
            )
            signoff = deploy_test([device.serial], options)
            if not signoff.passed:
                raise SystemExit(f"the deploy-test that pushes the request failed: {signoff.devices[0].error}")
            path = f"{FILES}/ava-harness/runs/{signoff.run_id}/request.json"
            request = json.loads(device.host_path(path).read_text(encoding="utf-8"))
            runs = measure(device, server.adb_path, server.port, request, args.rounds)
        finally:
            adbtools.disconnect(server.adb_path, server.port, device.serial)
            host.close()
            server.stop()
    table = summarise(runs)
    record = {
        "what": "Kotlin device side on a JVM (ort-jvm) vs the Python reference, same request, same virtual device",
        "models": list(MODELS),
        "texts": len(request["texts"]),
        "settings": {"threads": settings.threads, "warmup": settings.warmup, "iterations": settings.iterations},
        "rounds": args.rounds,
        "ort": {side: runs[side][0][MODELS[0]]["ort_version"] for side in SIDES},
        "host": {"machine": platform.machine(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "median": table,
        "runs": runs,
    }
    RESULTS.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print("\n| measure | Kotlin (JVM) | Python | ratio |\n|---|---|---|---|")
    for name, row in table.items():
        print(f"| {name} | {row['kotlin']} | {row['python']} | {row['ratio']} |")
    print(f"\nwritten: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
