"""Detached virtual devices for interactive use: `start_devices` spawns one background
`python -m virtual_device serve` process hosting N devices and connects them to the adb
server of the current environment; `stop_devices` undoes it. State lives in a JSON file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from virtual_device import adbtools
from virtual_device.config import DeviceConfig

STATE_ENV = "AVA_VIRTUAL_DEVICE_STATE"


def state_file() -> Path:
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "ava-harness" if runtime else Path.home() / ".cache" / "ava-harness"
    return base / "virtual-devices.json"


def _read_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        if isinstance(data, dict) and isinstance(data.get("launches"), list):
            return data
    except (OSError, ValueError):
        pass
    return {"launches": []}


def _write_state(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _is_our_process(pid: int) -> bool:
    # The pid may have been reused since the state file was written: check it is a serve process.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the state file
    return b"virtual_device" in cmdline and b"serve" in cmdline


def start_devices(
    count: int = 1,
    port: int | None = None,
    *,
    adb_path: str | None = None,
    config: DeviceConfig | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Start `count` devices (ports port, port+1, ... or free ones) in one detached process,
    `adb connect` each, and return their serials ("127.0.0.1:PORT")."""
    if count < 1:
        raise ValueError("count must be >= 1")
    config = config or DeviceConfig()
    adb = adbtools.find_adb(adb_path)
    state_path = state_file()
    run_dir = state_path.parent / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    run_dir.mkdir(parents=True, exist_ok=True)
    sandbox_root = Path(config.sandbox_root) if config.sandbox_root else run_dir / "sandbox"
    config_path = run_dir / "config.json"
    config.dump(config_path)
    ready = run_dir / "ready.json"
    log_path = run_dir / "serve.log"
    cmd = [
        sys.executable,
        "-m",
        "virtual_device",
        "serve",
        "--count",
        str(count),
        "--config",
        str(config_path),
        "--ready-file",
        str(ready),
        "--sandbox",
        str(sandbox_root),
    ]
    if port is not None:
        cmd += ["--port", str(port)]
    env = dict(os.environ)
    pkg_parent = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"virtual device server exited with {proc.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError("virtual device server did not become ready")
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    serials = [f"127.0.0.1:{p}" for p in info["ports"]]
    adb_port = adbtools.server_port()
    launch = {
        "pid": proc.pid,
        "serials": serials,
        "ports": info["ports"],
        "sandboxes": info["sandboxes"],
        "log": str(log_path),
        "adb_port": adb_port,
        "adb_path": adb,
        "started": time.time(),
    }
    state = _read_state(state_path)
    state["launches"].append(launch)
    _write_state(state_path, state)
    try:
        for serial in serials:
            adbtools.connect(adb, adb_port, serial, timeout=timeout)
    except Exception:
        stop_devices(adb_path=adb, serials=serials)
        raise
    return serials


def stop_devices(*, adb_path: str | None = None, serials: list[str] | None = None) -> list[str]:
    """Disconnect and kill the devices started by start_devices (all of them, or only the
    launches that hold `serials`); returns the serials stopped."""
    path = state_file()
    state = _read_state(path)
    stopped: list[str] = []
    kept: list[dict[str, Any]] = []
    for launch in state["launches"]:
        if serials is not None and not set(launch.get("serials", [])) & set(serials):
            kept.append(launch)
            continue
        adb = adb_path or launch.get("adb_path") or adbtools.find_adb()
        for serial in launch.get("serials", []):
            adbtools.disconnect(adb, int(launch.get("adb_port", adbtools.server_port())), serial)
            stopped.append(serial)
        pid = int(launch.get("pid", 0))
        if pid > 0 and _is_our_process(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)
            if _alive(pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
    if kept:
        _write_state(path, {**state, "launches": kept})
    else:
        with contextlib.suppress(OSError):
            path.unlink()
    return stopped


def _alive(pid: int) -> bool:
    try:
        # Reap it if it is our child (start and stop in the same process).
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def list_devices() -> list[dict[str, Any]]:
    return [launch for launch in _read_state(state_file())["launches"] if _alive(int(launch.get("pid", 0)))]
