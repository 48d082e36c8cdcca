"""The client's stdin reaches v1 `shell:` and `exec:` commands as it arrives, through the real adb
server: a v1 host never sends an EOF (the adb client only half-closes its socket to the server,
which the server does not pass on), so a streaming filter must not wait for one, exactly as on a
phone: `printf foo | adb shell -x cat` prints foo and then waits until the client is stopped."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from pathlib import Path

from tests.virtual_device.test_protocol_legacy import LegacyHost
from virtual_device.host import VirtualDeviceHandle
from virtual_device.testing.pytest_plugin import AdbServer


def read_until(proc: subprocess.Popen[bytes], expected: bytes, timeout: float = 30) -> bytes:
    """What the process printed, once it holds `expected` (or at the timeout); the process keeps running."""
    assert proc.stdout is not None
    got = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while expected not in got and time.monotonic() < deadline:
            if sel.select(timeout=0.2):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                got += chunk
    return got


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait(10)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def client(server: AdbServer, serial: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [server.adb_path, "-P", str(server.port), "-s", serial, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def check_v1_cat_echoes_stdin(server: AdbServer, serial: str, service: tuple[str, ...]) -> None:
    """`printf foo | adb <service> cat` prints foo while the client still runs (no EOF comes)."""
    proc = client(server, serial, *service, "cat")
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"foo")
        proc.stdin.close()  # `printf foo |`: stdin ends
        assert read_until(proc, b"foo") == b"foo"
        proc.stdin = None
    finally:
        stop(proc)


def check_v1_cat_writes_a_file_as_data_comes(server: AdbServer, serial: str, target: Path, size: int) -> None:
    """`adb shell -x 'cat > f'`: the bytes land in the file while the client still runs."""
    data = os.urandom(size)
    proc = client(server, serial, "shell", "-x", "cat > /sdcard/streamed.bin")
    try:
        assert proc.stdin is not None
        proc.stdin.write(data)
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (target.exists() and target.stat().st_size >= size):
            time.sleep(0.05)
        assert target.read_bytes() == data
        assert proc.poll() is None  # no EOF reached the device: cat is still reading
    finally:
        stop(proc)


def test_printf_foo_into_a_v1_cat_prints_foo(adb_server: AdbServer, virtual_device: VirtualDeviceHandle) -> None:
    check_v1_cat_echoes_stdin(adb_server, virtual_device.serial, ("shell", "-x"))


def test_exec_cat_echoes_each_payload_before_any_eof(virtual_device: VirtualDeviceHandle) -> None:
    # `exec:` as `adb exec-in` opens it; exec-out forwards no stdin, so a raw host checks the echo.
    host = LegacyHost(virtual_device.port)
    mine, theirs = host.open("exec:cat")
    for piece in (b"foo", b"\x00\xffbar\n"):
        host.write(mine, theirs, piece)
        assert host.read_reply(mine, theirs, len(piece)) == piece
    host.close_first(mine, theirs)
    host.close()


def test_v1_cat_redirect_writes_stdin_as_it_arrives(adb_server: AdbServer, virtual_device: VirtualDeviceHandle) -> None:
    target = virtual_device.host_path("/sdcard/streamed.bin")
    check_v1_cat_writes_a_file_as_data_comes(adb_server, virtual_device.serial, target, 3 * 1024 * 1024 + 5)


def test_v2_cat_streams_and_ends_at_close_stdin(adb_server: AdbServer, virtual_device: VirtualDeviceHandle) -> None:
    res = subprocess.run(
        [adb_server.adb_path, "-P", str(adb_server.port), "-s", virtual_device.serial, "shell", "cat | wc -c"],
        input=b"x" * 100_000,
        capture_output=True,
        timeout=60,
    )
    assert (res.returncode, res.stdout) == (0, b"100000\n")
