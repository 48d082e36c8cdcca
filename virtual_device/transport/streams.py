"""Per-stream state: ids, flow control in both directions, and a byte-stream reader over
WRTE payloads (shell and sync data is split across packets at arbitrary points)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Protocol

from virtual_device.transport.protocol import A_CLSE, A_OKAY, A_WRTE

# A host waits for our OKAY before its next WRTE (no delayed_ack is advertised), so a queue this
# long means a client that ignores flow control: its stream is closed rather than buffered.
MAX_QUEUED_WRITES = 64


class StreamClosed(Exception):
    """The host closed the stream (or the connection) while we were using it."""


class Link(Protocol):
    """What a stream needs of its connection (transport.connection.Connection is one)."""

    max_payload: int
    streams: dict[int, Stream]

    async def send(self, command: int, arg0: int, arg1: int, payload: bytes | memoryview = b"") -> None: ...

    def abort(self) -> None: ...


class Stream:
    def __init__(self, conn: Link, local_id: int, remote_id: int, service: str) -> None:
        self.conn = conn
        self.local_id = local_id
        self.remote_id = remote_id
        self.service = service
        # At most one host WRTE is outstanding (the host waits for our OKAY), so this
        # queue holds at most one payload plus the EOF marker: natural back-pressure.
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._can_send = asyncio.Event()
        self._can_send.set()
        self.closed = False
        self.task: asyncio.Task[None] | None = None
        self._buf = bytearray()
        self._pos = 0
        self._eof = False
        # Set by a service while it reads its input to the end (a shell filter taking stdin): a
        # host CLSE is then its EOF, and the service finishes instead of being cancelled.
        self.drain_on_close = False

    # --- host -> device -----------------------------------------------------------------
    def feed(self, payload: bytes) -> bool:
        """Queue a host WRTE; False when the host ignored flow control (too many unacknowledged)."""
        if self.closed:
            return True
        if self._inbox.qsize() >= MAX_QUEUED_WRITES:
            return False
        self._inbox.put_nowait(payload)
        return True

    def on_okay(self) -> None:
        self._can_send.set()

    def on_remote_close(self) -> None:
        self.closed = True
        self._inbox.put_nowait(None)
        self._can_send.set()

    async def read(self) -> bytes | None:
        """Next payload, acknowledged as it is taken, or None at end of stream."""
        if self._eof:
            return None
        item = await self._inbox.get()
        if item is None:
            self._eof = True
            return None
        if not self.closed:
            # Acknowledge on consumption, not receipt, so a slow service slows the host.
            await self.conn.send(A_OKAY, self.local_id, self.remote_id)
        return item

    def _available(self) -> int:
        return len(self._buf) - self._pos

    async def _fill(self, n: int) -> None:
        while self._available() < n:
            chunk = await self.read()
            if chunk is None:
                raise StreamClosed("end of stream")
            if self._pos:
                # Compact only when a new chunk arrives: keeps the buffer amortised linear.
                del self._buf[: self._pos]
                self._pos = 0
            self._buf += chunk

    async def read_exactly(self, n: int) -> bytes:
        await self._fill(n)
        data = bytes(self._buf[self._pos : self._pos + n])
        self._pos += n
        return data

    async def read_u32_pair(self) -> tuple[bytes, int]:
        raw = await self.read_exactly(8)
        return raw[:4], struct.unpack_from("<I", raw, 4)[0]

    async def read_some(self) -> bytes | None:
        """Buffered bytes first, then the next payload; None at end of stream."""
        if self._available():
            data = bytes(self._buf[self._pos :])
            self._buf.clear()
            self._pos = 0
            return data
        return await self.read()

    # --- device -> host -----------------------------------------------------------------
    async def write(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        step = self.conn.max_payload
        for off in range(0, len(view), step):
            await self._can_send.wait()
            if self.closed:
                raise StreamClosed("stream closed by host")
            self._can_send.clear()
            await self.conn.send(A_WRTE, self.local_id, self.remote_id, view[off : off + step])

    async def close(self) -> None:
        if not self.closed:
            # Like adbd, send CLSE only once the last WRTE is acknowledged (bounded wait: a
            # client that stopped reading must not pin the stream forever).
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._can_send.wait(), 2)
            self.closed = True
            self._can_send.set()
            with contextlib.suppress(ConnectionError, RuntimeError, StreamClosed):
                await self.conn.send(A_CLSE, self.local_id, self.remote_id)
        self.conn.streams.pop(self.local_id, None)
