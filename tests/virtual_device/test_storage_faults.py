"""Capacity, sandbox escapes, fault injection and am instrument, through the real adb server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from virtual_device import adbtools
from virtual_device.config import HELLO_COMPONENT, DeviceConfig
from virtual_device.host import VirtualDeviceHandle
from virtual_device.testing.pytest_plugin import AdbServer

from .conftest import shell
from .test_sync import make_file, sha256


def leftovers(handle: VirtualDeviceHandle) -> list[Path]:
    return [p for p in handle.sandbox.rglob("*") if ".vdtmp" in p.name]


def wait_online(adb_server: AdbServer, serial: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if adbtools.device_state(adb_server.adb_path, adb_server.port, serial) == "device":
            res = adb_server.run("-s", serial, "shell", "echo up", timeout=10)
            if res.stdout == "up\n":
                return
        time.sleep(0.2)
    raise AssertionError(f"{serial} did not come back")


def test_capacity_limit(adb_server: AdbServer, virtual_devices, tmp_path: Path) -> None:
    (dev,) = virtual_devices(1, capacity_bytes=2_000_000)
    src = tmp_path / "big.bin"
    make_file(src, 3_000_000)
    res = adb_server.run("-s", dev.serial, "push", str(src), "/sdcard/big.bin")
    assert res.returncode != 0
    assert "No space left on device" in res.stderr
    assert not dev.host_path("/sdcard/big.bin").exists()
    assert leftovers(dev) == []
    small = tmp_path / "small.bin"
    digest = make_file(small, 1_200_000)
    res = adb_server.run("-s", dev.serial, "push", str(small), "/sdcard/small.bin")
    assert res.returncode == 0, res.stderr
    assert sha256(dev.host_path("/sdcard/small.bin")) == digest
    # df reflects the limit and the usage.
    fields = shell(adb_server, dev.serial, "df -k /sdcard").stdout.splitlines()[1].split()
    assert int(fields[1]) == 2_000_000 // 1024
    assert int(fields[2]) == 1_200_000 // 1024
    # A second 1.2 MB copy does not fit any more; the shell sees ENOSPC too.
    res = adb_server.run("-s", dev.serial, "shell", "cp /sdcard/small.bin /sdcard/copy.bin")
    assert res.returncode == 1 and "No space left on device" in res.stderr
    assert not dev.host_path("/sdcard/copy.bin").exists()


def test_fill_storage_fault(adb_server: AdbServer, virtual_device: VirtualDeviceHandle, tmp_path: Path) -> None:
    src = tmp_path / "f.bin"
    make_file(src, 200_000)
    fault = virtual_device.faults.fill_storage()
    res = adb_server.run("-s", virtual_device.serial, "push", str(src), "/sdcard/f.bin")
    assert res.returncode != 0 and "No space left on device" in res.stderr
    assert not virtual_device.host_path("/sdcard/f.bin").exists()
    assert "100% /storage/emulated" in shell(adb_server, virtual_device.serial, "df").stdout
    virtual_device.faults.clear()
    assert fault.fired >= 1
    res = adb_server.run("-s", virtual_device.serial, "push", str(src), "/sdcard/f.bin")
    assert res.returncode == 0, res.stderr


def test_traversal_refused_sync(adb_server: AdbServer, shared_device: VirtualDeviceHandle, tmp_path: Path) -> None:
    s = shared_device.serial
    src = tmp_path / "x.txt"
    src.write_text("x")
    for target, message in [
        ("/sdcard/../../etc/evil", "Permission denied"),
        ("/data/local/tmp/../../../tmp/evil", "Permission denied"),
        ("/system/bin/evil", "Read-only file system"),
        ("/work/main/evil", "Permission denied"),
    ]:
        res = adb_server.run("-s", s, "push", str(src), target)
        assert res.returncode != 0, target
        assert message in res.stderr, (target, res.stderr)
    assert not Path("/tmp/evil").exists()
    res = adb_server.run("-s", s, "pull", "/sdcard/../../etc/passwd", str(tmp_path / "p"))
    assert res.returncode != 0
    # A symlink planted in the sandbox does not lead out of it.
    link = shared_device.host_path("/sdcard") / "escape"
    link.symlink_to("/etc")
    try:
        res = adb_server.run("-s", s, "pull", "/sdcard/escape/hostname", str(tmp_path / "h"))
        assert res.returncode != 0 and "Permission denied" in res.stderr
        res = adb_server.run("-s", s, "push", str(src), "/sdcard/escape/new")
        assert res.returncode != 0 and "Permission denied" in res.stderr
        res = shell(adb_server, s, "cat /sdcard/escape/hostname")
        assert res.returncode == 1 and "Permission denied" in res.stderr
    finally:
        link.unlink()
    long_name = "/sdcard/" + "a" * 300
    res = adb_server.run("-s", s, "push", str(src), long_name)
    assert res.returncode != 0 and "File name too long" in res.stderr


def test_traversal_refused_shell(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    s = shared_device.serial
    res = shell(adb_server, s, "cat /sdcard/../../etc/passwd")
    assert res.returncode == 1 and res.stderr == "cat: /sdcard/../../etc/passwd: No such file or directory\n"
    res = shell(adb_server, s, "echo pwned > /etc/pwned")
    assert res.returncode == 1 and "Permission denied" in res.stderr
    res = shell(adb_server, s, "mkdir -p /system/x")
    assert res.returncode == 1 and "Read-only file system" in res.stderr
    res = shell(adb_server, s, "cd /sdcard && cat ../../../../etc/hostname")
    assert res.returncode == 1
    res = shell(adb_server, s, "ls /data/data/com.example.hello/../../../../../tmp")
    assert res.returncode == 1 and "No such file or directory" in res.stderr
    res = shell(adb_server, s, "rm -rf /sdcard")
    assert res.returncode == 1 and shared_device.host_path("/sdcard").is_dir()


@pytest.mark.parametrize("direction", ["push", "pull"])
def test_drop_connection(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle, tmp_path: Path, direction: str
) -> None:
    s = virtual_device.serial
    src = tmp_path / "d.bin"
    digest = make_file(src, 2_000_000)
    if direction == "pull":
        src_remote = "/sdcard/d.bin"
        assert adb_server.run("-s", s, "push", str(src), src_remote).returncode == 0
    virtual_device.faults.drop_connection(after_bytes=300_000, direction=direction)
    if direction == "push":
        res = adb_server.run("-s", s, "push", str(src), "/sdcard/d.bin", timeout=60)
        assert res.returncode != 0
        assert not virtual_device.host_path("/sdcard/d.bin").exists()
        assert leftovers(virtual_device) == []
    else:
        out = tmp_path / "out.bin"
        res = adb_server.run("-s", s, "pull", "/sdcard/d.bin", str(out), timeout=60)
        assert res.returncode != 0
    # The adb server reconnects by itself and the device works again.
    wait_online(adb_server, s)
    res = adb_server.run("-s", s, "push", str(src), "/sdcard/d2.bin")
    assert res.returncode == 0, res.stderr
    assert sha256(virtual_device.host_path("/sdcard/d2.bin")) == digest


def test_truncate_pull(adb_server: AdbServer, virtual_device: VirtualDeviceHandle, tmp_path: Path) -> None:
    s = virtual_device.serial
    src = tmp_path / "t.bin"
    make_file(src, 1_000_000)
    assert adb_server.run("-s", s, "push", str(src), "/sdcard/t.bin").returncode == 0
    virtual_device.faults.truncate_pull(100_000)
    out = tmp_path / "t.out"
    adb_server.run("-s", s, "pull", "/sdcard/t.bin", str(out))
    assert out.stat().st_size == 100_000
    # One-shot: the next pull is complete.
    res = adb_server.run("-s", s, "pull", "/sdcard/t.bin", str(out))
    assert res.returncode == 0 and out.stat().st_size == 1_000_000


def test_stall(adb_server: AdbServer, virtual_device: VirtualDeviceHandle) -> None:
    s = virtual_device.serial
    stall = virtual_device.faults.stall(1.0, service="shell")
    res = shell(adb_server, s, "echo late")
    assert res.stdout == "late\n" and stall.fired == 1  # held, then delivered
    # Stalled forever: the client times out, the device carries on with other streams.
    virtual_device.faults.stall(None, service="shell")
    dev = adb_server.client(socket_timeout=1).device(s)
    with pytest.raises(Exception):  # noqa: B017 - adbutils raises its own timeout types
        dev.shell("echo never", timeout=1)
    assert shell(adb_server, s, "echo fine").stdout == "fine\n"


def test_throttle(adb_server: AdbServer, virtual_device: VirtualDeviceHandle, tmp_path: Path) -> None:
    s = virtual_device.serial
    src = tmp_path / "th.bin"
    digest = make_file(src, 1_000_000)
    fault = virtual_device.faults.throttle(2_000_000)  # 2 MB/s -> ~0.5 s
    assert adb_server.run("-s", s, "push", str(src), "/sdcard/th.bin").returncode == 0
    out = tmp_path / "th.out"
    assert adb_server.run("-s", s, "pull", "/sdcard/th.bin", str(out)).returncode == 0
    assert sha256(out) == digest
    assert fault.fired == 2  # persistent: applied to both


AM = f"am instrument -w -r -e size small -e model AVA-ONX {HELLO_COMPONENT}"


def test_am_instrument_hello(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    res = shell(adb_server, shared_device.serial, AM)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert "INSTRUMENTATION_STATUS: args=size=small,model=AVA-ONX" in lines
    assert "INSTRUMENTATION_STATUS: class=com.example.hello.HelloTest" in lines
    assert "INSTRUMENTATION_STATUS: numtests=1" in lines
    assert "INSTRUMENTATION_STATUS: test=sayHello" in lines
    codes = [ln for ln in lines if ln.startswith("INSTRUMENTATION_STATUS_CODE")]
    assert codes[-2:] == ["INSTRUMENTATION_STATUS_CODE: 1", "INSTRUMENTATION_STATUS_CODE: 0"]
    assert "OK (1 test)" in res.stdout
    assert lines[-1] == "INSTRUMENTATION_CODE: -1"
    # Without -r, am prints only the human-readable stream.
    res = shell(adb_server, shared_device.serial, f"am instrument -w {HELLO_COMPONENT}")
    assert "OK (1 test)" in res.stdout and "INSTRUMENTATION_STATUS" not in res.stdout


def test_am_instrument_unknown(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    comp = "com.nope.test/androidx.test.runner.AndroidJUnitRunner"
    res = shell(adb_server, shared_device.serial, f"am instrument -w -r {comp}")
    assert res.returncode == 1
    assert res.stdout.splitlines()[:4] == [
        f"INSTRUMENTATION_STATUS: Error=Unable to find instrumentation info for: ComponentInfo{{{comp}}}",
        "INSTRUMENTATION_STATUS: id=ActivityManagerService",
        "INSTRUMENTATION_STATUS_CODE: -1",
        f"onError: commandError=true message=INSTRUMENTATION_FAILED: {comp}",
    ]
    assert res.stderr.startswith(f"android.util.AndroidException: INSTRUMENTATION_FAILED: {comp}\n")


def test_am_instrument_crash(adb_server: AdbServer, virtual_devices) -> None:
    comp = "com.example.slow.test/androidx.test.runner.AndroidJUnitRunner"
    config = DeviceConfig(instrumentations={comp: "virtual_device.apps.builtin:slow"})
    (dev,) = virtual_devices(1, config=config)
    dev.faults.crash_instrumentation(after_writes=10)
    res = shell(adb_server, dev.serial, f"am instrument -w -r -e count 50 {comp}")
    assert res.returncode == 0
    assert res.stdout.endswith("INSTRUMENTATION_RESULT: shortMsg=Process crashed.\nINSTRUMENTATION_CODE: 0\n")
    assert res.stdout.count("INSTRUMENTATION_STATUS_CODE") < 50
    assert "OK (50 tests)" not in res.stdout
    # One-shot: the next run completes.
    res = shell(adb_server, dev.serial, f"am instrument -w -r -e count 3 {comp}")
    assert res.stdout.endswith("INSTRUMENTATION_CODE: -1\n")
