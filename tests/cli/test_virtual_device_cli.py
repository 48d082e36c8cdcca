"""`ava-harness virtual-device start`, then the plain adb CLI shells, pushes and pulls; `stop`
ends it. Against the private adb server (ANDROID_ADB_SERVER_PORT), never the user's."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from harness.android.virtual import run_owner, virtual_devices_for
from harness.cli.virtual import vd_list, vd_stop
from harness.reference.choice import HOST_ABI
from tests.helpers import PROJECT_ROOT, assert_user_error, run_cli
from virtual_device import lifecycle


def test_start_then_plain_adb_shell_push_pull_then_stop(adb_server, tmp_path):
    env = {"ANDROID_ADB_SERVER_PORT": str(adb_server.port), "AVA_VIRTUAL_DEVICE_STATE": str(tmp_path / "state.json")}
    started = run_cli("virtual-device", "start", "--count", "2", env=env, timeout=120)
    assert started.returncode == 0, started.stderr
    serials = started.stdout.split()
    assert len(serials) == 2 and all(s.startswith("127.0.0.1:") for s in serials)
    try:
        listing = adb_server.run("devices", "-l").stdout
        assert all(f"{s}" in listing for s in serials) and "model:AVA_Virtual_Device" in listing
        assert adb_server.run("-s", serials[0], "shell", "echo", "hi").stdout == "hi\n"
        instrumentation = adb_server.run("-s", serials[0], "shell", "pm", "list", "instrumentation").stdout
        assert "com.augmentalis.ava.test/androidx.test.runner.AndroidJUnitRunner" in instrumentation
        payload = os.urandom(3_000_001)
        (tmp_path / "up.bin").write_bytes(payload)
        remote = "/sdcard/Android/data/com.augmentalis.ava/files/up.bin"
        assert adb_server.run("-s", serials[1], "push", str(tmp_path / "up.bin"), remote).returncode == 0
        assert adb_server.run("-s", serials[1], "pull", remote, str(tmp_path / "down.bin")).returncode == 0
        assert hashlib.sha256((tmp_path / "down.bin").read_bytes()).digest() == hashlib.sha256(payload).digest()
    finally:
        stopped = run_cli("virtual-device", "stop", env=env, timeout=60)
    assert stopped.returncode == 0 and all(f"stopped {s}" in stopped.stdout for s in serials)
    assert all(s not in adb_server.run("devices").stdout for s in serials)


def _env(adb_server, tmp_path, **extra: str) -> dict[str, str]:
    return {
        "ANDROID_ADB_SERVER_PORT": str(adb_server.port),
        "AVA_VIRTUAL_DEVICE_STATE": str(tmp_path / "state" / "state.json"),
        **extra,
    }


def _recorded(env: dict[str, str]) -> list[dict]:
    path = Path(env["AVA_VIRTUAL_DEVICE_STATE"])
    return json.loads(path.read_text())["devices"] if path.exists() else []


def _wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_stop_leaves_a_runs_own_devices(adb_server, tmp_path, monkeypatch):
    """`virtual-device stop` stops what `virtual-device start` started, never a deploy-test's own
    devices; naming one is refused with one line, exit 2, and nothing is stopped."""
    env = _env(adb_server, tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with virtual_devices_for(["virtual"], progress=lambda _m: None) as (run_serial,):
        started = run_cli("virtual-device", "start", env=env, timeout=120)
        assert started.returncode == 0, started.stderr
        (cli_serial,) = started.stdout.split()
        assert {e["serial"]: e["owner"] for e in _recorded(env)} == {run_serial: run_owner(), cli_serial: "cli"}

        refused = run_cli("virtual-device", "stop", cli_serial, run_serial, env=env, timeout=60)
        assert refused.returncode == 2
        line = assert_user_error(refused, run_serial, f"started by {run_owner()}")
        assert cli_serial not in line
        assert_user_error(run_cli("virtual-device", "stop", "127.0.0.1:1", env=env), "127.0.0.1:1", "not a running")
        assert len(_recorded(env)) == 2

        stopped = run_cli("virtual-device", "stop", env=env, timeout=60)
        assert stopped.returncode == 0 and stopped.stdout == f"stopped {cli_serial}\n"
        assert adb_server.run("-s", run_serial, "shell", "echo", "mine").stdout == "mine\n"
        (entry,) = _recorded(env)
    # The run stops its own devices when it ends.
    assert _recorded(env) == [] and not lifecycle._alive(entry["pid"])
    assert f"{run_serial}\tdevice" not in adb_server.run("devices").stdout


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_a_runs_devices_stop_on_interrupt_and_exit(adb_server, tmp_path, monkeypatch, interrupt):
    env = _env(adb_server, tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(interrupt), virtual_devices_for(["virtual:2"], progress=lambda _m: None) as serials:
        assert len(serials) == 2 and len(_recorded(env)) == 2
        pids = [e["pid"] for e in _recorded(env)]
        raise interrupt()
    assert _recorded(env) == [] and not any(lifecycle._alive(pid) for pid in pids)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_start_leaves_no_device(adb_server, tmp_path, sig):
    """Ctrl-C or SIGTERM while `virtual-device start` waits for a (slow-booting) device: exit 130,
    the device process is stopped and forgotten."""
    slow = json.dumps([{"kind": "slow_boot", "seconds": 600}])
    env = {**os.environ, "COLUMNS": "160", **_env(adb_server, tmp_path, AVA_VIRTUAL_DEVICE_FAULTS=slow)}
    starter = subprocess.Popen(
        [sys.executable, "-m", "harness.cli.app", "virtual-device", "start"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_for(lambda: len(_recorded(env)) == 1, "the device recorded as starting")
        (entry,) = _recorded(env)
        assert entry["state"] == "starting" and entry["owner"] == "cli"
        starter.send_signal(sig)
        out, err = starter.communicate(timeout=60)
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait()
    assert starter.returncode == 130 and out == "" and "interrupted" in err and "Traceback" not in err, err
    _wait_for(lambda: not lifecycle._alive(entry["pid"]), "the device process to exit")
    assert _recorded(env) == []


def test_list_shows_owner_and_liveness(adb_server, tmp_path, monkeypatch):
    """vd_list (registered as `virtual-device list` by harness/cli/app.py)."""
    from typer.testing import CliRunner

    env = _env(adb_server, tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = typer.Typer()
    app.command("list")(vd_list)
    app.command("stop")(vd_stop)
    with virtual_devices_for(["virtual"], progress=lambda _m: None) as (serial,):
        listing = CliRunner().invoke(app, ["list"])
        assert listing.exit_code == 0, listing.output
        header, row = listing.output.splitlines()
        assert header.split() == ["SERIAL", "PORT", "ABI", "APP", "OWNER", "PID", "ALIVE"]
        port = serial.rsplit(":", 1)[1]
        assert row.split() == [serial, port, HOST_ABI, "python", run_owner(), str(_recorded(env)[0]["pid"]), "yes"]
        assert CliRunner().invoke(app, ["stop"]).output == ""  # not start's: stop leaves it
    assert CliRunner().invoke(app, ["list"]).output.splitlines()[1:] == []
