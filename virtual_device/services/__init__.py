"""The adb services a virtual device answers OPEN with: shell (v1/v2), exec, abb/abb_exec, sync, and what a
user-build phone answers otherwise (services/system.py: reboot:, root:, unroot:, remount:,
tcpip:, usb:, track-jdwp, reverse:).

DEFAULT_SERVICES is the table host.DeviceHost and `python -m virtual_device serve` give each
VirtualDevice; anything else (jdwp:, framebuffer:, ...) is refused."""

from virtual_device.context import ServiceTable
from virtual_device.services import system
from virtual_device.services.shell_service import abb_exec_service, abb_service, exec_service, shell_service
from virtual_device.services.sync import sync_service

DEFAULT_SERVICES = ServiceTable(
    exact={
        "sync:": sync_service,
        "root:": system.root_service,
        "unroot:": system.unroot_service,
        "usb:": system.usb_service,
        "track-jdwp": system.track_jdwp_service,
    },
    prefixes={
        "shell:": shell_service,
        "shell,": shell_service,
        "exec:": exec_service,
        "abb_exec:": abb_exec_service,
        "abb:": abb_service,
        "reboot:": system.reboot_service,
        "remount:": system.remount_service,
        "tcpip:": system.tcpip_service,
        "reverse:": system.reverse_service,
    },
)

__all__ = ["DEFAULT_SERVICES"]
