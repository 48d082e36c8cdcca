"""Services a phone answers besides shell and sync: reboot:, root:/unroot:/remount: (as a user
build answers them), tcpip:/usb:, track-jdwp and reverse: (no debuggable processes, no reverse
forwards)."""

from __future__ import annotations

from virtual_device.context import DeviceContext
from virtual_device.transport.streams import Stream

ROOT_REFUSED = b"adbd cannot run as root in production builds\n"
NOT_ROOT = b"adbd not running as root\n"
REMOUNT_REFUSED = b'Not running as root. Try "adb root" first.\n'


def protocol_string(text: str) -> bytes:
    data = text.encode()
    return f"{len(data):04x}".encode() + data


def fail(message: str) -> bytes:
    return b"FAIL" + protocol_string(message)


async def reboot_service(device: DeviceContext, stream: Stream) -> None:
    # `reboot:`, `reboot:bootloader`, `reboot:recovery`...: adbd answers nothing and goes down.
    device.reboot()


async def root_service(device: DeviceContext, stream: Stream) -> None:
    await stream.write(ROOT_REFUSED)


async def unroot_service(device: DeviceContext, stream: Stream) -> None:
    await stream.write(NOT_ROOT)


async def remount_service(device: DeviceContext, stream: Stream) -> None:
    await stream.write(REMOUNT_REFUSED)


async def tcpip_service(device: DeviceContext, stream: Stream) -> None:
    port = stream.service.partition(":")[2]
    if not port.isdigit() or not 0 < int(port) < 65536:
        await stream.write(f"invalid port {port}\n".encode())
        return
    # A real adbd restarts listening on that port; this one already speaks TCP and stays as it is.
    await stream.write(f"restarting in TCP mode port: {int(port)}\n".encode())


async def usb_service(device: DeviceContext, stream: Stream) -> None:
    await stream.write(b"restarting in USB mode\n")


async def track_jdwp_service(device: DeviceContext, stream: Stream) -> None:
    # The list of debuggable pids (hex length + text), re-sent on change: always empty here.
    await stream.write(protocol_string(""))
    while await stream.read() is not None:
        pass


async def reverse_service(device: DeviceContext, stream: Stream) -> None:
    command = stream.service.partition(":")[2]
    if command == "list-forward":
        await stream.write(protocol_string(""))
    elif command == "killforward-all":
        await stream.write(b"OKAY")
    elif command.startswith("killforward:"):
        await stream.write(fail(f"listener '{command.partition(':')[2]}' not found"))
    elif command.startswith("forward:"):
        await stream.write(fail("cannot bind listener: reverse forwarding is not supported by this device"))
    else:
        await stream.write(fail(f"unknown reverse command {command}"))
