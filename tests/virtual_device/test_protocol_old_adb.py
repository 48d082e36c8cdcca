"""Debian's adb 29 (`apt-get install adb`, `make install` does) as a second, older client of the
virtual device: its own server on a private port; devices, shell v1 and v2 with stdin, exec-in,
push/pull, install/uninstall and the user-build services. The project's own adb stays the adbutils
wheel's (adbtools.find_adb); this file alone runs /usr/bin/adb. Skipped when it is absent."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.virtual_device import test_packages
from tests.virtual_device.test_stdin import check_v1_cat_echoes_stdin, check_v1_cat_writes_a_file_as_data_comes
from virtual_device import adbtools
from virtual_device.host import DeviceHost, VirtualDeviceHandle
from virtual_device.testing.pytest_plugin import AdbServer, start_private_server

OLD_ADB = Path("/usr/bin/adb")

pytestmark = pytest.mark.skipif(not OLD_ADB.exists(), reason="Debian's adb is not installed (apt-get install adb)")

Adb = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def old_server() -> Iterator[AdbServer]:
    server = start_private_server(str(OLD_ADB.resolve()))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def old_device(old_server: AdbServer, tmp_path: Path) -> Iterator[VirtualDeviceHandle]:
    with DeviceHost() as host:
        dev = host.add_device(sandbox=tmp_path / "sandbox")
        adbtools.connect(old_server.adb_path, old_server.port, dev.serial)
        try:
            yield dev
        finally:
            adbtools.disconnect(old_server.adb_path, old_server.port, dev.serial)


@pytest.fixture
def adb(old_server: AdbServer, old_device: VirtualDeviceHandle) -> Adb:
    def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return old_server.run("-s", old_device.serial, *args, timeout=120, **kwargs)

    return run


def test_old_adb_is_version_29_and_lists_the_device(
    old_server: AdbServer, old_device: VirtualDeviceHandle, adb: Adb
) -> None:
    assert "\nVersion 29." in old_server.run("version").stdout  # platform-tools 29: an older server
    assert Path(adbtools.find_adb()).resolve() != OLD_ADB.resolve()  # the project's default adb is not this one
    listed = old_server.run("devices", "-l").stdout
    cfg = old_device.config
    line = next(line for line in listed.splitlines() if line.startswith(old_device.serial))
    assert line.split()[1] == "device"
    model = cfg.model.replace(" ", "_")  # adb lists spaces as underscores
    assert f"product:{cfg.product} model:{model} device:{cfg.device}" in line
    assert adb("get-state").stdout == "device\n"
    assert adb("shell", "getprop ro.build.type").stdout == "user\n"


def test_old_adb_shell_v1_v2_stdin_and_exec_in(
    old_server: AdbServer, old_device: VirtualDeviceHandle, adb: Adb, tmp_path: Path
) -> None:
    assert adb("shell", "echo v2").stdout == "v2\n"
    assert adb("shell", "-x", "echo v1").stdout == "v1\n"
    assert adb("shell", "exit 3").returncode == 3  # v2 exit codes
    stdin_file = tmp_path / "stdin.txt"
    stdin_file.write_text("from old adb\n")
    with open(stdin_file, "rb") as fh:
        res = adb("shell", "cat > /sdcard/stdin.txt", stdin=fh)
    assert res.returncode == 0, res.stderr
    assert old_device.host_path("/sdcard/stdin.txt").read_text() == "from old adb\n"
    check_v1_cat_echoes_stdin(old_server, old_device.serial, ("shell", "-x"))
    target = old_device.host_path("/sdcard/streamed.bin")
    check_v1_cat_writes_a_file_as_data_comes(old_server, old_device.serial, target, 1024 * 1024 + 3)
    # adb 29 sends exec-in's last WRTE and its CLSE at once: the CLSE is the command's EOF.
    res = subprocess.run(
        [old_server.adb_path, "-P", str(old_server.port), "-s", old_device.serial, "exec-in", "cat > /sdcard/in.txt"],
        input=b"exec-in bytes",
        capture_output=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    written = old_device.host_path("/sdcard/in.txt")
    for _ in range(200):
        if written.exists() and written.read_bytes() == b"exec-in bytes":
            break
        time.sleep(0.05)
    assert written.read_bytes() == b"exec-in bytes"


def test_old_adb_push_pull_and_user_build_services(old_device: VirtualDeviceHandle, adb: Adb, tmp_path: Path) -> None:
    src = tmp_path / "blob.bin"
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    assert adb("push", str(src), "/sdcard/blob.bin").returncode == 0
    assert old_device.host_path("/sdcard/blob.bin").read_bytes() == src.read_bytes()
    back = tmp_path / "back.bin"
    assert adb("pull", "/sdcard/blob.bin", str(back)).returncode == 0
    assert back.read_bytes() == src.read_bytes()
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a.txt").write_text("a")
    assert adb("push", str(tree), "/sdcard/tree").returncode == 0
    assert old_device.host_path("/sdcard/tree/sub/a.txt").read_text() == "a"
    assert adb("root").stdout == "adbd cannot run as root in production builds\n"


@test_packages.pytestmark
def test_old_adb_install_and_uninstall(adb: Adb, tmp_path: Path) -> None:
    signed = test_packages.build_apk(tmp_path, "com.example.old", version=3)
    res = adb("install", str(signed))
    assert (res.returncode, res.stdout.splitlines()[-1:]) == (0, ["Success"]), res.stdout + res.stderr
    assert "package:com.example.old" in adb("shell", "pm list packages").stdout.splitlines()
    unsigned = test_packages.build_apk(tmp_path, "com.example.unsigned", sign=False)
    res = adb("install", str(unsigned))
    assert res.returncode != 0
    assert "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES" in res.stdout + res.stderr
    assert adb("uninstall", "com.example.old").stdout == "Success\n"
    assert "package:com.example.old" not in adb("shell", "pm list packages").stdout.splitlines()
