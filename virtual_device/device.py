"""The virtual device: a TCP listener speaking the adb transport protocol, dispatching
streams to the shell and sync services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import tempfile
from pathlib import Path

from virtual_device.config import DeviceConfig
from virtual_device.faults import FaultInjector
from virtual_device.storage import Storage
from virtual_device.transport import protocol as p
from virtual_device.transport.streams import Stream, StreamClosed

log = logging.getLogger("virtual_device")

# Advertise exactly what is implemented: the host picks code paths from this list.
FEATURES = ("shell_v2", "stat_v2", "ls_v2", "fixed_push_mkdir")
READ_LIMIT = 4 * 1024 * 1024
MAX_STREAMS = 4096


class VirtualDevice:
    """One device = one listening port. Runs on an asyncio loop owned by the caller."""

    def __init__(self, config: DeviceConfig, *, port: int = 0, sandbox: Path | None = None) -> None:
        self.config = config
        self.requested_port = port
        if sandbox is None:
            sandbox = Path(config.sandbox_root) if config.sandbox_root else Path(tempfile.mkdtemp(prefix="vdev-"))
        sandbox.mkdir(parents=True, exist_ok=True)
        self.sandbox = sandbox.resolve()
        self.faults = FaultInjector(config.faults)
        self.storage = Storage(self.sandbox, config.capacity_bytes, config.all_packages)
        self.storage.full_check = self.faults.consume_fill
        self.port = port
        self._server: asyncio.AbstractServer | None = None
        self.connections: set[Connection] = set()

    @property
    def serial(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def props(self) -> dict[str, str]:
        return self.config.props(self.serial)

    def banner(self) -> bytes:
        c = self.config
        text = (
            f"device::ro.product.name={c.product};ro.product.model={c.model};"
            f"ro.product.device={c.device};features={','.join(FEATURES)}"
        )
        return text.encode()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_client, "127.0.0.1", self.requested_port, limit=READ_LIMIT, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("virtual device listening on %s", self.serial)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Every stream round-trips OKAYs; Nagle would add 40 ms stalls to each one.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)


class Connection:
    """One host connection: packet loop, stream table, negotiated limits."""

    def __init__(self, device: VirtualDevice, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.device = device
        self.reader = reader
        self.writer = writer
        self.streams: dict[int, Stream] = {}
        self.max_payload = min(device.config.max_payload, p.MAX_PAYLOAD)
        self.connected = False
        self._next_id = 1
        self.dropped = False

    def abort(self) -> None:
        """Drop the TCP connection at once, as a crashed adbd or pulled cable would."""
        self.dropped = True
        with contextlib.suppress(Exception):
            self.writer.transport.abort()

    async def send(self, command: int, arg0: int, arg1: int, payload: bytes | memoryview = b"") -> None:
        if self.dropped or self.writer.is_closing():
            raise StreamClosed("connection gone")
        header = p.pack_header(command, arg0, arg1, len(payload))
        if payload:
            # One write call for header+payload: packets of concurrent streams never interleave.
            self.writer.writelines((header, payload))
        else:
            self.writer.write(header)
        await self.writer.drain()

    async def run(self) -> None:
        try:
            while True:
                header = await self.reader.readexactly(p.HEADER_SIZE)
                command, arg0, arg1, length, _check = p.unpack_header(header)
                if length > p.MAX_PAYLOAD:
                    raise p.ProtocolError(f"payload too large: {length}")
                payload = await self.reader.readexactly(length) if length else b""
                await self.handle(command, arg0, arg1, payload)
        except (asyncio.IncompleteReadError, ConnectionError, StreamClosed):
            pass
        except p.ProtocolError as exc:
            log.debug("dropping connection: %s", exc)
        except Exception:  # one bad connection must never take the device down
            log.exception("unexpected error on connection")
        finally:
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
            stream.feed(payload)
        elif command == p.A_OKAY:
            stream = self.streams.get(arg1)
            if stream is not None and stream.remote_id == arg0:
                stream.on_okay()
        elif command == p.A_CLSE:
            stream = self.streams.get(arg1)
            if stream is not None and (stream.remote_id == arg0 or arg0 == 0):
                self.streams.pop(arg1, None)
                stream.on_remote_close()
                if stream.task is not None:
                    stream.task.cancel()
        # AUTH/STLS/SYNC/unknown commands after the handshake are ignored, as adbd does.

    async def _on_cnxn(self, version: int, maxdata: int) -> None:
        if version < p.A_VERSION_MIN or maxdata < 256:
            raise p.ProtocolError(f"unacceptable CNXN version={version:#x} maxdata={maxdata}")
        if self.device.config.require_auth:
            # A phone whose user never accepts the RSA prompt: it keeps asking (AUTH TOKEN) and
            # never completes the handshake, so the adb server lists it as "unauthorized".
            await self.send(p.A_AUTH, 1, 0, os.urandom(20))
            return
        if self.connected:
            # A second CNXN restarts the session: adbd drops all streams.
            self._teardown_streams()
        self.max_payload = max(256, min(maxdata, self.device.config.max_payload, p.MAX_PAYLOAD))
        self.connected = True
        await self.send(p.A_CNXN, p.A_VERSION, min(self.device.config.max_payload, p.MAX_PAYLOAD), self.device.banner())

    def _teardown_streams(self) -> None:
        for stream in list(self.streams.values()):
            stream.on_remote_close()
            if stream.task is not None:
                stream.task.cancel()
        self.streams.clear()

    async def _on_open(self, remote_id: int, payload: bytes) -> None:
        from virtual_device.services.adb_services import (
            open_service,  # late import: services import this module's types
        )

        service = payload.split(b"\0", 1)[0].decode("utf-8", "replace")
        if remote_id == 0 or len(self.streams) >= MAX_STREAMS:
            await self.send(p.A_CLSE, 0, remote_id)
            return
        handler = open_service(service)
        if handler is None:
            await self.send(p.A_CLSE, 0, remote_id)
            return
        local_id = self._next_id
        self._next_id = self._next_id % 0x7FFFFFFF + 1
        stream = Stream(self, local_id, remote_id, service)
        self.streams[local_id] = stream
        await self.send(p.A_OKAY, local_id, remote_id)
        stream.task = asyncio.ensure_future(self._run_stream(stream, handler))

    async def _run_stream(self, stream: Stream, handler: object) -> None:
        try:
            stall = self.device.faults.take("stall", service=stream.service)
            if stall is not None:
                if stall.seconds is None:
                    await asyncio.Event().wait()  # until the host closes the stream
                await asyncio.sleep(stall.seconds or 0)
            await handler(self.device, stream)  # type: ignore[operator]
        except (StreamClosed, ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("service %r failed", stream.service)
        finally:
            if not self.dropped:
                with contextlib.suppress(Exception):
                    await stream.close()
            self.streams.pop(stream.local_id, None)
