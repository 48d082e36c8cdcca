"""Transport and shell through the real adb server binary."""

from __future__ import annotations

import hashlib

from virtual_device.host import VirtualDeviceHandle
from virtual_device.testing.pytest_plugin import AdbServer

from .conftest import shell


def test_devices_lists_model(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    out = adb_server.run("devices", "-l").stdout
    line = next(ln for ln in out.splitlines() if ln.startswith(shared_device.serial))
    assert " device " in line
    assert "model:AVA_Virtual_Device" in line
    assert "product:ava_virtual" in line


def test_private_server_env(adb_server: AdbServer) -> None:
    import os

    assert os.environ["ANDROID_ADB_SERVER_PORT"] == str(adb_server.port)
    assert adb_server.port != 5037


def test_echo_and_exit_codes(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    res = shell(adb_server, shared_device.serial, "echo hi")
    assert (res.returncode, res.stdout) == (0, "hi\n")
    assert shell(adb_server, shared_device.serial, "false").returncode == 1
    assert shell(adb_server, shared_device.serial, "true").returncode == 0
    assert shell(adb_server, shared_device.serial, "exit 3").returncode == 3
    res = shell(adb_server, shared_device.serial, "echo a; exit 42; echo never")
    assert (res.returncode, res.stdout) == (42, "a\n")


def test_unknown_command(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    res = shell(adb_server, shared_device.serial, "frobnicate --now")
    assert res.returncode == 127
    assert res.stderr == "/system/bin/sh: frobnicate: not found\n"
    assert res.stdout == ""


def test_operators_quoting_and_status(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    s = shared_device.serial
    assert shell(adb_server, s, "false && echo no || echo yes").stdout == "yes\n"
    assert shell(adb_server, s, "true && echo yes; false; echo $?").stdout == "yes\n1\n"
    assert shell(adb_server, s, "echo 'a;b' \"c && d\"").stdout == "a;b c && d\n"
    assert shell(adb_server, s, "echo $EXTERNAL_STORAGE").stdout == "/sdcard\n"


def test_adbutils_shell_v1_and_v2(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    dev = adb_server.client().device(shared_device.serial)
    assert dev.shell("echo v1; nosuch").strip().splitlines() == ["v1", "/system/bin/sh: nosuch: not found"]
    res = dev.shell2("echo v1b && false")  # the `; echo X4EXIT:$?` path
    assert (res.returncode, res.output.strip()) == (1, "v1b")
    res = dev.shell2("echo v2 && exit 5", v2=True)
    assert (res.returncode, res.output.strip()) == (5, "v2")
    res = dev.shell2("false", v2=True)
    assert res.returncode == 1
    assert dev.getprop("ro.product.model") == "AVA Virtual Device"
    assert dev.prop.model == "AVA Virtual Device"


def test_getprop(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    s = shared_device.serial
    out = shell(adb_server, s, "getprop").stdout
    for key in (
        "ro.product.model",
        "ro.product.manufacturer",
        "ro.build.version.sdk",
        "ro.build.version.release",
        "ro.product.cpu.abi",
        "ro.serialno",
    ):
        assert f"[{key}]: [" in out
    assert f"[ro.serialno]: [{s}]" in out
    assert shell(adb_server, s, "getprop ro.build.version.sdk").stdout == "34\n"
    assert shell(adb_server, s, "getprop no.such.prop").stdout == "\n"


def test_emulator_props(adb_server: AdbServer, virtual_devices) -> None:
    """A virtual device declares itself an emulator, as Android emulators do; emulator=False
    models a phone, where the props are absent."""
    emulator, phone = virtual_devices(1)[0], virtual_devices(1, emulator=False)[0]
    for key in ("ro.kernel.qemu", "ro.boot.qemu"):
        assert shell(adb_server, emulator.serial, f"getprop {key}").stdout == "1\n"
        assert shell(adb_server, phone.serial, f"getprop {key}").stdout == "\n"
    assert "[ro.kernel.qemu]: [1]" in shell(adb_server, emulator.serial, "getprop").stdout
    assert "qemu" not in shell(adb_server, phone.serial, "getprop").stdout


def test_file_commands(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    s = shared_device.serial
    script = (
        "mkdir -p /sdcard/t/a/b && echo hello > /sdcard/t/a/b/f.txt && cp /sdcard/t/a/b/f.txt /sdcard/t/g.txt"
        " && mv /sdcard/t/g.txt /sdcard/t/h.txt && cat /sdcard/t/h.txt && ls /sdcard/t"
    )
    res = shell(adb_server, s, script)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "hello\na\nh.txt\n"
    assert shared_device.host_path("/sdcard/t/h.txt").read_text() == "hello\n"
    # /storage/emulated/0 is the same storage as /sdcard.
    assert shell(adb_server, s, "cat /storage/emulated/0/t/h.txt").stdout == "hello\n"
    res = shell(adb_server, s, "stat -c '%s %n %F' /sdcard/t/h.txt")
    assert res.stdout == "6 /sdcard/t/h.txt regular file\n"
    mtime = int(shared_device.host_path("/sdcard/t/h.txt").stat().st_mtime)
    assert shell(adb_server, s, "stat -c '%s %Y' /sdcard/t/h.txt").stdout == f"6 {mtime}\n"
    assert shell(adb_server, s, "stat -c %F /sdcard/t").stdout == "directory\n"
    res = shell(adb_server, s, "sha256sum /sdcard/t/h.txt")
    digest = hashlib.sha256(b"hello\n").hexdigest()
    assert res.stdout == f"{digest}  /sdcard/t/h.txt\n"
    res = shell(adb_server, s, "ls -l /sdcard/t")
    assert res.stdout.splitlines()[0].startswith("drwx") and res.stdout.splitlines()[1].endswith(" h.txt")
    assert ".hidden" in shell(adb_server, s, "touch /sdcard/t/.hidden; ls -a /sdcard/t").stdout
    assert ".hidden" not in shell(adb_server, s, "ls /sdcard/t").stdout
    res = shell(adb_server, s, "rm /sdcard/t/a")
    assert res.returncode == 1 and "Is a directory" in res.stderr
    assert shell(adb_server, s, "rm -r /sdcard/t && ls /sdcard/t").returncode == 1
    res = shell(adb_server, s, "rm -f /sdcard/nope; echo $?")
    assert res.stdout == "0\n"
    res = shell(adb_server, s, "cat /sdcard/nope")
    assert res.returncode == 1 and res.stderr == "cat: /sdcard/nope: No such file or directory\n"
    assert shell(adb_server, s, "echo x | grep x").stdout == "x\n"


def test_df(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    res = shell(adb_server, shared_device.serial, "df -k /sdcard")
    header, row = res.stdout.splitlines()
    assert header.split()[:4] == ["Filesystem", "1K-blocks", "Used", "Available"]
    fields = row.split()
    cap = shared_device.config.capacity_bytes // 1024
    assert int(fields[1]) == cap
    assert int(fields[2]) + int(fields[3]) == cap
    assert fields[-1] == "/storage/emulated"
    assert "/data" in shell(adb_server, shared_device.serial, "df").stdout


def test_id_pm_dumpsys(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    s = shared_device.serial
    assert shell(adb_server, s, "id").stdout.startswith("uid=2000(shell) gid=2000(shell)")
    pkgs = shell(adb_server, s, "pm list packages").stdout.splitlines()
    assert "package:com.augmentalis.ava" in pkgs and "package:com.example.hello.test" in pkgs
    assert shell(adb_server, s, "pm list packages augmentalis").stdout == "package:com.augmentalis.ava\n"
    instr = shell(adb_server, s, "pm list instrumentation").stdout
    assert instr == (
        "instrumentation:com.example.hello.test/androidx.test.runner.AndroidJUnitRunner (target=com.example.hello)\n"
    )
    res = shell(adb_server, s, "pm path com.augmentalis.ava")
    assert res.returncode == 0 and res.stdout.startswith("package:/data/app/") and res.stdout.endswith("/base.apk\n")
    assert shell(adb_server, s, "pm path com.nope").returncode == 1
    bat = shell(adb_server, s, "dumpsys battery").stdout
    assert "  level: 85\n" in bat and "  temperature: 295\n" in bat and "  status: 2\n" in bat


def test_run_as(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    s = shared_device.serial
    res = shell(adb_server, s, "run-as com.augmentalis.ava pwd")
    assert (res.returncode, res.stdout) == (0, "/data/data/com.augmentalis.ava\n")
    res = shell(adb_server, s, "run-as com.augmentalis.ava ls files")
    assert res.returncode == 0
    res = shell(adb_server, s, "run-as com.example.release id")
    assert res.returncode == 1 and res.stderr == "run-as: package not debuggable: com.example.release\n"
    res = shell(adb_server, s, "run-as com.unknown id")
    assert res.returncode == 1 and res.stderr == "run-as: unknown package: com.unknown\n"
    assert shell(adb_server, s, "run-as com.augmentalis.ava false").returncode == 1


def test_external_files_dirs_exist(shared_device: VirtualDeviceHandle) -> None:
    for pkg in ("com.augmentalis.ava", "com.example.hello"):
        assert shared_device.host_path(f"/sdcard/Android/data/{pkg}/files").is_dir()


def test_refused_service_and_stdin_script(adb_server: AdbServer, shared_device: VirtualDeviceHandle) -> None:
    # An unknown service is refused with CLSE, which the adb CLI reports as an error.
    res = adb_server.run("-s", shared_device.serial, "disable-verity")
    assert res.returncode != 0
    # And the device is still fine.
    assert shell(adb_server, shared_device.serial, "echo ok").stdout == "ok\n"


def test_stdin_v2(adb_server: AdbServer, shared_device: VirtualDeviceHandle, tmp_path) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(b"line1\nline2\n")
    with open(src, "rb") as fh:
        res = adb_server.run("-s", shared_device.serial, "shell", "cat > /sdcard/stdin.txt", stdin=fh)
    assert res.returncode == 0, res.stderr
    assert shared_device.host_path("/sdcard/stdin.txt").read_bytes() == b"line1\nline2\n"
    with open(src, "rb") as fh:
        res = adb_server.run("-s", shared_device.serial, "shell", "grep 2", stdin=fh)
    assert res.stdout == "line2\n"
