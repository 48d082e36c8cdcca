"""The shell service: `shell:` (v1), `shell,v2,...:` (v2 packets) and `exec:`, run by the interpreter."""

from __future__ import annotations

import asyncio
import contextlib
import struct

from virtual_device.context import DeviceContext
from virtual_device.shell.commands import COMMANDS
from virtual_device.shell.interpreter import ShellSession
from virtual_device.transport.streams import Stream, StreamClosed

# shell protocol v2 packet ids (shell_protocol.h)
ID_STDIN, ID_STDOUT, ID_STDERR, ID_EXIT, ID_CLOSE_STDIN, ID_WINDOW = 0, 1, 2, 3, 4, 5
PKT = struct.Struct("<BI")
MAX_V2_PACKET = 16 * 1024 * 1024


class ShellIO:
    """Stdin side of a shell stream, collected in the background so the host never stalls."""

    def __init__(self, stream: Stream, v2: bool) -> None:
        self.stream = stream
        self.v2 = v2
        self.stdin = bytearray()
        self.stdin_closed = asyncio.Event()
        self.task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        try:
            if not self.v2:
                while (chunk := await self.stream.read()) is not None:
                    self.stdin += chunk
                return
            while True:
                raw = await self.stream.read_exactly(PKT.size)
                ident, length = PKT.unpack(raw)
                if length > MAX_V2_PACKET:
                    return
                data = await self.stream.read_exactly(length) if length else b""
                if ident == ID_STDIN:
                    self.stdin += data
                elif ident == ID_CLOSE_STDIN:
                    self.stdin_closed.set()
                # window-size changes and unknown ids are ignored: there is no pty.
        except (StreamClosed, asyncio.CancelledError):
            pass
        finally:
            self.stdin_closed.set()


async def shell_service(device: DeviceContext, stream: Stream) -> None:
    head, _, command = stream.service.partition(":")
    opts = head.split(",")[1:]
    v2 = "v2" in opts
    io = ShellIO(stream, v2)

    if v2:

        async def out(data: bytes) -> None:
            await stream.write(PKT.pack(ID_STDOUT, len(data)) + data)

        async def err(data: bytes) -> None:
            await stream.write(PKT.pack(ID_STDERR, len(data)) + data)
    else:

        async def out(data: bytes) -> None:
            await stream.write(data)

        err = out

    session = ShellSession(device, out, err, commands=COMMANDS, closed=lambda: stream.closed)
    if v2 and command.strip():

        async def read_stdin() -> bytes:
            await io.stdin_closed.wait()
            return bytes(io.stdin)

        session.stdin_source = read_stdin
    try:
        if command.strip():
            code = await session.run(command)
        else:
            # No command: read a script from stdin (no pty, no prompt), run it at EOF.
            await io.stdin_closed.wait()
            code = 0
            for line in bytes(io.stdin).decode("utf-8", "replace").splitlines():
                code = await session.run(line)
        if v2:
            await stream.write(PKT.pack(ID_EXIT, 1) + bytes([code & 0xFF]))
    finally:
        io.task.cancel()
        with contextlib.suppress(BaseException):
            await io.task


async def exec_service(device: DeviceContext, stream: Stream) -> None:
    # exec: is raw v1 without a pty; the same interpreter serves it.
    await shell_service(device, stream)
