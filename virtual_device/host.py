"""Run virtual devices on a background thread with its own asyncio loop (fixtures, benches)
or in the foreground (the `serve` daemon)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from virtual_device.config import DeviceConfig
from virtual_device.context import ServiceTable
from virtual_device.device import VirtualDevice
from virtual_device.faults import FaultInjector
from virtual_device.services import DEFAULT_SERVICES

T = TypeVar("T")


class VirtualDeviceHandle:
    """What tests get back: the device, its serial and sandbox, and the fault API."""

    def __init__(self, device: VirtualDevice, host: DeviceHost) -> None:
        self.device = device
        self._host = host

    @property
    def serial(self) -> str:
        return self.device.serial

    @property
    def port(self) -> int:
        return self.device.port

    @property
    def sandbox(self) -> Path:
        return self.device.sandbox

    @property
    def config(self) -> DeviceConfig:
        return self.device.config

    @property
    def faults(self) -> FaultInjector:
        return self.device.faults

    def host_path(self, device_path: str) -> Path:
        return self.device.storage.host_path(device_path)

    def drop_connections(self) -> None:
        """Abort every live host connection (the adb server will reconnect)."""
        self._host.call(self._abort_all())

    async def _abort_all(self) -> None:
        for conn in list(self.device.connections):
            conn.abort()

    def stop(self) -> None:
        self._host.call(self.device.stop())

    def __repr__(self) -> str:
        return f"VirtualDeviceHandle(serial={self.serial!r}, sandbox={str(self.sandbox)!r})"


class DeviceHost:
    """An event loop on a daemon thread hosting any number of devices, each answering OPEN
    through `services` (default: services.DEFAULT_SERVICES)."""

    def __init__(self, services: ServiceTable | None = None) -> None:
        self.services = DEFAULT_SERVICES if services is None else services
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="virtual-device-loop", daemon=True)
        self._thread.start()
        self.devices: list[VirtualDeviceHandle] = []

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        # Instrumentations may run onnxruntime for seconds each: give them their own workers.
        self.loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(8, "vdev-instr"))
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def add_device(
        self, config: DeviceConfig | None = None, *, port: int = 0, sandbox: Path | None = None
    ) -> VirtualDeviceHandle:
        device = VirtualDevice(config or DeviceConfig(), services=self.services, port=port, sandbox=sandbox)
        self.call(device.start())
        handle = VirtualDeviceHandle(device, self)
        self.devices.append(handle)
        return handle

    def close(self) -> None:
        if not self.loop.is_running():
            return
        for handle in self.devices:
            with contextlib.suppress(Exception):
                handle.stop()
        self.devices.clear()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def __enter__(self) -> DeviceHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
