"""Services a phone answers besides shell and sync, through the real adb server (and, for the
stream that never ends, the raw port): root/unroot/remount as a user build, tcpip/usb, reverse,
track-jdwp, reboot; and stdin reaching v1/exec commands."""

from __future__ import annotations

import hashlib
import subprocess
import time

from tests.virtual_device.test_protocol_legacy import LegacyHost
from virtual_device.host import VirtualDeviceHandle
from virtual_device.testing.pytest_plugin import AdbServer
from virtual_device.transport import protocol as p


def adb_cli(adb_server: AdbServer, dev: VirtualDeviceHandle, *args: str) -> list[str]:
    return [adb_server.adb_path, "-P", str(adb_server.port), "-s", dev.serial, *args]


def adb(adb_server: AdbServer, dev: VirtualDeviceHandle, *args: str) -> subprocess.CompletedProcess[str]:
    return adb_server.run("-s", dev.serial, *args, timeout=60)


def test_root_remount_tcpip_usb_answered_as_a_user_build(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle
) -> None:
    expected = {
        ("root",): "adbd cannot run as root in production builds\n",
        ("unroot",): "adbd not running as root\n",
        ("remount",): 'Not running as root. Try "adb root" first.\n',
        ("tcpip", "5555"): "restarting in TCP mode port: 5555\n",
        ("usb",): "restarting in USB mode\n",
    }
    for args, out in expected.items():
        res = adb(adb_server, virtual_device, *args)
        assert (res.returncode, res.stdout) == (0, out), (args, res)
    # Still the same device, still online.
    assert adb(adb_server, virtual_device, "shell", "echo up").stdout == "up\n"
    # Its props say what those answers say: a user build with release keys.
    props = {
        name: adb(adb_server, virtual_device, "shell", f"getprop {name}").stdout.strip()
        for name in ("ro.build.type", "ro.build.tags", "ro.debuggable", "ro.secure", "ro.build.fingerprint")
    }
    assert props["ro.build.fingerprint"].endswith(":user/release-keys")
    del props["ro.build.fingerprint"]
    assert props == {"ro.build.type": "user", "ro.build.tags": "release-keys", "ro.debuggable": "0", "ro.secure": "1"}


def test_reverse_list_is_empty_and_forwarding_fails_cleanly(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle
) -> None:
    res = adb(adb_server, virtual_device, "reverse", "--list")
    assert (res.returncode, res.stdout.strip()) == (0, "")
    assert adb(adb_server, virtual_device, "reverse", "--remove-all").returncode == 0
    res = adb(adb_server, virtual_device, "reverse", "tcp:8081", "tcp:8081")
    assert res.returncode != 0 and "cannot bind listener" in res.stderr


def test_track_jdwp_is_an_empty_list_kept_open(virtual_device: VirtualDeviceHandle) -> None:
    host = LegacyHost(virtual_device.port)
    mine, theirs = host.open("track-jdwp")
    assert host.recv() == (p.A_WRTE, theirs, mine, b"0000")
    host.send(p.A_OKAY, mine, theirs)
    host.sock.settimeout(0.3)
    try:
        extra = host.recv()
    except TimeoutError:
        extra = None
    assert extra is None  # no CLSE: the list stays open for updates
    host.sock.settimeout(5)
    host.close_first(mine, theirs)
    host.close()


def test_exec_in_and_v1_stdin_reach_the_command(adb_server: AdbServer, virtual_device: VirtualDeviceHandle) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB, binary
    res = subprocess.run(
        [
            adb_server.adb_path,
            "-P",
            str(adb_server.port),
            "-s",
            virtual_device.serial,
            "exec-in",
            "cat > /sdcard/in.bin",
        ],
        input=data,
        capture_output=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    target = virtual_device.host_path("/sdcard/in.bin")
    # adb exec-in returns once it has sent everything; the device finishes writing after the EOF.
    for _ in range(200):
        if target.exists() and target.stat().st_size == len(data):
            break
        time.sleep(0.05)
    assert target.read_bytes() == data
    res = subprocess.run(
        [
            adb_server.adb_path,
            "-P",
            str(adb_server.port),
            "-s",
            virtual_device.serial,
            "exec-out",
            "sha256sum /sdcard/in.bin",
        ],
        capture_output=True,
        timeout=60,
    )
    assert res.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_v1_script_on_stdin_runs_line_by_line(virtual_device: VirtualDeviceHandle) -> None:
    host = LegacyHost(virtual_device.port)
    mine, theirs = host.open("shell:")
    host.write(mine, theirs, b"echo one\necho tw")
    # The first line runs as soon as it arrives, before the script ends.
    cmd, _, _, payload = host.recv()
    assert (cmd, payload) == (p.A_WRTE, b"one\n")
    host.send(p.A_OKAY, mine, theirs)
    host.write(mine, theirs, b"o\n")
    cmd, _, _, payload = host.recv()
    assert (cmd, payload) == (p.A_WRTE, b"two\n")
    host.send(p.A_OKAY, mine, theirs)
    host.close_first(mine, theirs)
    host.close()


def test_reboot_goes_offline_and_comes_back_with_its_files(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle
) -> None:
    virtual_device.host_path("/sdcard/keep.txt").write_text("kept")
    assert adb(adb_server, virtual_device, "reboot").returncode == 0
    # Straight after the reboot the boot is not complete (or the device is already offline).
    res = adb(adb_server, virtual_device, "shell", "getprop sys.boot_completed")
    assert res.returncode != 0 or res.stdout == "0\n", res
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        res = adb(adb_server, virtual_device, "shell", "getprop sys.boot_completed")
        seen.append(res.stdout.strip() if res.returncode == 0 else "offline")
        if seen[-1] == "1":
            break
        time.sleep(0.2)
    assert seen[-1] == "1", seen
    assert virtual_device.device.boots == 1
    assert adb(adb_server, virtual_device, "shell", "cat /sdcard/keep.txt").stdout == "kept"


def test_abb_exec_and_abb_run_binder_shell_commands(virtual_device: VirtualDeviceHandle) -> None:
    """abb_exec:/abb: (NUL-separated arguments) answer as `cmd SERVICE ARGS...`: raw, or in shell
    v2 packets. Not advertised (a newer adb would try incremental installs), but answered."""
    host = LegacyHost(virtual_device.port)
    mine, theirs = host.open("abb_exec:settings\0get\0global\0enable_adb_incremental_install_default")
    assert host.read_until_close(mine, theirs) == b"0\n"  # no incremental installs here
    mine, theirs = host.open("abb_exec:package\0list\0packages")
    listed = host.read_until_close(mine, theirs).decode().splitlines()
    assert listed and all(line.startswith("package:") for line in listed)
    mine, theirs = host.open("abb:settings\0get\0global\0adb_enabled")
    packets = host.read_until_close(mine, theirs)
    assert packets == bytes([1]) + (2).to_bytes(4, "little") + b"1\n" + bytes([3]) + (1).to_bytes(4, "little") + b"\0"
    host.close()
