"""Do virtual devices in one process stall each other? `adb shell echo` latency on device B,
idle and while device A hashes a 100 MB file (`sha256sum`) in a loop, through a private adb
server; once with both devices on one event loop and once with each device on its own loop
(DeviceHost and `serve`). File-heavy commands run on each device's worker thread
(DeviceContext.run_blocking), so even one shared loop keeps answering: the target is a loaded
median within 2x of idle in both. Writes bench/results/device_stall.json. Ratios, side by side
in one run: the machine is shared and noisy (the hash itself takes a core of two)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

from harness.settings import PROJECT_ROOT as ROOT
from virtual_device import adbtools
from virtual_device.config import DeviceConfig
from virtual_device.device import VirtualDevice
from virtual_device.host import DeviceLoop
from virtual_device.services import DEFAULT_SERVICES
from virtual_device.testing.pytest_plugin import AdbServer, start_private_server

MB = 1_000_000
TARGET_RATIO = 2.0  # loaded echo median / idle echo median (issue 14)


def echo_latencies(server: AdbServer, serial: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        res = server.run("-s", serial, "shell", "echo ok")
        out.append(time.perf_counter() - t0)
        if res.stdout != "ok\n":
            raise RuntimeError(f"echo failed: {res}")
    return out


def measure(
    server: AdbServer, tmp: Path, size: int, n: int, *, shared_loop: bool, min_hashes: int = 6, rounds: int = 3
) -> dict[str, float]:
    loops = [DeviceLoop("bench-a")]
    loops.append(loops[0] if shared_loop else DeviceLoop("bench-b"))
    config = DeviceConfig(capacity_bytes=2 * size + 10 * MB)
    devices = []
    try:
        for name, runner in zip("ab", loops, strict=True):
            dev = VirtualDevice(config.replace(), services=DEFAULT_SERVICES, sandbox=tmp / f"{name}-{shared_loop}")
            runner.call(dev.start())
            devices.append((dev, runner))
            adbtools.connect(server.adb_path, server.port, dev.serial)
        a, b = devices[0][0], devices[1][0]
        blob = a.storage.host_path("/sdcard/big.bin")
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(os.urandom(size))
        echo_latencies(server, b.serial, 3)  # warm up
        idle: list[float] = []
        loaded: list[float] = []
        hashes = 0
        # Idle and loaded phases alternate (`rounds` of each), so the shared machine's drifting load
        # weighs on both alike.
        for _ in range(rounds):
            idle += echo_latencies(server, b.serial, max(1, n // rounds))
            stop = threading.Event()
            done_before = hashes

            def hash_loop(stop: threading.Event = stop) -> None:
                nonlocal hashes
                while not stop.is_set():
                    res = server.run("-s", a.serial, "shell", "sha256sum /sdcard/big.bin")
                    if res.returncode != 0:
                        raise RuntimeError(res.stderr)
                    hashes += 1

            worker = threading.Thread(target=hash_loop)
            worker.start()
            time.sleep(0.3)  # the first hash is under way
            try:
                # Echo while A hashes at least `min_hashes / rounds` times (and n / rounds echos).
                phase: list[float] = []
                while len(phase) < max(1, n // rounds) or hashes - done_before < max(1, min_hashes // rounds):
                    phase += echo_latencies(server, b.serial, 1)
                loaded += phase
            finally:
                stop.set()
                worker.join()
        idle_ms = statistics.median(idle) * 1000
        loaded_ms = statistics.median(loaded) * 1000
        return {
            "idle_median_ms": round(idle_ms, 2),
            "loaded_median_ms": round(loaded_ms, 2),
            "loaded_max_ms": round(max(loaded) * 1000, 2),
            "ratio": round(loaded_ms / idle_ms, 2),
            "echos_while_hashing": len(loaded),
            "hashes_during_run": hashes,
            "rounds": rounds,
        }
    finally:
        for dev, runner in devices:
            adbtools.disconnect(server.adb_path, server.port, dev.serial)
            runner.call(dev.stop())
        for runner in {id(r): r for r in loops}.values():
            runner.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--echos", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "device_stall.json")
    args = parser.parse_args()
    server = start_private_server()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-stall-") as tmp_s:
            tmp = Path(tmp_s)
            shared = measure(server, tmp, args.size_mb * MB, args.echos, shared_loop=True)
            own = measure(server, tmp, args.size_mb * MB, args.echos, shared_loop=False)
    finally:
        server.stop()
    result = {
        "size_mb": args.size_mb,
        "echos": args.echos,
        "one_loop_for_both_devices": shared,
        "one_loop_per_device": own,
        "target_ratio": TARGET_RATIO,
        "within_target": shared["ratio"] <= TARGET_RATIO and own["ratio"] <= TARGET_RATIO,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
