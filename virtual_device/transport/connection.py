"""One host connection to a virtual device: the adb packet loop and its stream table."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from virtual_device.config import DeviceConfig
from virtual_device.faults import FaultInjector
from virtual_device.transport import protocol as p
from virtual_device.transport.streams import Stream, StreamClosed

log = logging.getLogger("virtual_device")

MAX_STREAMS = 4096
# A socket that has not sent CNXN by then is dropped: idle sockets must not pin descriptors.
HANDSHAKE_TIMEOUT = 10.0
# A service reading its input to the end when the host closes gets this long to finish.
CLOSE_GRACE = 10.0

# A service bound to its device: runs one stream to completion.
StreamHandler = Callable[[Stream], Awaitable[None]]


class Endpoint(Protocol):
    """What a connection needs of its device (device.VirtualDevice is one)."""

    @property
    def config(self) -> DeviceConfig: ...

    @property
    def faults(self) -> FaultInjector: ...

    def banner(self) -> bytes: ...

    def open_service(self, service: str) -> StreamHandler | None:
        """The handler for an OPEN of `service`, or None to refuse it."""


class Connection:
    """One host connection: packet loop, stream table, negotiated limits."""

    def __init__(self, device: Endpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.device = device
        self.reader = reader
        self.writer = writer
        self.streams: dict[int, Stream] = {}
        self.max_payload = min(device.config.max_payload, p.MAX_PAYLOAD)
        self.connected = False
        self.cnxn_seen = False
        self.opened = time.monotonic()
        # The negotiated version: min(host's CNXN version, ours), set by the CNXN (nothing is sent
        # before it).
        self.version = p.A_VERSION
        self._next_id = 1
        self.dropped = False

    @property
    def checksums(self) -> bool:
        """Whether packets carry (and are checked against) the byte sum of their payload."""
        return self.version < p.A_VERSION_SKIP_CHECKSUM

    def abort(self) -> None:
        """Drop the TCP connection at once, as a crashed adbd or pulled cable would."""
        self.dropped = True
        with contextlib.suppress(Exception):
            self.writer.transport.abort()

    async def send(self, command: int, arg0: int, arg1: int, payload: bytes | memoryview = b"") -> None:
        if self.dropped or self.writer.is_closing():
            raise StreamClosed("connection gone")
        check = p.checksum(payload) if self.checksums and payload else 0
        header = p.pack_header(command, arg0, arg1, len(payload), check)
        if payload:
            # One write call for header+payload: packets of concurrent streams never interleave.
            self.writer.writelines((header, payload))
        else:
            self.writer.write(header)
        await self.writer.drain()

    def _handshake_expired(self) -> None:
        if not self.cnxn_seen:
            log.debug("no CNXN within %.0f s: dropping connection", HANDSHAKE_TIMEOUT)
            self.abort()

    async def run(self) -> None:
        timer = asyncio.get_running_loop().call_later(HANDSHAKE_TIMEOUT, self._handshake_expired)
        try:
            while True:
                header = await self.reader.readexactly(p.HEADER_SIZE)
                command, arg0, arg1, length, check = p.unpack_header(header)
                if length > p.MAX_PAYLOAD:
                    raise p.ProtocolError(f"payload too large: {length}")
                payload = await self.reader.readexactly(length) if length else b""
                # A host below A_VERSION_SKIP_CHECKSUM sums every payload (its CNXN says which it is).
                legacy = arg0 < p.A_VERSION_SKIP_CHECKSUM if command == p.A_CNXN else self.checksums
                if legacy and check != p.checksum(payload):
                    raise p.ProtocolError(f"bad checksum {check:#x} on {p.COMMAND_NAMES.get(command, command)}")
                await self.handle(command, arg0, arg1, payload)
        except (asyncio.IncompleteReadError, ConnectionError, StreamClosed):
            pass
        except p.ProtocolError as exc:
            log.debug("dropping connection: %s", exc)
        except Exception:  # one bad connection must never take the device down
            log.exception("unexpected error on connection")
        finally:
            timer.cancel()
            self._teardown()

    def _teardown(self) -> None:
        for stream in list(self.streams.values()):
            stream.on_remote_close()
            if stream.task is not None:
                stream.task.cancel()
        self.streams.clear()
        with contextlib.suppress(Exception):
            self.writer.close()

    async def handle(self, command: int, arg0: int, arg1: int, payload: bytes) -> None:
        if command == p.A_CNXN:
            await self._on_cnxn(arg0, arg1)
            return
        if command == p.A_AUTH and self.device.config.require_auth and not self.connected:
            # The host signs our token with its keys (type 2); none is accepted, so ask again.
            # Then it offers its public key (type 3): a phone now shows the prompt nobody answers.
            if arg0 == 2:
                await self.send(p.A_AUTH, 1, 0, os.urandom(20))
            return
        if not self.connected:
            # adbd ignores everything but CNXN (and AUTH, when it asked for it) before the handshake.
            return
        if command == p.A_OPEN:
            await self._on_open(arg0, payload)
        elif command == p.A_WRTE:
            stream = self.streams.get(arg1)
            if stream is None or stream.remote_id != arg0:
                # Unknown stream: tell the host it is gone so it does not wait on us.
                if arg0:
                    await self.send(p.A_CLSE, 0, arg0)
                return
            if not stream.feed(payload):
                log.debug("host ignored flow control on %r: closing the stream", stream.service)
                await self._close_stream(stream)
        elif command == p.A_OKAY:
            stream = self.streams.get(arg1)
            if stream is not None and stream.remote_id == arg0:
                stream.on_okay()
        elif command == p.A_CLSE:
            stream = self.streams.get(arg1)
            if stream is not None and (stream.remote_id == arg0 or arg0 == 0):
                # Like adbd, answer the host's CLSE with ours: direct clients wait for it.
                await self._close_stream(stream)
        # AUTH/STLS/SYNC/unknown commands after the handshake are ignored, as adbd does.

    async def _close_stream(self, stream: Stream) -> None:
        """The host closed `stream` (or must lose it): forget it, answer CLSE, end its service."""
        self.streams.pop(stream.local_id, None)
        draining = stream.drain_on_close and not stream.closed
        stream.on_remote_close()
        with contextlib.suppress(StreamClosed, ConnectionError):
            await self.send(p.A_CLSE, stream.local_id, stream.remote_id)
        if stream.task is not None and not stream.task.done():
            if draining:
                # Its input just ended: let the command finish (its output goes nowhere), bounded.
                asyncio.get_running_loop().call_later(CLOSE_GRACE, stream.task.cancel)
            else:
                stream.task.cancel()

    async def _on_cnxn(self, version: int, maxdata: int) -> None:
        if version < p.A_VERSION_MIN or maxdata < 256:
            raise p.ProtocolError(f"unacceptable CNXN version={version:#x} maxdata={maxdata}")
        self.cnxn_seen = True
        self.version = min(version, p.A_VERSION)
        self.max_payload = max(256, min(maxdata, self.device.config.max_payload, p.MAX_PAYLOAD))
        if self.device.config.require_auth:
            # A phone whose user never accepts the RSA prompt: it keeps asking (AUTH TOKEN) and
            # never completes the handshake, so the adb server lists it as "unauthorized".
            await self.send(p.A_AUTH, 1, 0, os.urandom(20))
            return
        if self.connected:
            # A second CNXN restarts the session: adbd drops all streams.
            self._teardown_streams()
        self.connected = True
        # adbd's send_connect: its own version (the host takes the minimum too) and the negotiated
        # maximum payload.
        await self.send(p.A_CNXN, p.A_VERSION, self.max_payload, self.device.banner())

    def _teardown_streams(self) -> None:
        for stream in list(self.streams.values()):
            stream.on_remote_close()
            if stream.task is not None:
                stream.task.cancel()
        self.streams.clear()

    async def _on_open(self, remote_id: int, payload: bytes) -> None:
        # Like adbd: trailing NULs are dropped; inner ones stay (abb_exec separates its args with them).
        service = payload.rstrip(b"\0").decode("utf-8", "replace")
        if remote_id == 0 or len(self.streams) >= MAX_STREAMS:
            await self.send(p.A_CLSE, 0, remote_id)
            return
        handler = self.device.open_service(service)
        if handler is None:
            await self.send(p.A_CLSE, 0, remote_id)
            return
        local_id = self._next_id
        self._next_id = self._next_id % 0x7FFFFFFF + 1
        stream = Stream(self, local_id, remote_id, service)
        self.streams[local_id] = stream
        await self.send(p.A_OKAY, local_id, remote_id)
        stream.task = asyncio.ensure_future(self._run_stream(stream, handler))

    async def _run_stream(self, stream: Stream, handler: StreamHandler) -> None:
        try:
            stall = self.device.faults.take("stall", service=stream.service)
            if stall is not None:
                if stall.seconds is None:
                    await asyncio.Event().wait()  # until the host closes the stream
                await asyncio.sleep(stall.seconds or 0)
            await handler(stream)
        except (StreamClosed, ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("service %r failed", stream.service)
        finally:
            if not self.dropped:
                with contextlib.suppress(Exception):
                    await stream.close()
            self.streams.pop(stream.local_id, None)
