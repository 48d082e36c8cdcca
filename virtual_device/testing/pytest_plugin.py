"""pytest fixtures: a private adb server per session and in-process virtual devices.

Tests never touch a user's adb server on 5037: `adb_server` starts one on a free port and
points ANDROID_ADB_SERVER_PORT at it for the session."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from virtual_device import adbtools
from virtual_device.config import DeviceConfig
from virtual_device.host import DeviceHost, VirtualDeviceHandle


@dataclass
class AdbServer:
    port: int
    adb_path: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def run(self, *args: str, timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run the adb CLI against this server."""
        return adbtools.run_adb(self.adb_path, self.port, *args, timeout=timeout, **kwargs)

    def client(self, socket_timeout: float | None = 60) -> Any:
        import adbutils

        return adbutils.AdbClient(host="127.0.0.1", port=self.port, socket_timeout=socket_timeout)

    def stop(self) -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            self.run("kill-server", timeout=10)
        if self.process is not None:
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_private_server(adb_path: str | None = None) -> AdbServer:
    adb = adbtools.find_adb(adb_path)
    last_error: Exception | None = None
    for _ in range(5):
        port = adbtools.free_port()
        # nodaemon keeps the server our child, so teardown can never leak it.
        proc = subprocess.Popen(
            [adb, "-P", str(port), "nodaemon", "server"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            adbtools.wait_listening(port, 10)
            return AdbServer(port=port, adb_path=adb, process=proc)
        except TimeoutError as exc:
            last_error = exc
            proc.kill()
            proc.wait()
    raise RuntimeError(f"could not start a private adb server: {last_error}")


@pytest.fixture(scope="session")
def adb_server() -> Iterator[AdbServer]:
    server = start_private_server()
    saved = os.environ.get("ANDROID_ADB_SERVER_PORT")
    os.environ["ANDROID_ADB_SERVER_PORT"] = str(server.port)
    try:
        yield server
    finally:
        if saved is None:
            os.environ.pop("ANDROID_ADB_SERVER_PORT", None)
        else:
            os.environ["ANDROID_ADB_SERVER_PORT"] = saved
        server.stop()


StartDevices = Callable[..., list[VirtualDeviceHandle]]


@pytest.fixture
def virtual_devices(adb_server: AdbServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartDevices]:
    """Factory: start(n=1, **config_overrides) -> handles, connected to the private server."""
    host = DeviceHost()
    started: list[VirtualDeviceHandle] = []

    def start(n: int = 1, **overrides: Any) -> list[VirtualDeviceHandle]:
        base = overrides.pop("config", None) or DeviceConfig()
        config = base.replace(**overrides) if overrides else base
        handles = []
        for _ in range(n):
            sandbox = tmp_path_factory.mktemp("vdev-sandbox")
            handle = host.add_device(config.replace(), sandbox=Path(sandbox))
            started.append(handle)
            handles.append(handle)
        for handle in handles:
            adbtools.connect(adb_server.adb_path, adb_server.port, handle.serial)
        return handles

    try:
        yield start
    finally:
        for handle in started:
            adbtools.disconnect(adb_server.adb_path, adb_server.port, handle.serial)
        host.close()
        # Let the server notice the disconnects before the next test reuses ports.
        time.sleep(0.05)


@pytest.fixture
def virtual_device(virtual_devices: StartDevices) -> VirtualDeviceHandle:
    """One connected virtual device with default config."""
    return virtual_devices(1)[0]
