"""Robustness of the transport: idle sockets are dropped after the handshake timeout and capped
per device, a stream whose command does not read stdin stops being acknowledged (bounded buffer),
a client ignoring flow control loses its stream, and devices on separate loops never wait for
each other."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import subprocess
import threading
import time

import pytest

from tests.virtual_device.test_protocol_legacy import LegacyHost
from virtual_device import device as device_mod
from virtual_device.host import DeviceHost, VirtualDeviceHandle
from virtual_device.services.shell_service import STDIN_BUFFER, ShellIO
from virtual_device.testing.pytest_plugin import AdbServer
from virtual_device.transport import connection
from virtual_device.transport import protocol as p
from virtual_device.transport.streams import MAX_QUEUED_WRITES, Stream


def test_handshake_timeout_drops_a_silent_socket(
    virtual_device: VirtualDeviceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "HANDSHAKE_TIMEOUT", 0.2)
    sock = socket.create_connection(("127.0.0.1", virtual_device.port), timeout=10)
    assert sock.recv(10) == b""  # closed by the device, not by our timeout
    sock.close()


def test_connection_cap_evicts_idle_sockets_and_handshakes_still_work(
    virtual_device: VirtualDeviceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(device_mod, "MAX_CONNECTIONS", 8)
    monkeypatch.setattr(connection, "HANDSHAKE_TIMEOUT", 1.0)
    idle = [socket.create_connection(("127.0.0.1", virtual_device.port), timeout=5) for _ in range(40)]
    host = LegacyHost(virtual_device.port)  # the newest, with a handshake, always gets in
    mine, theirs = host.open("shell:echo in")
    assert host.read_until_close(mine, theirs) == b"in\n"
    assert len(virtual_device.device.connections) <= 8 + 1
    # Beyond the cap the oldest idle sockets were closed at once; the rest at the handshake timeout.
    for sock in idle:
        sock.settimeout(10)
        assert sock.recv(10) == b""
        sock.close()
    # The connection that did its handshake is still served.
    mine, theirs = host.open("shell:echo still")
    assert host.read_until_close(mine, theirs) == b"still\n"
    host.close()


def test_stdin_nobody_reads_is_bounded(virtual_device: VirtualDeviceHandle) -> None:
    host = LegacyHost(virtual_device.port, maxdata=64 * 1024)
    mine, theirs = host.open("shell:sleep 30")
    chunk = b"x" * (64 * 1024)
    acknowledged = 0
    host.sock.settimeout(0.5)
    for _ in range(4 * STDIN_BUFFER // len(chunk)):
        host.send(p.A_WRTE, mine, theirs, chunk)
        try:
            assert host.recv()[:3] == (p.A_OKAY, theirs, mine)
        except TimeoutError:
            break  # the device stopped acknowledging: the host must wait
        acknowledged += len(chunk)
    assert STDIN_BUFFER <= acknowledged <= STDIN_BUFFER + 2 * len(chunk)
    host.sock.settimeout(5)
    host.close_first(mine, theirs)
    host.close()


def test_client_ignoring_flow_control_loses_its_stream(virtual_device: VirtualDeviceHandle) -> None:
    host = LegacyHost(virtual_device.port, maxdata=4096)
    mine, theirs = host.open("shell:sleep 30")
    for _ in range(STDIN_BUFFER // 4096 + MAX_QUEUED_WRITES + 8):
        host.send(p.A_WRTE, mine, theirs, b"y" * 4096)  # never waiting for OKAY
    while True:
        cmd, a0, a1, _ = host.recv()
        if cmd == p.A_CLSE:
            assert (a0, a1) == (theirs, mine)
            break
        assert cmd == p.A_OKAY
    host.close()
    # The device is fine.
    host = LegacyHost(virtual_device.port)
    mine, theirs = host.open("shell:echo ok")
    assert host.read_until_close(mine, theirs) == b"ok\n"
    host.close()


def test_devices_run_on_their_own_loops(tmp_path) -> None:
    with DeviceHost() as host:
        a = host.add_device(sandbox=tmp_path / "a")
        b = host.add_device(sandbox=tmp_path / "b")
        assert a.device is not b.device
        release = threading.Event()
        blocked = threading.Event()

        def block() -> None:
            blocked.set()
            release.wait(30)

        # Device A's loop is stuck in blocking work; B still answers.
        a._runner.loop.call_soon_threadsafe(block)
        assert blocked.wait(10)
        try:
            raw = LegacyHost(b.port)
            mine, theirs = raw.open("shell:echo b")
            assert raw.read_until_close(mine, theirs) == b"b\n"
            raw.close()
        finally:
            release.set()
        # run_blocking runs on the device's worker thread, not its loop.
        loop_thread = a.call(_thread_id())
        assert a.call(a.device.run_blocking(threading.get_ident)) != loop_thread


async def _thread_id() -> int:
    return threading.get_ident()


class Link:
    """A connection that records what a stream sends (transport.streams.Link)."""

    max_payload = 4096

    def __init__(self) -> None:
        self.streams: dict[int, Stream] = {}
        self.sent: list[int] = []

    async def send(self, command: int, arg0: int, arg1: int, payload: bytes | memoryview = b"") -> None:
        self.sent.append(command)

    def abort(self) -> None: ...


def test_stdin_read_exactly_takes_more_than_the_buffer_without_an_eof() -> None:
    """ShellIO.read_exactly(): `cmd package install -S SIZE` over exec: gets its SIZE bytes while the
    host keeps the stream open (it waits for the answer), even beyond the bounded stdin buffer."""
    data = os.urandom(3 * STDIN_BUFFER + 5)

    async def scenario() -> tuple[bytes, bytes]:
        stream = Stream(Link(), 1, 2, f"exec:cmd package install -S {len(data) - 5}")
        io = ShellIO(stream, v2=False)

        async def produce() -> None:
            for off in range(0, len(data), 65536):
                while not stream.feed(data[off : off + 65536]):
                    await asyncio.sleep(0.001)  # the host waits for OKAYs
                await asyncio.sleep(0)

        producer = asyncio.ensure_future(produce())
        head = await asyncio.wait_for(io.read_exactly(len(data) - 5), 30)
        await asyncio.wait_for(producer, 30)
        stream.on_remote_close()
        tail = await asyncio.wait_for(io.read_exactly(100), 30)  # fewer at EOF
        io.task.cancel()
        return head, tail

    head, tail = asyncio.run(scenario())
    assert head + tail == data and len(tail) == 5


def test_stdin_chunks_stream_as_they_arrive_and_drain() -> None:
    """ShellIO.chunks(): what a streaming filter gets (v1 and exec payloads as they come)."""

    async def scenario() -> list[bytes]:
        link = Link()
        stream = Stream(link, 1, 2, "shell:cat")
        io = ShellIO(stream, v2=False)
        got: list[bytes] = []

        async def consume() -> None:
            async for chunk in io.chunks():
                got.append(chunk)

        task = asyncio.ensure_future(consume())
        stream.feed(b"foo")
        for _ in range(5):
            await asyncio.sleep(0)
        assert got == [b"foo"]  # before any EOF
        assert link.sent.count(p.A_OKAY) == 1
        stream.feed(b"bar")
        stream.on_remote_close()  # the host's CLSE: EOF
        await asyncio.wait_for(task, 5)
        io.task.cancel()
        return got

    assert b"".join(asyncio.run(scenario())) == b"foobar"


def test_stopping_a_device_twice_is_immediate(tmp_path) -> None:
    with DeviceHost() as host:
        dev = host.add_device(sandbox=tmp_path / "a")
        dev.stop()
        dev.stop()  # the DeviceHost's close stops it again: no wait on a stopped loop
    with pytest.raises(RuntimeError, match="stopped"):
        dev.call(_thread_id())


def test_a_hash_that_blocks_leaves_the_device_answering(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle
) -> None:
    """sha256sum reads on the device's worker thread: while it is stuck reading (a FIFO nobody
    writes yet), the same device, on the same event loop, still answers `adb shell echo`."""
    fifo = virtual_device.host_path("/sdcard/fifo")
    fifo.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo)
    cli = [adb_server.adb_path, "-P", str(adb_server.port), "-s", virtual_device.serial, "shell"]
    hashing = subprocess.Popen([*cli, "sha256sum /sdcard/fifo"], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        released = False
        for _ in range(3):
            res = adb_server.run("-s", virtual_device.serial, "shell", "echo answered", timeout=20)
            assert res.stdout == "answered\n"
        assert hashing.poll() is None  # still blocked in its read
        # The device's reader has the FIFO open (a non-blocking open for writing fails until then).
        deadline = time.monotonic() + 30
        while True:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                assert time.monotonic() < deadline, "the device never opened the FIFO"
                time.sleep(0.05)
        os.write(fd, b"abc")
        os.close(fd)
        released = True
        out, _ = hashing.communicate(timeout=30)
        assert out.decode() == f"{hashlib.sha256(b'abc').hexdigest()}  /sdcard/fifo\n"
    finally:
        if not released:
            with contextlib.suppress(OSError):  # unblock a reader, if there is one, before the device stops
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        hashing.kill()
        hashing.wait(10)
