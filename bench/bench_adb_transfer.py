"""Push/pull throughput of a 100 MB file through a private adb server to a virtual device,
beside a plain loopback TCP copy of the same bytes. Writes bench/results/adb_transfer.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness.fileio import sha256_file
from harness.settings import PROJECT_ROOT as ROOT
from virtual_device import adbtools
from virtual_device.config import DeviceConfig
from virtual_device.host import DeviceHost
from virtual_device.testing.pytest_plugin import start_private_server

MB = 1_000_000


def loopback_copy(path: Path) -> float:
    """Seconds to send the file over a loopback TCP socket and write it to disk on the other end."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    out_path = path.with_suffix(".loop")

    def receiver() -> None:
        conn, _ = server.accept()
        with conn, open(out_path, "wb") as fh:
            while chunk := conn.recv(1 << 20):
                fh.write(chunk)

    t = threading.Thread(target=receiver)
    t.start()
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock, open(path, "rb") as fh:
        sock.sendfile(fh)
    t.join()
    elapsed = time.perf_counter() - start
    server.close()
    out_path.unlink()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "adb_transfer.json")
    args = parser.parse_args()
    size = args.size_mb * MB
    server = start_private_server()
    host = DeviceHost()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-adb-") as tmp_s:
            tmp = Path(tmp_s)
            device = host.add_device(DeviceConfig(capacity_bytes=4 * size + 10 * MB), sandbox=tmp / "sandbox")
            adbtools.connect(server.adb_path, server.port, device.serial)
            src = tmp / "src.bin"
            with open(src, "wb") as fh:
                fh.write(os.urandom(size))
            digest = sha256_file(src)
            push_s: list[float] = []
            pull_s: list[float] = []
            loop_s: list[float] = []
            for i in range(args.runs):
                remote = f"/sdcard/bench/{i}.bin"
                t0 = time.perf_counter()
                res = server.run("-s", device.serial, "push", str(src), remote)
                push_s.append(time.perf_counter() - t0)
                if res.returncode != 0:
                    raise RuntimeError(res.stderr)
                dst = tmp / "dst.bin"
                t0 = time.perf_counter()
                res = server.run("-s", device.serial, "pull", remote, str(dst))
                pull_s.append(time.perf_counter() - t0)
                if res.returncode != 0:
                    raise RuntimeError(res.stderr)
                if sha256_file(dst) != digest:
                    raise RuntimeError("pulled file differs")
                dst.unlink()
                device.host_path(remote).unlink()
                loop_s.append(loopback_copy(src))
            adbtools.disconnect(server.adb_path, server.port, device.serial)
    finally:
        host.close()
        server.stop()

    def mbps(times: list[float]) -> float:
        return size / MB / statistics.median(times)

    loop = mbps(loop_s)
    results = {
        "size_bytes": size,
        "runs": args.runs,
        "push_mb_s": round(mbps(push_s), 1),
        "pull_mb_s": round(mbps(pull_s), 1),
        "loopback_mb_s": round(loop, 1),
        "push_ratio_to_loopback": round(mbps(push_s) / loop, 3),
        "pull_ratio_to_loopback": round(mbps(pull_s) / loop, 3),
        "push_seconds": [round(t, 4) for t in push_s],
        "pull_seconds": [round(t, 4) for t in pull_s],
        "loopback_seconds": [round(t, 4) for t in loop_s],
        "note": "adb CLI wall time (process start included) via a private adb server; MB = 10^6 bytes",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(f"{'transfer':<10}{'MB/s':>10}{'vs loopback':>14}")
    print(f"{'push':<10}{results['push_mb_s']:>10.1f}{results['push_ratio_to_loopback']:>13.2f}x")
    print(f"{'pull':<10}{results['pull_mb_s']:>10.1f}{results['pull_ratio_to_loopback']:>13.2f}x")
    print(f"{'loopback':<10}{results['loopback_mb_s']:>10.1f}{1.0:>13.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    ok = results["push_mb_s"] >= 100 and results["pull_mb_s"] >= 100
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
