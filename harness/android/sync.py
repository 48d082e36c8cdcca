"""The adb sync protocol's framing, as the harness speaks it: 64 KiB DATA chunks (adbutils sends
4 KiB) and FAIL reasons kept (adbutils drops them). Private to harness.android: callers use
Device's verified transfers (harness.android.transfer), which add the checks and retries.

Errors say what went wrong, by type: a FAIL frame is the device's own answer (DeviceRefusedError:
no space, permission denied, no such file); a lost connection or a frame that breaks the
protocol is a TransportError; a stalled one a DeviceTimeoutError."""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import adbutils

from harness.errors import DeviceRefusedError, DeviceTimeoutError, TransportError

SYNC_CHUNK = 64 * 1024  # the sync protocol's maximum DATA size
MAX_FAIL_BYTES = 64 * 1024  # a FAIL frame's reason; adbd sends one short line
TransferProgress = Callable[[int, int], None]

# The device's own strerror() texts (bionic; glibc's for quotas) and the refusal each one is
# (harness.errors.REFUSAL_REASONS). The adb protocol gives a refusal only as this text: inside a
# sync FAIL frame, or on a failed shell command's stderr. It is classified there, where the
# device's answer arrives, never later from an error message the harness built.
_ERRNO_REFUSALS = {
    "No space left on device": "no_space",
    "Disk quota exceeded": "no_space",
    "Quota exceeded": "no_space",
    "Permission denied": "permission_denied",
    "Operation not permitted": "permission_denied",
    "Read-only file system": "read_only",
    "No such file or directory": "no_such_file",
}
_ERRNO_RE = re.compile("|".join(sorted(map(re.escape, _ERRNO_REFUSALS), key=len, reverse=True)))
# On a shell's stderr the text must end a line, as toybox and the shell print it ("mv: /x: Read-only file system").
_ERRNO_LINE_RE = re.compile(rf"(?:^|: )({_ERRNO_RE.pattern})\s*$", re.MULTILINE)


def refusal_reason(device_answer: str, *, stderr: bool = False) -> str | None:
    """The refusal the device's own answer names: the reason text of a sync FAIL frame, or
    (stderr=True) a failed command's stderr, where the errno text must end a line. None when it
    names none of REFUSAL_REASONS."""
    match = (_ERRNO_LINE_RE if stderr else _ERRNO_RE).search(device_answer)
    return _ERRNO_REFUSALS[match.group(1) if stderr else match.group(0)] if match else None


class SyncDevice(Protocol):
    """What a sync session needs from a device: harness.android.adb.Device has it. A Protocol, so
    this module sits below adb.py and never imports it."""

    serial: str
    timeout: float

    def open_sync(self) -> adbutils.AdbConnection: ...


@contextlib.contextmanager
def session(device: SyncDevice, path: str, request: bytes) -> Iterator[socket.socket]:
    """One sync request (SEND or RECV of `path`) on a fresh sync connection, closed with QUIT."""
    connection = device.open_sync()
    sock = connection.conn
    sock.settimeout(device.timeout)
    try:
        encoded = path.encode("utf-8")
        sock.sendall(request + struct.pack("<I", len(encoded)) + encoded)
        yield sock
        with contextlib.suppress(OSError):
            sock.sendall(b"QUIT" + struct.pack("<I", 0))
    except TimeoutError:
        raise DeviceTimeoutError(device.serial, f"{path}: transfer stalled for {device.timeout:.0f} s") from None
    except OSError as err:
        raise TransportError(device.serial, f"{path}: connection lost during transfer ({err})") from None
    finally:
        connection.close()


def send(device: SyncDevice, source: BinaryIO, total: int, remote: str, progress: TransferProgress | None) -> None:
    sent = 0
    block = bytearray(SYNC_CHUNK * 16)
    view = memoryview(block)
    with session(device, f"{remote},33188", b"SEND") as sock:
        # 1 MiB per syscall as DATA frames (<= 64 KiB each) gathered by sendmsg: no copies.
        while count := source.readinto(block):
            frames: list[bytes | memoryview] = []
            for offset in range(0, count, SYNC_CHUNK):
                piece = view[offset : min(offset + SYNC_CHUNK, count)]
                frames += [b"DATA" + struct.pack("<I", len(piece)), piece]
            _sendmsg_all(sock, frames)
            sent += count
            if progress:
                progress(sent, total)
        sock.sendall(b"DONE" + struct.pack("<I", int(time.time())))
        _expect_okay(sock, device.serial, remote)


def recv_file(device: SyncDevice, remote: str, local: Path, progress: TransferProgress | None) -> int:
    received = 0
    with session(device, remote, b"RECV") as sock, open(local, "wb") as handle:
        for chunk in _recv_chunks(sock, device.serial, remote):
            handle.write(chunk)
            received += len(chunk)
            if progress:
                progress(received, received)
    return received


def recv_bytes(device: SyncDevice, remote: str) -> bytes:
    with session(device, remote, b"RECV") as conn:
        return b"".join(_recv_chunks(conn, device.serial, remote))


def _sendmsg_all(sock: socket.socket, buffers: list[bytes | memoryview]) -> None:
    """sendmsg until every buffer is out (it may send only part of them)."""
    pending = [memoryview(b) for b in buffers]
    while pending:
        sent = sock.sendmsg(pending)
        while pending and sent >= len(pending[0]):
            sent -= len(pending[0])
            pending.pop(0)
        if pending and sent:
            pending[0] = pending[0][sent:]


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray()
    while len(buffer) < size:
        piece = sock.recv(size - len(buffer))
        if not piece:
            raise OSError("connection closed")
        buffer += piece
    return bytes(buffer)


def _recv_chunks(sock: socket.socket, serial: str, remote: str) -> Iterator[bytes]:
    while True:
        header = _recv_exact(sock, 8)
        tag, length = header[:4], struct.unpack("<I", header[4:])[0]
        if tag == b"DATA":
            if length > SYNC_CHUNK:
                raise TransportError(serial, f"{remote}: DATA chunk of {length} bytes breaks the sync protocol")
            yield _recv_exact(sock, length)
        elif tag == b"DONE":
            return
        elif tag == b"FAIL":
            message = _fail_reason(sock, length, serial, remote)
            raise DeviceRefusedError(serial, f"{remote}: {message}", output=message, reason=refusal_reason(message))
        else:
            raise TransportError(serial, f"{remote}: unexpected sync reply {tag!r}")


def _expect_okay(sock: socket.socket, serial: str, remote: str) -> None:
    header = _recv_exact(sock, 8)
    if header[:4] == b"OKAY":
        return
    if header[:4] == b"FAIL":
        message = _fail_reason(sock, struct.unpack("<I", header[4:])[0], serial, remote)
        raise DeviceRefusedError(
            serial, f"push to {remote} failed: {message}", output=message, reason=refusal_reason(message)
        )
    raise TransportError(serial, f"push to {remote}: unexpected sync reply {header[:4]!r}")


def _fail_reason(sock: socket.socket, length: int, serial: str, remote: str) -> str:
    """A FAIL frame's reason: bounded, and one line of text (it ends up in messages)."""
    if length > MAX_FAIL_BYTES:
        raise TransportError(serial, f"{remote}: FAIL frame of {length} bytes breaks the sync protocol")
    text = "".join(c if c.isprintable() else " " for c in _recv_exact(sock, length).decode("utf-8", "replace"))
    return " ".join(text.split()) or "(no reason given)"
