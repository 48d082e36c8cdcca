"""Virtual devices in background processes: `start_devices` spawns one
`python -m virtual_device serve` process per device and connects it to the adb server of the
current environment; `stop_devices` undoes it. Every device is recorded in a per-user JSON state
file with its owner:

- "cli" (`virtual-device start`, the default): detached, it outlives the process that started it;
  `virtual-device stop` stops it.
- anything else ("run:<id>": a deploy-test's own `--device virtual` devices, a test's): it lives as
  long as the process that started it (the device exits when that process is gone, however it
  ended), and that process stops it; `virtual-device stop` never does.

A device is recorded before it is waited for, and an exception or interrupt while devices start
stops them, so an interrupted start leaks nothing. Entries whose process is gone are dropped
whenever the state is listed or stopped."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from virtual_device import adbtools
from virtual_device.config import DeviceConfig

STATE_ENV = "AVA_VIRTUAL_DEVICE_STATE"
# A JSON list of faults (faults.Fault.to_dict) armed on every device start_devices starts.
FAULTS_ENV = "AVA_VIRTUAL_DEVICE_FAULTS"
CLI_OWNER = "cli"
_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class StopRefused(Exception):
    """stop_devices was named serials it may not stop: unknown ones, or another owner's."""

    def __init__(self, refusals: dict[str, str]) -> None:
        self.refusals = refusals
        super().__init__("; ".join(f"{serial}: {reason}" for serial, reason in refusals.items()))


def state_file() -> Path:
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "ava-harness" if runtime else Path.home() / ".cache" / "ava-harness"
    return base / "virtual-devices.json"


# --- the state file ---------------------------------------------------------------------------
def _read_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"devices": []}
    if isinstance(data, dict) and isinstance(data.get("devices"), list):
        return data
    if isinstance(data, dict) and isinstance(data.get("launches"), list):
        # Before owners: one process per launch; `stop` stopped them all, so they count as the CLI's.
        devices = []
        for launch in data["launches"]:
            for i, serial in enumerate(launch.get("serials", [])):
                devices.append(
                    {
                        **{k: launch.get(k) for k in ("pid", "log", "adb_port", "adb_path", "started")},
                        "serial": serial,
                        "port": launch.get("ports", [None] * (i + 1))[i],
                        "owner": CLI_OWNER,
                        "state": "ready",
                    }
                )
        return {"devices": devices}
    return {"devices": []}


def _write_state(path: Path, data: dict[str, Any]) -> None:
    if not data["devices"]:
        with contextlib.suppress(OSError):
            path.unlink()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked_state(path: Path | None = None) -> Iterator[dict[str, Any]]:
    """Read-modify-write of the state under an exclusive lock (processes start and stop devices
    concurrently); the state yielded is written back on exit, even on an exception."""
    path = path or state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = _read_state(path)
        try:
            yield state
        finally:
            _write_state(path, state)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT/SIGTERM wait until the block ends (then they act as usual), so a device process is
    never started without being recorded, nor left half-stopped. Only the main thread runs
    Python's handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# --- processes --------------------------------------------------------------------------------
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


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
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


def _entry_alive(entry: dict[str, Any]) -> bool:
    pid = int(entry.get("pid") or 0)
    return _alive(pid) and _is_our_process(pid)


def _terminate(pids: list[int], grace: float = 5.0) -> None:
    """SIGTERM every live serve process, then SIGKILL what is left after `grace` seconds."""
    live = [pid for pid in pids if _alive(pid) and _is_our_process(pid)]
    for pid in live:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in live):
        time.sleep(0.05)
    for pid in live:
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in live):
        time.sleep(0.05)


def _disconnect(entry: dict[str, Any], adb_path: str | None = None) -> None:
    serial = entry.get("serial")
    if not serial:
        return
    port = int(entry.get("adb_port") or adbtools.server_port())
    # `adb disconnect` would start a server on a port where none runs any more: only ask a live one.
    if adbtools.is_listening(port):
        adbtools.disconnect(adb_path or entry.get("adb_path") or adbtools.find_adb(), port, serial)


def _remove_run_dirs(removed: list[dict[str, Any]], remaining: list[dict[str, Any]]) -> None:
    """A start's directory (config, logs, sandboxes it made) goes with the last of its devices."""
    kept = {e.get("run_dir") for e in remaining}
    for run_dir in {e.get("run_dir") for e in removed} - kept:
        if run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)


def _prune(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Drop entries whose process is gone (disconnecting them); returns what was dropped."""
    stale = [e for e in state["devices"] if not _entry_alive(e)]
    if stale:
        state["devices"] = [e for e in state["devices"] if e not in stale]
        for entry in stale:
            _disconnect(entry)
        _remove_run_dirs(stale, state["devices"])
    return stale


# --- start ------------------------------------------------------------------------------------
def _env_faults() -> list[dict[str, Any]]:
    text = os.environ.get(FAULTS_ENV, "").strip()
    if not text:
        return []
    faults = json.loads(text)
    if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
        raise ValueError(f"${FAULTS_ENV}: a JSON list of fault objects")
    return faults


def faults_env(*faults: Any) -> dict[str, str]:
    """{FAULTS_ENV: JSON} arming these faults (faults.tamper_file(...) objects or dicts) on every
    device a process started with this environment starts: `ava-harness deploy-test --device
    virtual` in a subprocess gets a lying device."""
    return {FAULTS_ENV: json.dumps([f.to_dict() if hasattr(f, "to_dict") else dict(f) for f in faults])}


def start_devices(
    count: int = 1,
    port: int | None = None,
    *,
    adb_path: str | None = None,
    config: DeviceConfig | None = None,
    timeout: float = 30.0,
    owner: str = CLI_OWNER,
    app: str = "",
) -> list[str]:
    """Start `count` devices (ports port, port+1, ... or free ones), one process each, `adb
    connect` each, and return their serials ("127.0.0.1:PORT"). `owner` CLI_OWNER detaches them;
    any other owner ties them to this process (see the module docstring)."""
    if count < 1:
        raise ValueError("count must be >= 1")
    if not owner or any(c.isspace() for c in owner):
        raise ValueError(f"owner: one word, got {owner!r}")
    config = config or DeviceConfig()
    extra_faults = _env_faults()
    if extra_faults:
        config = config.replace(faults=[*config.faults, *extra_faults])
    adb = adbtools.find_adb(adb_path)
    adb_port = adbtools.server_port()
    state_path = state_file()
    run_dir = state_path.parent / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
    run_dir.mkdir(parents=True, exist_ok=True)
    sandbox_root = Path(config.sandbox_root) if config.sandbox_root else run_dir / "sandbox"
    config_path = run_dir / "config.json"
    config.dump(config_path)
    detach_file = run_dir / "detached" if owner == CLI_OWNER else None
    env = dict(os.environ)
    pkg_parent = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    started: list[tuple[subprocess.Popen[bytes], dict[str, Any]]] = []
    try:
        for i in range(count):
            cmd = [
                sys.executable,
                "-m",
                "virtual_device",
                "serve",
                "--config",
                str(config_path),
                "--ready-file",
                str(run_dir / f"ready-{i}.json"),
                "--sandbox",
                str(sandbox_root / f"device-{i}"),
                "--parent-pid",
                str(os.getpid()),
            ]
            if port is not None:
                cmd += ["--port", str(port + i)]
            if detach_file is not None:
                cmd += ["--detach-file", str(detach_file)]
            log_path = run_dir / f"serve-{i}.log"
            entry = {
                "serial": None,
                "port": None,
                "abi": config.abi,
                "model": config.model,
                "app": app,  # the device side it hosts (`start --app`), as the starter named it
                "owner": owner,
                "pid": 0,
                "state": "starting",
                "run_dir": str(run_dir),
                "sandbox": None,
                "log": str(log_path),
                "adb_port": adb_port,
                "adb_path": adb,
                "started": time.time(),
            }
            with _signals_held(), open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,  # a Ctrl-C in the terminal is for the starter, not the device
                    close_fds=True,
                )
                entry["pid"] = proc.pid
                started.append((proc, entry))
                with _locked_state(state_path) as state:
                    state["devices"].append(entry)
        deadline = time.monotonic() + timeout
        for i, (proc, entry) in enumerate(started):
            info = _wait_ready(proc, run_dir / f"ready-{i}.json", Path(entry["log"]), deadline)
            (entry["port"],) = info["ports"]
            (entry["sandbox"],) = info["sandboxes"]
            entry["serial"] = f"127.0.0.1:{entry['port']}"
        with _locked_state(state_path) as state:
            for _proc, entry in started:
                entry["state"] = "ready"
                state["devices"] = [entry if e.get("pid") == entry["pid"] else e for e in state["devices"]]
        for _proc, entry in started:
            adbtools.connect(adb, adb_port, entry["serial"], timeout=timeout)
        if detach_file is not None:
            detach_file.touch()
    except BaseException:
        with _signals_held():
            _abort(started, state_path, run_dir, adb)
        raise
    return [entry["serial"] for _proc, entry in started]


def _wait_ready(proc: subprocess.Popen[bytes], ready: Path, log_path: Path, deadline: float) -> dict[str, Any]:
    while not ready.exists():
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"virtual device server exited with {proc.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            raise TimeoutError("virtual device server did not become ready")
        time.sleep(0.05)
    info: dict[str, Any] = json.loads(ready.read_text())
    return info


def _abort(
    started: list[tuple[subprocess.Popen[bytes], dict[str, Any]]], state_path: Path, run_dir: Path, adb: str
) -> None:
    """Undo a start that failed or was interrupted: stop its processes, forget them. Best effort
    at every step: what went wrong in the start (an interrupt, say) is what the caller reports,
    never a fault of this clean-up."""
    for proc, _entry in started:
        with contextlib.suppress(OSError):
            proc.terminate()
    for proc, entry in started:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:  # still starting, its SIGTERM not yet unblocked
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        with contextlib.suppress(Exception):
            _disconnect(entry, adb)
    pids = {entry["pid"] for _proc, entry in started}
    with _locked_state(state_path) as state:
        state["devices"] = [e for e in state["devices"] if e.get("pid") not in pids]
        if not any(e.get("run_dir") == str(run_dir) for e in state["devices"]):
            shutil.rmtree(run_dir, ignore_errors=True)


# --- list and stop ----------------------------------------------------------------------------
def list_devices() -> list[dict[str, Any]]:
    """Every recorded device, with `alive`. Entries whose process is gone are listed this once
    (alive False) and dropped from the state."""
    with _locked_state() as state:
        stale = _prune(state)
        live = [{**e, "alive": True} for e in state["devices"]]
    return live + [{**e, "alive": False} for e in stale]


def stop_devices(
    *,
    adb_path: str | None = None,
    serials: list[str] | None = None,
    owner: str | None = CLI_OWNER,
    missing_ok: bool = False,
) -> list[str]:
    """Disconnect and stop devices; returns the serials stopped. Without `serials`: every device of
    `owner` (None: every device). With `serials`: those, all or none. A serial that is another
    owner's, or not recorded (unless missing_ok), raises StopRefused and nothing is stopped."""
    with _locked_state() as state:
        _prune(state)
        if serials is None:
            chosen = [e for e in state["devices"] if owner is None or e.get("owner") == owner]
        else:
            by_serial = {e["serial"]: e for e in state["devices"] if e.get("serial")}
            refusals: dict[str, str] = {}
            for serial in serials:
                entry = by_serial.get(serial)
                if entry is None:
                    if not missing_ok:
                        refusals[serial] = "not a running virtual device started here"
                elif owner is not None and entry.get("owner") != owner:
                    refusals[serial] = _owned_elsewhere(entry, owner)
            if refusals:
                raise StopRefused(refusals)
            chosen = [by_serial[s] for s in dict.fromkeys(serials) if s in by_serial]
        with _signals_held():
            for entry in chosen:
                _disconnect(entry, adb_path)
            _terminate([int(e.get("pid") or 0) for e in chosen])
            state["devices"] = [e for e in state["devices"] if e not in chosen]
            _remove_run_dirs(chosen, state["devices"])
    return [e["serial"] for e in chosen if e.get("serial")]


def _owned_elsewhere(entry: dict[str, Any], owner: str) -> str:
    theirs = entry.get("owner")
    if owner == CLI_OWNER:
        return f"started by {theirs}, not by `virtual-device start`; {theirs} stops it"
    return f"started by {theirs}, not by {owner}"


COLUMNS = ("serial", "port", "abi", "app", "owner", "pid", "alive")


def format_devices(devices: list[dict[str, Any]]) -> str:
    """list_devices() as a table: a header, one row per device (one still starting has no serial)."""
    rows = [[c.upper() for c in COLUMNS]]
    for d in devices:
        alive = ("yes" if d.get("state") == "ready" else "starting") if d.get("alive") else "no (dropped)"
        rows.append([str(d.get(c) or "-") for c in COLUMNS[:-1]] + [alive])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
