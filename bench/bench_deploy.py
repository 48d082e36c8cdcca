"""deploy-test benchmarks, each measured side by side with its baseline in one run:

1. re-run with nothing changed vs the first (cold) run          target: ratio <= 0.2
2. four virtual devices in parallel vs one                       target: ratio <= 2.0 (2 cores)
3. the harness's verified push vs plain `adb push`, same model   target: throughput ratio >= 0.8

Everything goes through a private adb server to virtual devices in a separate process (started
with virtual_device.lifecycle, as `ava-harness virtual-device start` does), like phones."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from harness.android.adb import AdbServer, connect
from harness.android.virtual import ava_device_config
from harness.fileio import write_json_atomic
from harness.models.registry import load_registry
from harness.settings import MODELS_DIR
from harness.settings import PROJECT_ROOT as ROOT
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test
from virtual_device.lifecycle import start_devices, stop_devices
from virtual_device.testing.pytest_plugin import start_private_server

MODELS = ["AVA-ONX-384-BASE-INT8", "AVA-ONX-384-FAST-INT8"]


def clear_derived(model_ids: list[str]) -> None:
    """The cold state: no quantized files, no cached host evaluation or embeddings."""
    for model_id in model_ids:
        for suffix in (".onnx", ".quant.json"):
            (MODELS_DIR / "quantized" / f"{model_id}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(MODELS_DIR / "cache" / "eval", ignore_errors=True)
    shutil.rmtree(MODELS_DIR / "cache" / "embeddings", ignore_errors=True)


def timed_run(serials: list[str], options: DeployOptions) -> tuple[float, bool]:
    started = time.perf_counter()
    run = deploy_test(serials, options)
    return time.perf_counter() - started, run.passed


def measure_push(server, serial: str, model: Path, runs: int = 5) -> dict[str, object]:
    device = connect(serial, [AdbServer("127.0.0.1", server.port)])
    remote = "/sdcard/Android/data/com.augmentalis.ava/files/models/bench.onnx"
    plain, verified = [], []
    for _ in range(runs):
        device.shell(["rm", "-f", remote])
        started = time.perf_counter()
        subprocess.run(
            [server.adb_path, "-P", str(server.port), "-s", serial, "push", str(model), remote],
            check=True,
            capture_output=True,
        )
        plain.append(time.perf_counter() - started)
        device.shell(["rm", "-f", remote])
        started = time.perf_counter()
        device.push_verified(model, remote)  # includes the local sha256, the device's sha256sum and mv
        verified.append(time.perf_counter() - started)
    size_mb = model.stat().st_size / 1e6
    p, v = statistics.median(plain), statistics.median(verified)
    print(
        f"verified push {size_mb / v:.0f} MB/s vs adb push {size_mb / p:.0f} MB/s: ratio {p / v:.2f} (target >= 0.8)",
        flush=True,
    )
    return {
        "size_mb": size_mb,
        "plain_s": plain,
        "verified_s": verified,
        "plain_mb_s": size_mb / p,
        "verified_mb_s": size_mb / v,
        "ratio": p / v,
    }


def main() -> None:
    server = start_private_server()
    os.environ["ANDROID_ADB_SERVER_PORT"] = str(server.port)
    os.environ["AVA_VIRTUAL_DEVICE_STATE"] = str(Path(tempfile.mkdtemp()) / "state.json")
    options = DeployOptions(
        model_ids=MODELS, servers=[AdbServer("127.0.0.1", server.port)], reports_dir=Path(tempfile.mkdtemp())
    )
    results: dict[str, object] = {"models": MODELS, "cpus": os.cpu_count()}
    try:
        # 1. cold vs re-run
        (serial,) = start_devices(1, config=ava_device_config())
        clear_derived(MODELS)
        cold, ok_cold = timed_run([serial], options)
        warm, ok_warm = timed_run([serial], options)
        results["rerun"] = {"cold_s": cold, "rerun_s": warm, "ratio": warm / cold, "passed": ok_cold and ok_warm}
        print(f"re-run vs cold: {warm:.1f} s / {cold:.1f} s = {warm / cold:.3f} (target <= 0.2)", flush=True)
        stop_devices(serials=[serial])

        # 2. four devices vs one (host caches warm, devices fresh so every model is pushed)
        one = start_devices(1, config=ava_device_config())
        t_one, ok_one = timed_run(one, options)
        four = start_devices(4, config=ava_device_config())
        t_four, ok_four = timed_run(four, options)
        results["parallel"] = {"one_s": t_one, "four_s": t_four, "ratio": t_four / t_one, "passed": ok_one and ok_four}
        print(f"4 devices vs 1: {t_four:.1f} s / {t_one:.1f} s = {t_four / t_one:.2f} (target <= 2.0)", flush=True)
        stop_devices(serials=one + four)

        # 3. verified push vs plain adb push, alternating, same device and file; on the bare
        # loopback link and on a phone-like one (the virtual device throttled to 40 MB/s)
        model = load_registry().get("AVA-ONX-384-BASE").original_path  # 90 MB FP32
        results["push"] = {}
        for link, faults in (("loopback", []), ("40 MB/s", [{"kind": "throttle", "rate": 40e6, "persistent": True}])):
            (serial,) = start_devices(1, config=ava_device_config(faults=faults))
            results["push"][link] = measure_push(server, serial, model)
            stop_devices(serials=[serial])
    finally:
        stop_devices()
        server.stop()
    write_json_atomic(ROOT / "bench" / "results" / "deploy.json", results)
    print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
