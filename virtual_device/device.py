"""The virtual device: a TCP listener speaking the adb transport protocol, dispatching each
stream through the service table it was given (services.DEFAULT_SERVICES by default)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from virtual_device.config import DeviceConfig
from virtual_device.context import ServiceTable
from virtual_device.faults import FaultInjector
from virtual_device.storage import Storage
from virtual_device.transport.connection import Connection, StreamHandler

log = logging.getLogger("virtual_device")

# Advertise exactly what is implemented: the host picks code paths from this list.
# `cmd`: `adb install` streams the APK to `cmd package install -S SIZE` (uninstalls with `cmd
# package uninstall`); without it the host pushes to /data/local/tmp and runs pm install.
# The abb_exec:/abb: services answer, but are not advertised: with them a newer adb installs
# incrementally first (pm install-incremental, an incremental file system this device lacks).
# Not advertised either, as not implemented: sendrecv_v2*, delayed_ack, apex, track_app.
FEATURES = ("shell_v2", "cmd", "stat_v2", "ls_v2", "fixed_push_mkdir")
READ_LIMIT = 4 * 1024 * 1024
# Open host connections per device; beyond it the oldest one still without CNXN is dropped, else
# the newcomer is (thousands of idle sockets must not exhaust the process's descriptors).
MAX_CONNECTIONS = 64
# `adb reboot`: offline this long, then adbd answers while sys.boot_completed is still 0 this long.
REBOOT_OFFLINE_SECONDS = 1.0
REBOOT_BOOTING_SECONDS = 1.0

T = TypeVar("T")


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
        # Props a reboot changes for a while (sys.boot_completed=0), over config.props().
        self.prop_overrides: dict[str, str] = {}
        self.offline = False
        self.boots = 0
        self._reboot_task: asyncio.Task[None] | None = None
        # File-heavy work of this device (hashing, big reads) runs here, off the event loop.
        self._worker = concurrent.futures.ThreadPoolExecutor(1, f"vdev-worker-{id(self):x}")

    @property
    def serial(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def props(self) -> dict[str, str]:
        props = self.config.props(self.serial)
        props.update(self.prop_overrides)
        return props

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(*args) on this device's worker thread: the event loop (every connection of this
        device, and other devices on the same loop) keeps serving meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, functools.partial(fn, *args))

    def reboot(self) -> None:
        """`adb reboot`: every connection drops, the device is offline for a moment, then adbd
        answers again while sys.boot_completed is 0, then 1. Files, config and faults are kept."""
        if self._reboot_task is None or self._reboot_task.done():
            # From now on nothing new connects and the boot is not complete.
            self.offline = True
            self.prop_overrides.update({"sys.boot_completed": "0", "dev.bootcomplete": "0"})
            self._reboot_task = asyncio.ensure_future(self._reboot())

    async def _reboot(self) -> None:
        await asyncio.sleep(0.05)  # the reboot: stream's CLSE leaves first
        for conn in list(self.connections):
            conn.abort()
        log.info("%s rebooting", self.serial)
        await asyncio.sleep(REBOOT_OFFLINE_SECONDS)
        self.offline = False
        self.boots += 1
        await asyncio.sleep(REBOOT_BOOTING_SECONDS)
        for key in ("sys.boot_completed", "dev.bootcomplete"):
            self.prop_overrides.pop(key, None)
        log.info("%s boot completed", self.serial)

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
        if self._reboot_task is not None:
            self._reboot_task.cancel()
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        self._worker.shutdown(wait=False, cancel_futures=True)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.offline:
            writer.transport.abort()  # rebooting: nothing listens (the host sees a reset)
            return
        if len(self.connections) >= MAX_CONNECTIONS:
            idle = [c for c in self.connections if not c.cnxn_seen and not c.dropped]
            if not idle:
                log.warning("%s: %d connections open, refusing another", self.serial, len(self.connections))
                writer.transport.abort()
                return
            min(idle, key=lambda c: c.opened).abort()  # make room: the oldest socket that never said CNXN goes
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
