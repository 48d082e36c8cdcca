"""Devices in background processes via virtual_device.lifecycle, against the private adb server:
owners (only `start`'s devices are `stop`'s), interrupts while starting, stale entries."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from virtual_device import lifecycle
from virtual_device.config import DeviceConfig
from virtual_device.faults import rewrite_status, slow_boot
from virtual_device.testing.pytest_plugin import AdbServer

PKG_PARENT = str(Path(lifecycle.__file__).resolve().parent.parent)


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def recorded(state: Path) -> list[dict]:
    return json.loads(state.read_text())["devices"] if state.exists() else []


def serve_processes(state_dir: Path) -> list[int]:
    """Serve processes whose command line names a file under state_dir (ours, not other tests')."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        ours = b"virtual_device" in cmdline and b"serve" in cmdline and str(state_dir).encode() in cmdline
        if ours and lifecycle._alive(int(proc.name)):
            found.append(int(proc.name))
    return found


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state" / "state.json"
    monkeypatch.setenv(lifecycle.STATE_ENV, str(path))
    return path


@pytest.fixture
def cli(adb_server: AdbServer, state: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    env = {**os.environ, lifecycle.STATE_ENV: str(state), "PYTHONPATH": PKG_PARENT}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "virtual_device", *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)

    return run


def test_start_stop_devices(adb_server: AdbServer, state: Path, tmp_path: Path) -> None:
    config = DeviceConfig(model="Lifecycle Phone", sandbox_root=str(tmp_path / "sb"))
    serials = lifecycle.start_devices(2, adb_path=adb_server.adb_path, config=config)
    try:
        assert len(serials) == 2 and all(s.startswith("127.0.0.1:") for s in serials)
        entries = recorded(state)
        assert [e["serial"] for e in entries] == serials
        assert {e["owner"] for e in entries} == {"cli"} and {e["state"] for e in entries} == {"ready"}
        assert all(e["adb_port"] == adb_server.port for e in entries)
        pids = [e["pid"] for e in entries]
        assert len(set(pids)) == 2  # one process per device
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
        assert len({Path(e["sandbox"]) for e in entries}) == 2
        assert all(Path(e["sandbox"], "sdcard", "f.bin").exists() for e in entries)
    finally:
        stopped = lifecycle.stop_devices(adb_path=adb_server.adb_path)
    assert sorted(stopped) == sorted(serials)
    assert not state.exists()
    assert not any(lifecycle._alive(pid) for pid in pids)
    assert (tmp_path / "sb").is_dir()  # a sandbox the caller named is the caller's
    listed = adb_server.run("devices").stdout
    assert not any(f"{s}\tdevice" in listed for s in serials)


def test_cli_start_list_stop(adb_server: AdbServer, cli, tmp_path: Path) -> None:
    res = cli("start", "--count", "1", "--adb", adb_server.adb_path, "--sandbox", str(tmp_path / "sb"))
    assert res.returncode == 0, res.stderr
    serial = res.stdout.strip()
    try:
        assert adb_server.run("-s", serial, "shell", "getprop ro.serialno").stdout == f"{serial}\n"
        # The starter has exited: a `start` device is detached and outlives it.
        listing = cli("list").stdout.splitlines()
        assert listing[0].split() == ["SERIAL", "PORT", "ABI", "APP", "OWNER", "PID", "ALIVE"]
        (row,) = listing[1:]
        # APP is what `start --app` named ("-": this start named none).
        assert row.split()[:5] == [serial, serial.rsplit(":", 1)[1], "arm64-v8a", "-", "cli"] and row.endswith("yes")
    finally:
        res = cli("stop")
    assert res.returncode == 0 and f"stopped {serial}" in res.stdout
    assert cli("list").stdout.splitlines()[1:] == []


def test_stop_stops_only_cli_devices(adb_server: AdbServer, cli, state: Path) -> None:
    """A run's own devices (owner run:...) are invisible to `stop`, and refused by name."""
    run_serials = lifecycle.start_devices(1, adb_path=adb_server.adb_path, owner="run:test")
    try:
        res = cli("start", "--count", "2", "--adb", adb_server.adb_path)
        assert res.returncode == 0, res.stderr
        cli_serials = res.stdout.split()
        owners = {e["serial"]: e["owner"] for e in recorded(state)}
        assert owners == {run_serials[0]: "run:test", **dict.fromkeys(cli_serials, "cli")}

        refused = cli("stop", cli_serials[0], run_serials[0])
        assert refused.returncode == 2 and refused.stdout == ""
        (line,) = refused.stderr.splitlines()
        assert f"{run_serials[0]}: started by run:test" in line and cli_serials[0] not in line
        unknown = cli("stop", "127.0.0.1:1")
        assert unknown.returncode == 2 and "127.0.0.1:1: not a running virtual device" in unknown.stderr
        assert len(recorded(state)) == 3  # all or none: nothing was stopped

        one = cli("stop", cli_serials[1])
        assert one.returncode == 0 and one.stdout == f"stopped {cli_serials[1]}\n"
        rest = cli("stop")
        assert rest.returncode == 0 and rest.stdout == f"stopped {cli_serials[0]}\n"
        assert [e["serial"] for e in recorded(state)] == run_serials
        assert adb_server.run("-s", run_serials[0], "shell", "echo alive").stdout == "alive\n"
        with pytest.raises(
            lifecycle.StopRefused, match="started by run:test, not by `virtual-device start`; run:test stops it"
        ):
            lifecycle.stop_devices(serials=run_serials)
    finally:
        lifecycle.stop_devices(owner=None)
    assert not state.exists()


def test_dead_devices_are_dropped_on_list_and_stop(adb_server: AdbServer, state: Path) -> None:
    serials = lifecycle.start_devices(2, adb_path=adb_server.adb_path)
    dead, alive = recorded(state)
    os.kill(dead["pid"], signal.SIGKILL)
    wait_for(lambda: not lifecycle._alive(dead["pid"]), "the killed device to exit")
    listing = {d["serial"]: d["alive"] for d in lifecycle.list_devices()}
    assert listing == {dead["serial"]: False, alive["serial"]: True}
    assert [e["serial"] for e in recorded(state)] == [alive["serial"]]
    assert Path(dead["run_dir"]).is_dir()  # the start's directory goes with its last device
    assert "no (dropped)" in lifecycle.format_devices([{**dead, "alive": False}])
    assert dead["serial"] not in adb_server.run("devices").stdout
    os.kill(alive["pid"], signal.SIGKILL)
    wait_for(lambda: not lifecycle._alive(alive["pid"]), "the second device to exit")
    assert lifecycle.stop_devices() == []  # nothing alive to stop; the stale entry is dropped
    assert not state.exists() and not Path(alive["run_dir"]).exists()
    assert not any(f"{s}\t" in adb_server.run("devices").stdout for s in serials)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_while_starting_leaks_nothing(adb_server: AdbServer, state: Path, tmp_path: Path, sig) -> None:
    config = tmp_path / "slow.json"
    DeviceConfig(faults=[slow_boot(600)]).dump(config)
    env = {**os.environ, lifecycle.STATE_ENV: str(state), "PYTHONPATH": PKG_PARENT}
    starter = subprocess.Popen(
        [sys.executable, "-m", "virtual_device", "start", "--count", "2", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        # Both device processes are recorded before the start waits for them.
        wait_for(lambda: len(recorded(state)) == 2, "two devices recorded as starting")
        entries = recorded(state)
        assert {e["state"] for e in entries} == {"starting"} and all(lifecycle._alive(e["pid"]) for e in entries)
        starter.send_signal(sig)
        _out, err = starter.communicate(timeout=60)
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait()
    assert starter.returncode == 130 and "interrupted: no virtual device left running" in err, err
    wait_for(lambda: not serve_processes(state.parent), "no serve process left")
    assert not state.exists() and not any(lifecycle._alive(e["pid"]) for e in entries)
    assert list((state.parent / "runs").iterdir()) == []


def test_a_run_device_dies_with_the_process_that_started_it(adb_server: AdbServer, state: Path) -> None:
    """However the run ends (here SIGKILL, no cleanup at all), its own devices do not outlive it."""
    script = (
        "import sys, time\n"
        "from virtual_device import lifecycle\n"
        f"print(*lifecycle.start_devices(1, adb_path={adb_server.adb_path!r}, owner='run:1'), flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, lifecycle.STATE_ENV: str(state), "PYTHONPATH": PKG_PARENT}
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert run.stdout is not None
        serial = run.stdout.readline().strip()
        (entry,) = recorded(state)
        assert entry["serial"] == serial and entry["owner"] == "run:1"
        assert adb_server.run("-s", serial, "shell", "echo up").stdout == "up\n"
    finally:
        run.kill()
        run.wait()
    wait_for(lambda: not lifecycle._alive(entry["pid"]), "the run's device to exit after the run")
    assert [d["alive"] for d in lifecycle.list_devices()] == [False]
    assert not state.exists()


def test_faults_from_the_environment(
    adb_server: AdbServer, state: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """$AVA_VIRTUAL_DEVICE_FAULTS arms faults on every device started here, in another process."""
    (name, value) = lifecycle.faults_env(rewrite_status("test", "[/b]")).popitem()
    assert name == lifecycle.FAULTS_ENV and json.loads(value)[0]["target"] == "test"
    monkeypatch.setenv(name, value)
    (serial,) = lifecycle.start_devices(1, adb_path=adb_server.adb_path, owner="run:env")
    try:
        run_dir = Path(recorded(state)[0]["run_dir"])
        assert json.loads((run_dir / "config.json").read_text())["faults"][0]["kind"] == "rewrite_status"
        out = adb_server.run(
            "-s", serial, "shell", "am instrument -w -r com.example.hello.test/androidx.test.runner.AndroidJUnitRunner"
        ).stdout
        assert out.count("INSTRUMENTATION_STATUS: test=[/b]\n") == 2
    finally:
        assert lifecycle.stop_devices(serials=[serial], owner="run:env") == [serial]
    monkeypatch.setenv(lifecycle.FAULTS_ENV, "{not json")
    with pytest.raises(ValueError):
        lifecycle.start_devices(1, adb_path=adb_server.adb_path)
    assert not state.exists()


def test_a_state_file_from_before_owners_is_read(state: Path) -> None:
    """The old format (one entry per launch) counts as the CLI's; dead entries are dropped."""
    state.parent.mkdir(parents=True)
    launch = {"pid": 2**22 + 1, "serials": ["127.0.0.1:1", "127.0.0.1:2"], "ports": [1, 2], "adb_port": 1}
    state.write_text(json.dumps({"launches": [launch]}))
    listed = lifecycle.list_devices()
    assert [(d["serial"], d["port"], d["owner"], d["alive"]) for d in listed] == [
        ("127.0.0.1:1", 1, "cli", False),
        ("127.0.0.1:2", 2, "cli", False),
    ]
    assert not state.exists()
