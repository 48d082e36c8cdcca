"""The virtual device: a TCP listener speaking the adb transport protocol, dispatching each
stream through the service table it was given (services.DEFAULT_SERVICES by default)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import tempfile
from pathlib import Path

from virtual_device.config import DeviceConfig
from virtual_device.context import ServiceTable
from virtual_device.faults import FaultInjector
from virtual_device.storage import Storage
from virtual_device.transport.connection import Connection, StreamHandler

log = logging.getLogger("virtual_device")

# Advertise exactly what is implemented: the host picks code paths from this list.
FEATURES = ("shell_v2", "stat_v2", "ls_v2", "fixed_push_mkdir")
READ_LIMIT = 4 * 1024 * 1024


class VirtualDevice:
    """One device = one listening port. Runs on an asyncio loop owned by the caller.

    Implements context.DeviceContext for its services and connection.Endpoint for its connections."""

    def __init__(
        self, config: DeviceConfig, *, services: ServiceTable, port: int = 0, sandbox: Path | None = None
    ) -> None:
        self.config = config
        self.services = services
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

    def open_service(self, service: str) -> StreamHandler | None:
        """The handler for an OPEN of `service`, bound to this device; None refuses the stream."""
        handler = self.services.lookup(service)
        if handler is None:
            return None
        return functools.partial(handler, self)

    async def start(self) -> None:
        boot = self.faults.take("slow_boot")
        if boot is not None and boot.seconds:
            log.info("slow boot: %.1f s before listening", boot.seconds)
            await asyncio.sleep(boot.seconds)
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
