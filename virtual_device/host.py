"""Run virtual devices in this process, each on a background thread with its own asyncio loop
(fixtures, benches); `python -m virtual_device serve` runs them in a daemon the same way."""

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


class DeviceLoop:
    """An asyncio loop on a daemon thread. Each device gets its own, so a device busy with file-heavy
    work (hashing 100 MB, a large pull) never delays another device's replies."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        # Instrumentations may run onnxruntime for seconds each: give them their own workers.
        self.loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(8, "vdev-instr"))
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30) -> T:
        if self.loop.is_closed() or not self._thread.is_alive():
            coro.close()
            raise RuntimeError("the device's event loop is stopped")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)


class VirtualDeviceHandle:
    """What tests get back: the device, its serial and sandbox, and the fault API."""

    def __init__(self, device: VirtualDevice, runner: DeviceLoop) -> None:
        self.device = device
        self._runner = runner
        self._stopped = False

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
        self._runner.call(self._abort_all())

    async def _abort_all(self) -> None:
        for conn in list(self.device.connections):
            conn.abort()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30) -> T:
        """Run a coroutine on this device's event loop and return its result."""
        return self._runner.call(coro, timeout)

    def stop(self) -> None:
        """Stop the device and its loop; a second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self._runner.call(self.device.stop())
        finally:
            self._runner.close()

    def __repr__(self) -> str:
        return f"VirtualDeviceHandle(serial={self.serial!r}, sandbox={str(self.sandbox)!r})"


class DeviceHost:
    """Any number of devices, each on its own event-loop thread, each answering OPEN through
    `services` (default: services.DEFAULT_SERVICES)."""

    def __init__(self, services: ServiceTable | None = None) -> None:
        self.services = DEFAULT_SERVICES if services is None else services
        self.devices: list[VirtualDeviceHandle] = []
        self._closed = False

    def add_device(
        self, config: DeviceConfig | None = None, *, port: int = 0, sandbox: Path | None = None
    ) -> VirtualDeviceHandle:
        runner = DeviceLoop(f"virtual-device-{len(self.devices)}")
        try:
            device = runner.call(self._make(config or DeviceConfig(), port, sandbox))
        except BaseException:
            runner.close()
            raise
        handle = VirtualDeviceHandle(device, runner)
        self.devices.append(handle)
        return handle

    async def _make(self, config: DeviceConfig, port: int, sandbox: Path | None) -> VirtualDevice:
        # Built on its own loop: the device's asyncio objects belong to that loop.
        device = VirtualDevice(config, services=self.services, port=port, sandbox=sandbox)
        await device.start()
        return device

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for handle in self.devices:
            with contextlib.suppress(Exception):
                handle.stop()
        self.devices.clear()

    def __enter__(self) -> DeviceHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
