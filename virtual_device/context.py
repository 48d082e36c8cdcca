"""What services, the shell and sync see of a device, and the table mapping OPEN service names
to their handlers. device.VirtualDevice implements DeviceContext; this module never imports it,
so the services can be typed against a device without depending on the module that runs one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from virtual_device.config import DeviceConfig
from virtual_device.faults import FaultInjector
from virtual_device.storage import Storage
from virtual_device.transport.streams import Stream

T = TypeVar("T")


class DeviceContext(Protocol):
    """The device as a service sees it."""

    @property
    def config(self) -> DeviceConfig: ...

    @property
    def props(self) -> dict[str, str]: ...

    @property
    def storage(self) -> Storage: ...

    @property
    def faults(self) -> FaultInjector: ...

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) on the device's worker thread, off the event loop: for file-heavy work
        (hashing or reading large files) so other streams and devices keep being served."""
        ...

    def reboot(self) -> None:
        """Start a reboot: connections drop, the device comes back with its files."""
        ...


# A service: runs one stream to completion (the connection closes the stream afterwards).
Handler = Callable[[DeviceContext, Stream], Awaitable[None]]


@dataclass(frozen=True)
class ServiceTable:
    """OPEN service name -> handler: an exact name first, else the first prefix that matches.
    A name with no handler is refused (the host gets CLSE)."""

    exact: Mapping[str, Handler] = field(default_factory=dict)
    prefixes: Mapping[str, Handler] = field(default_factory=dict)

    def lookup(self, service: str) -> Handler | None:
        handler = self.exact.get(service)
        if handler is not None:
            return handler
        for prefix, candidate in self.prefixes.items():
            if service.startswith(prefix):
                return candidate
        return None
