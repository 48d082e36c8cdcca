"""The adb services a virtual device answers OPEN with: shell (v1/v2), exec and sync.

DEFAULT_SERVICES is the table host.DeviceHost and `python -m virtual_device serve` give each
VirtualDevice; anything else (tcpip:, reboot:, reverse:, ...) is refused."""

from virtual_device.context import ServiceTable
from virtual_device.services.shell_service import exec_service, shell_service
from virtual_device.services.sync import sync_service

DEFAULT_SERVICES = ServiceTable(
    exact={"sync:": sync_service},
    prefixes={"shell:": shell_service, "shell,": shell_service, "exec:": exec_service},
)

__all__ = ["DEFAULT_SERVICES"]
