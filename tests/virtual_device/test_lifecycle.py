"""Detached devices via virtual_device.lifecycle against the private adb server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from virtual_device import lifecycle
from virtual_device.config import DeviceConfig
from virtual_device.testing.pytest_plugin import AdbServer


def test_start_stop_devices(adb_server: AdbServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state.json"
    monkeypatch.setenv(lifecycle.STATE_ENV, str(state))
    config = DeviceConfig(model="Lifecycle Phone", sandbox_root=str(tmp_path / "sb"))
    serials = lifecycle.start_devices(2, adb_path=adb_server.adb_path, config=config)
    try:
        assert len(serials) == 2 and all(s.startswith("127.0.0.1:") for s in serials)
        recorded = json.loads(state.read_text())["launches"][0]
        assert recorded["serials"] == serials and recorded["adb_port"] == adb_server.port
        pid = recorded["pid"]
        listed = adb_server.run("devices", "-l").stdout
        assert all(s in listed for s in serials) and "model:Lifecycle_Phone" in listed
        src = tmp_path / "f.bin"
        src.write_bytes(os.urandom(300_000))
        for serial in serials:
            assert adb_server.run("-s", serial, "shell", "echo hi").stdout == "hi\n"
            assert adb_server.run("-s", serial, "push", str(src), "/sdcard/f.bin").returncode == 0
            out = tmp_path / f"{serial.replace(':', '_')}.bin"
            assert adb_server.run("-s", serial, "pull", "/sdcard/f.bin", str(out)).returncode == 0
            assert out.read_bytes() == src.read_bytes()
        # Each device has its own sandbox under the configured root.
        assert len({Path(p) for p in recorded["sandboxes"]}) == 2
        assert all(Path(p, "sdcard", "f.bin").exists() for p in recorded["sandboxes"])
    finally:
        stopped = lifecycle.stop_devices(adb_path=adb_server.adb_path)
    assert sorted(stopped) == sorted(serials)
    assert not state.exists()
    assert not lifecycle._alive(pid)
    listed = adb_server.run("devices").stdout
    assert not any(f"{s}\tdevice" in listed for s in serials)


def test_cli_start_stop(adb_server: AdbServer, tmp_path: Path) -> None:
    env = {
        **os.environ,
        lifecycle.STATE_ENV: str(tmp_path / "state.json"),
        "PYTHONPATH": str(Path(lifecycle.__file__).resolve().parent.parent),
    }
    cmd = [sys.executable, "-m", "virtual_device"]
    res = subprocess.run(
        [*cmd, "start", "--count", "1", "--adb", adb_server.adb_path, "--sandbox", str(tmp_path / "sb")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    serial = res.stdout.strip()
    try:
        assert adb_server.run("-s", serial, "shell", "getprop ro.serialno").stdout == f"{serial}\n"
    finally:
        res = subprocess.run([*cmd, "stop"], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0 and f"stopped {serial}" in res.stdout
