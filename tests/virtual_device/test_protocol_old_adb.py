"""Debian's adb 29 (`apt-get install adb`) as a second, older client of the virtual device: its
own server on a private port, shell v1 and v2, stdin, push/pull, the user-build services.
Skipped when /usr/bin/adb is absent."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from virtual_device import adbtools
from virtual_device.host import DeviceHost
from virtual_device.testing.pytest_plugin import AdbServer, start_private_server

OLD_ADB = Path("/usr/bin/adb")

pytestmark = pytest.mark.skipif(not OLD_ADB.exists(), reason="Debian's adb is not installed (apt-get install adb)")


@pytest.fixture(scope="module")
def old_server() -> Iterator[AdbServer]:
    server = start_private_server(str(OLD_ADB.resolve()))
    try:
        yield server
    finally:
        server.stop()


def test_old_adb_shell_stdin_push_pull(old_server: AdbServer, tmp_path: Path) -> None:
    with DeviceHost() as host:
        dev = host.add_device(sandbox=tmp_path / "sandbox")
        adbtools.connect(old_server.adb_path, old_server.port, dev.serial)
        try:

            def adb(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
                return old_server.run("-s", dev.serial, *args, timeout=60, **kwargs)

            assert adb("shell", "echo v2").stdout == "v2\n"
            assert adb("shell", "-x", "echo v1").stdout == "v1\n"
            assert adb("shell", "exit 3").returncode == 3  # v2 exit codes
            stdin_file = tmp_path / "stdin.txt"
            stdin_file.write_text("from old adb\n")
            with open(stdin_file, "rb") as fh:
                res = adb("shell", "cat > /sdcard/stdin.txt", stdin=fh)
            assert res.returncode == 0, res.stderr
            assert dev.host_path("/sdcard/stdin.txt").read_text() == "from old adb\n"
            src = tmp_path / "blob.bin"
            src.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
            assert adb("push", str(src), "/sdcard/blob.bin").returncode == 0
            assert dev.host_path("/sdcard/blob.bin").read_bytes() == src.read_bytes()
            back = tmp_path / "back.bin"
            assert adb("pull", "/sdcard/blob.bin", str(back)).returncode == 0
            assert back.read_bytes() == src.read_bytes()
            res = subprocess.run(
                [old_server.adb_path, "-P", str(old_server.port), "-s", dev.serial, "exec-in", "cat > /sdcard/in.txt"],
                input=b"exec-in bytes",
                capture_output=True,
                timeout=60,
            )
            assert res.returncode == 0, res.stderr
            target = dev.host_path("/sdcard/in.txt")
            for _ in range(200):
                if target.exists() and target.read_bytes() == b"exec-in bytes":
                    break
                time.sleep(0.05)
            assert target.read_bytes() == b"exec-in bytes"
            assert adb("root").stdout == "adbd cannot run as root in production builds\n"
        finally:
            adbtools.disconnect(old_server.adb_path, old_server.port, dev.serial)
