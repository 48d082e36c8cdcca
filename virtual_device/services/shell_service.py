"""The shell service: `shell:` (v1), `shell,v2,...:` (v2 packets) and `exec:`, run by the interpreter."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import struct
from collections.abc import AsyncIterator

from virtual_device.context import DeviceContext
from virtual_device.shell.commands import COMMANDS
from virtual_device.shell.interpreter import ShellSession
from virtual_device.transport.streams import Stream, StreamClosed

# shell protocol v2 packet ids (shell_protocol.h)
ID_STDIN, ID_STDOUT, ID_STDERR, ID_EXIT, ID_CLOSE_STDIN, ID_WINDOW = 0, 1, 2, 3, 4, 5
PKT = struct.Struct("<BI")
MAX_V2_PACKET = 16 * 1024 * 1024


# Stdin taken from the host before anything reads it; beyond this the device withholds its OKAY
# (the host stops sending) until a command drains it, as a full pipe stops adbd reading.
STDIN_BUFFER = 1024 * 1024


class ShellIO:
    """Stdin side of a shell stream. v1 and exec: every WRTE payload, EOF when the host closes;
    v2: stdin packets, EOF at close-stdin (or close). Bounded while nobody reads it."""

    def __init__(self, stream: Stream, v2: bool) -> None:
        self.stream = stream
        self.v2 = v2
        self.stdin = bytearray()
        self.eof = asyncio.Event()
        self._changed = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._unbounded = False
        self.task = asyncio.ensure_future(self._pump())

    def _append(self, data: bytes) -> None:
        if not self.eof.is_set():
            self.stdin += data
            self._changed.set()

    async def _wait_room(self) -> None:
        while not self._unbounded and len(self.stdin) >= STDIN_BUFFER:
            self._room.clear()
            await self._room.wait()

    def _end(self) -> None:
        self.eof.set()
        self._changed.set()

    async def _pump(self) -> None:
        try:
            if not self.v2:
                while True:
                    await self._wait_room()
                    chunk = await self.stream.read()
                    if chunk is None:
                        return
                    self._append(chunk)
            while True:
                await self._wait_room()
                raw = await self.stream.read_exactly(PKT.size)
                ident, length = PKT.unpack(raw)
                if length > MAX_V2_PACKET:
                    return
                data = await self.stream.read_exactly(length) if length else b""
                if ident == ID_STDIN:
                    self._append(data)
                elif ident == ID_CLOSE_STDIN:
                    self._end()
                # window-size changes and unknown ids are ignored: there is no pty.
        except (StreamClosed, asyncio.CancelledError):
            pass
        finally:
            self._end()

    async def read_all(self) -> bytes:
        """Everything up to EOF (a filter's stdin). A host CLSE meanwhile is that EOF: the
        command then runs to completion instead of being cancelled."""
        self._unbounded = True
        self._room.set()
        self.stream.drain_on_close = True
        try:
            await self.eof.wait()
        finally:
            self.stream.drain_on_close = False
        data = bytes(self.stdin)
        self.stdin.clear()
        return data

    async def read_exactly(self, n: int) -> bytes:
        """The next n bytes of stdin (fewer at EOF) without waiting for the EOF: `cmd package
        install -S SIZE` over exec:, whose host sends the APK and then waits for the answer."""
        self.stream.drain_on_close = True
        got = bytearray()
        try:
            while True:
                self._changed.clear()
                take = min(n - len(got), len(self.stdin))
                if take:
                    got += self.stdin[:take]
                    del self.stdin[:take]
                    self._room.set()
                if len(got) >= n or (self.eof.is_set() and not self.stdin):
                    return bytes(got)
                await self._changed.wait()
        finally:
            self.stream.drain_on_close = False

    def chunks(self) -> AsyncIterator[bytes]:
        """Stdin as it arrives, each piece drained as it is taken (so flow control stays bounded),
        until EOF: for a filter that streams (`printf foo | adb shell -x cat` prints foo at once).
        From this call on, a host CLSE is the EOF (adb 29 sends its last WRTE and CLSE at once,
        maybe while the command still opens its redirect target)."""
        self.stream.drain_on_close = True
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            while True:
                self._changed.clear()
                if self.stdin:
                    data = bytes(self.stdin)
                    self.stdin.clear()
                    self._room.set()
                    yield data
                elif self.eof.is_set():
                    return
                else:
                    await self._changed.wait()
        finally:
            self.stream.drain_on_close = False

    async def read_line(self) -> bytes | None:
        """The next line of a script fed on stdin (run as it arrives, like sh), None at EOF."""
        self.stream.drain_on_close = True
        try:
            while True:
                self._changed.clear()
                cut = self.stdin.find(b"\n") + 1
                if not cut and (self.eof.is_set() or len(self.stdin) >= STDIN_BUFFER):
                    cut = len(self.stdin)
                if cut:
                    line = bytes(self.stdin[:cut])
                    del self.stdin[:cut]
                    self._room.set()
                    return line
                if self.eof.is_set():
                    return None
                await self._changed.wait()
        finally:
            self.stream.drain_on_close = False


async def shell_service(device: DeviceContext, stream: Stream) -> None:
    head, _, command = stream.service.partition(":")
    opts = head.split(",")[1:]
    # `adb shell -t`: a pty, whose line discipline (ONLCR) turns every \n into \r\n and where
    # stdout and stderr are the same terminal.
    await run_shell(device, stream, command, v2="v2" in opts, pty="pty" in opts)


async def run_shell(device: DeviceContext, stream: Stream, command: str, *, v2: bool, pty: bool) -> None:
    """Run `command` (a script on stdin when empty) with the stream as its stdin and output."""
    io = ShellIO(stream, v2)
    if v2:

        async def out(data: bytes) -> None:
            if pty:
                data = data.replace(b"\n", b"\r\n")
            await stream.write(PKT.pack(ID_STDOUT, len(data)) + data)

        async def err(data: bytes) -> None:
            await stream.write(PKT.pack(ID_STDERR, len(data)) + data)

        if pty:
            err = out
    else:

        async def out(data: bytes) -> None:
            await stream.write(data.replace(b"\n", b"\r\n") if pty else data)

        err = out

    session = ShellSession(device, out, err, commands=COMMANDS, closed=lambda: stream.closed)
    try:
        if command.strip():
            # Filters without a file operand (cat, sha256sum, wc, grep...) read the client's stdin.
            session.stdin_source = io.read_all
            # A streaming filter (cat) takes it piece by piece as it arrives instead.
            session.stdin_chunks = io.chunks
            session.stdin_exactly = io.read_exactly
            code = await session.run(command)
        else:
            # No command: a script on stdin (no pty, no prompt), each line run as it arrives.
            code = 0
            while (line := await io.read_line()) is not None:
                code = await session.run(line.decode("utf-8", "replace"))
        if v2:
            await stream.write(PKT.pack(ID_EXIT, 1) + bytes([code & 0xFF]))
    finally:
        io.task.cancel()
        with contextlib.suppress(BaseException):
            await io.task


async def exec_service(device: DeviceContext, stream: Stream) -> None:
    # exec: is raw v1 without a pty; the same interpreter serves it.
    await shell_service(device, stream)


def _abb_command(stream: Stream) -> str:
    # abb_exec:SERVICE\0ARG\0...: a binder service's shell command, as `cmd SERVICE ARG...` runs it.
    argv = [a for a in stream.service.partition(":")[2].split("\0") if a]
    return shlex.join(["cmd", *argv])


async def abb_exec_service(device: DeviceContext, stream: Stream) -> None:
    """`abb_exec:` (adb install streams the APK with it): raw stdin and output, like exec:."""
    await run_shell(device, stream, _abb_command(stream), v2=False, pty=False)


async def abb_service(device: DeviceContext, stream: Stream) -> None:
    """`abb:`: the same with shell protocol v2 packets (separate stderr, an exit code)."""
    await run_shell(device, stream, _abb_command(stream), v2=True, pty=False)
