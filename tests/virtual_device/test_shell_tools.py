"""Shell tools adb and test scripts run: export/exec/env/which/test, head/tail/cut, find/chmod, ps,
getenforce, settings, `< /dev/null`, owners of ls -l and stat, ls -R, uname -m, bugreportz (and `adb bugreport`),
`adb shell -t` pty output."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from virtual_device.config import DeviceConfig
from virtual_device.faults import FaultInjector
from virtual_device.host import VirtualDeviceHandle
from virtual_device.storage import Storage
from virtual_device.testing.pytest_plugin import AdbServer

from .test_shell_unit import FakeDevice, sh


@pytest.fixture
def device(tmp_path: Path) -> FakeDevice:
    config = DeviceConfig(packages=["com.example.hello"], capacity_bytes=1_000_000)
    return FakeDevice(config, Storage(tmp_path, config.capacity_bytes, config.all_packages), FaultInjector())


def test_export_exec_env_which(device: FakeDevice) -> None:
    assert sh(device, "export FOO=bar; echo $FOO") == (0, "bar\n", "")
    assert sh(device, "export FOO=1 BAR=2; env | grep FOO; env | grep BAR")[1] == "FOO=1\nBAR=2\n"
    assert sh(device, "exec echo hi; echo never") == (0, "hi\n", "")
    assert sh(device, "exec false; echo never")[:2] == (1, "")
    assert sh(device, "export 1X=2")[0] == 1
    assert sh(device, "which ls logcat nope") == (1, "/system/bin/ls\n/system/bin/logcat\n", "")
    assert sh(device, "printenv TMPDIR") == (0, "/data/local/tmp\n", "")


def test_test_and_brackets(device: FakeDevice) -> None:
    sh(device, "echo x > /data/local/tmp/f; mkdir /data/local/tmp/d; touch /data/local/tmp/empty")
    cases = {
        "test -f /data/local/tmp/f": 0,
        "[ -d /data/local/tmp/d ]": 0,
        "[ -f /data/local/tmp/d ]": 1,
        "[ -e /data/local/tmp/missing ]": 1,
        "[ -s /data/local/tmp/empty ]": 1,
        "[ -s /data/local/tmp/f ]": 0,
        "[ ! -e /data/local/tmp/missing ]": 0,
        "[ a = a ]": 0,
        "[ a != a ]": 1,
        "[ 3 -gt 2 -a 1 -lt 2 ]": 0,
        "[ -z '' ]": 0,
        "[ -n '' ]": 1,
        "[ -d / ]": 0,
        "[ 1 -eq x ]": 2,
    }
    assert {cmd: sh(device, cmd)[0] for cmd in cases} == cases


def test_head_tail_cut(device: FakeDevice) -> None:
    sh(device, "echo 'a,1,x' > /data/local/tmp/t; echo 'b,2,y' >> /data/local/tmp/t; echo 'c,3,z' >> /data/local/tmp/t")
    assert sh(device, "head -n 2 /data/local/tmp/t")[1] == "a,1,x\nb,2,y\n"
    assert sh(device, "head -1 /data/local/tmp/t")[1] == "a,1,x\n"
    assert sh(device, "tail -n 1 /data/local/tmp/t")[1] == "c,3,z\n"
    assert sh(device, "tail -n +2 /data/local/tmp/t")[1] == "b,2,y\nc,3,z\n"
    assert sh(device, "head -c 3 /data/local/tmp/t")[1] == "a,1"
    assert sh(device, "cut -d , -f 2 /data/local/tmp/t")[1] == "1\n2\n3\n"
    assert sh(device, "cut -d, -f1,3 /data/local/tmp/t")[1] == "a,x\nb,y\nc,z\n"
    assert sh(device, "cut -c 1-3 /data/local/tmp/t | tail -n 1")[1] == "c,3\n"
    assert sh(device, "cat /data/local/tmp/t | head -n 1 | cut -d , -f 2-")[1] == "1,x\n"
    assert sh(device, "cat < /dev/null") == (0, "", "")
    assert sh(device, "head -n 1 /data/local/tmp/t /data/local/tmp/t")[1] == (
        "==> /data/local/tmp/t <==\na,1,x\n\n==> /data/local/tmp/t <==\na,1,x\n"
    )


def test_ls_recursive_lists_each_directory_depth_first(device: FakeDevice) -> None:
    sh(device, "mkdir -p /data/local/tmp/r/b/c /data/local/tmp/r/a; touch /data/local/tmp/r/f /data/local/tmp/r/b/c/g")
    assert sh(device, "ls -R /data/local/tmp/r") == (
        0,
        "/data/local/tmp/r:\na\nb\nf\n\n/data/local/tmp/r/a:\n\n/data/local/tmp/r/b:\nc\n\n/data/local/tmp/r/b/c:\ng\n",
        "",
    )
    listed = sh(device, "cd /data/local/tmp/r/b; ls -lR .")[1]
    assert listed.startswith(".:\n") and "\n\n./c:\n" in listed and listed.rstrip().endswith(" g")
    assert " shell shell " in listed


def test_find_and_chmod(device: FakeDevice) -> None:
    sh(
        device,
        "mkdir -p /sdcard/out/m1 /sdcard/out/m2; echo 1 > /sdcard/out/m1/r.json; echo 22 > /sdcard/out/m2/r.json",
    )
    sh(device, "touch /sdcard/out/m2/e.npy")
    assert sh(device, "find /sdcard/out -name '*.json'")[1] == "/sdcard/out/m1/r.json\n/sdcard/out/m2/r.json\n"
    assert sh(device, "find /sdcard/out -type d")[1] == "/sdcard/out\n/sdcard/out/m1\n/sdcard/out/m2\n"
    assert sh(device, "find /sdcard/out -maxdepth 1 -mindepth 1")[1] == "/sdcard/out/m1\n/sdcard/out/m2\n"
    assert sh(device, "find /sdcard/out -type f -size -1c")[1] == "/sdcard/out/m2/e.npy\n"
    code, _, err = sh(device, "find /sdcard/nope")
    assert code == 1 and "find: /sdcard/nope: No such file or directory" in err
    sh(device, "echo x > /data/local/tmp/s")
    assert sh(device, "chmod 755 /data/local/tmp/s; stat -c %a /data/local/tmp/s")[1] == "755\n"
    assert sh(device, "chmod go-rx /data/local/tmp/s; stat -c %A /data/local/tmp/s")[1] == "-rwx------\n"
    assert sh(device, "chmod u=rw,g+r /data/local/tmp/s; stat -c %a /data/local/tmp/s")[1] == "640\n"
    assert sh(device, "chmod 755 /system/bin/sh")[0] == 1
    assert sh(device, "chmod zz /data/local/tmp/s")[0] == 1


def test_owners_agree_between_ls_and_stat(device: FakeDevice) -> None:
    sh(device, "echo x > /data/local/tmp/f; echo y > /sdcard/g; mkdir /sdcard/dir")
    for path in ("/data/local/tmp/f", "/sdcard/g", "/sdcard/dir", "/data/data/com.example.hello/files"):
        line = sh(device, f"ls -ld {path}")[1].split()
        assert (line[2], line[3]) == tuple(sh(device, f"stat -c '%U %G' {path}")[1].split()), path
    assert sh(device, "stat -c '%U %G %u' /data/local/tmp/f")[1] == "shell shell 2000\n"
    assert sh(device, "stat -c '%U %G' /sdcard/g")[1] == "root sdcard_rw\n"
    user = sh(device, "stat -c %U /data/data/com.example.hello/files")[1].strip()
    assert user.startswith("u0_a")
    assert sh(device, "run-as com.example.hello whoami")[1].strip() == user


@pytest.mark.parametrize(
    ("abi", "machine"), [("arm64-v8a", "aarch64"), ("x86_64", "x86_64"), ("armeabi-v7a", "armv8l")]
)
def test_uname_machine_follows_the_abi(tmp_path: Path, abi: str, machine: str) -> None:
    config = DeviceConfig(abi=abi)
    dev = FakeDevice(config, Storage(tmp_path, config.capacity_bytes, config.all_packages), FaultInjector())
    assert sh(dev, "uname -m") == (0, f"{machine}\n", "")
    assert sh(dev, "uname -a")[1].split()[-2] == machine
    assert sh(dev, "uname")[1] == "Linux\n"
    assert sh(dev, "uname -sr")[1] == "Linux 6.1.0-android14-11\n"


def test_ps_getenforce_settings_cmd(device: FakeDevice) -> None:
    ps = sh(device, "ps")[1].splitlines()
    assert ps[0].split() == ["USER", "PID", "PPID", "VSZ", "RSS", "WCHAN", "ADDR", "S", "NAME"]
    assert [ln.split()[-1] for ln in ps[1:]] == ["sh", "ps"]
    every = sh(device, "ps -A")[1]
    assert " system_server\n" in every and " init\n" in every
    assert sh(device, "pidof system_server") == (0, "612\n", "")
    assert sh(device, "pidof nothing")[0] == 1
    assert sh(device, "getenforce") == (0, "Enforcing\n", "")
    assert sh(device, "settings get global adb_enabled") == (0, "1\n", "")
    assert sh(device, "settings get system nope") == (0, "null\n", "")
    assert sh(device, "settings put global window_animation_scale 0; settings get global window_animation_scale")[
        1
    ] == ("0\n")
    assert len(sh(device, "settings --user 0 get secure android_id")[1].strip()) == 16
    assert sh(device, "cmd package list packages hello") == (
        0,
        "package:com.example.hello\npackage:com.example.hello.test\n",
        "",
    )
    assert sh(device, "bugreportz -v") == (0, "", "1.2\n")


# --- through adb ------------------------------------------------------------------------------
def test_adb_bugreport_pulls_a_zip_with_the_log(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle, tmp_path: Path
) -> None:
    dev = virtual_device
    run = adb_server.run(
        "-s", dev.serial, "shell", "am instrument -w -r com.example.hello.test/androidx.test.runner.AndroidJUnitRunner"
    )
    assert run.returncode == 0
    res = adb_server.run("-s", dev.serial, "bugreport", str(tmp_path / "br.zip"), timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    with zipfile.ZipFile(tmp_path / "br.zip") as zf:
        main = zf.read("main_entry.txt").decode()
        text = zf.read(main).decode()
    assert "[ro.product.model]: [AVA Virtual Device]" in text
    assert "I TestRunner: run finished: 1 tests, 0 failed, 0 ignored" in text
    # The report stays on the device, as bugreports do.
    assert adb_server.run("-s", dev.serial, "shell", "ls /data/local/tmp/bugreports").stdout.endswith(".zip\n")


def test_adb_shell_owners_and_uname(adb_server: AdbServer, virtual_device: VirtualDeviceHandle) -> None:
    dev = virtual_device
    out = adb_server.run("-s", dev.serial, "shell", "echo x > /data/local/tmp/o; ls -l /data/local/tmp/o; uname -m")
    lines = out.stdout.splitlines()
    assert lines[0].split()[2:4] == ["shell", "shell"]
    assert lines[1] == "aarch64"


def test_adb_shell_t_pty_output_has_crlf_and_one_stream(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle
) -> None:
    def shell(*args: str) -> tuple[bytes, bytes]:
        cli = [adb_server.adb_path, "-P", str(adb_server.port), "-s", virtual_device.serial, "shell", *args]
        res = subprocess.run(cli, capture_output=True, stdin=subprocess.DEVNULL, timeout=60)  # bytes: \r kept
        return res.stdout, res.stderr

    # -t -t forces the pty (stdin here is no terminal): ONLCR, stderr on the same terminal.
    assert shell("-t", "-t", "echo a; ls /nope") == (b"a\r\nls: /nope: No such file or directory\r\n", b"")
    # Without a pty (and for v1 commands, raw like adbd): plain newlines, stderr apart.
    assert shell("-T", "echo a; ls /nope") == (b"a\n", b"ls: /nope: No such file or directory\n")
    assert shell("-x", "-t", "echo a") == (b"a\n", b"")


def test_pm_clear_grant_revoke(device: FakeDevice) -> None:
    sh(device, "echo x > /sdcard/Android/data/com.example.hello/files/f")
    assert sh(device, "pm clear com.example.hello") == (0, "Success\n", "")
    assert sh(device, "ls /sdcard/Android/data/com.example.hello/files") == (0, "", "")
    assert sh(device, "pm grant com.example.hello android.permission.CAMERA")[0] == 0
    assert sh(device, "pm revoke com.example.hello android.permission.CAMERA")[0] == 0
    code, _, err = sh(device, "pm clear com.example.nope")
    assert code == 255 and "Unknown package: com.example.nope" in err
