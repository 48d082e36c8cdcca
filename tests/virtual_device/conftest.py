"""Shared helpers for the virtual-device tests: a module-scoped device for read-mostly tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from virtual_device import adbtools
from virtual_device.config import DeviceConfig
from virtual_device.host import DeviceHost, VirtualDeviceHandle
from virtual_device.testing.pytest_plugin import AdbServer


@pytest.fixture(scope="module")
def shared_device(adb_server: AdbServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualDeviceHandle]:
    """One device for a whole module: cheaper than connecting a fresh one per test."""
    config = DeviceConfig(
        packages=["com.example.hello", "com.augmentalis.ava", "com.example.release"],
        debuggable_packages=["com.example.hello", "com.augmentalis.ava"],
    )
    with DeviceHost() as host:
        handle = host.add_device(config, sandbox=Path(tmp_path_factory.mktemp("shared-sandbox")))
        adbtools.connect(adb_server.adb_path, adb_server.port, handle.serial)
        yield handle
        adbtools.disconnect(adb_server.adb_path, adb_server.port, handle.serial)


def shell(adb_server: AdbServer, serial: str, command: str, timeout: float = 60):
    return adb_server.run("-s", serial, "shell", command, timeout=timeout)
