"""Verified transfers for harness.android.adb.Device: push to a temporary name, sha256 on the
device, then rename; pull with size and hash checks; bounded retries where they are safe.

Device's push_verified, pull_verified, write_bytes and read_bytes are the entry points: they
validate the device path, then call these functions."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import posixpath
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

from harness.android import sync
from harness.android.sync import TransferProgress
from harness.errors import CorruptTransferError, DeviceError, DeviceRefusedError, DeviceTimeoutError, TransportError
from harness.fileio import atomic_output, sha256_file


class TransferDevice(sync.SyncDevice, Protocol):
    """What a verified transfer needs from a device: harness.android.adb.Device has it. A
    Protocol, so this module sits below adb.py and never imports it."""

    retries: int

    def shell(self, argv: Sequence[str], *, timeout: float | None = None, check: bool = False) -> object: ...

    def sha256(self, path: str) -> str | None: ...

    def file_size(self, path: str) -> int | None: ...

    def reconnect(self) -> None: ...


T = TypeVar("T")
CLEANUP_TIMEOUT = 10.0  # seconds for removing a temporary file after a failure
# A push goes to `<remote>.partial-<host pid>` first; a killed run can leave one behind.
TEMP_MARKER = ".partial-"


def temp_path(remote: str) -> str:
    return f"{remote}{TEMP_MARKER}{os.getpid()}"


def is_temp_name(name: str) -> bool:
    stem, marker, pid = name.rpartition(TEMP_MARKER)
    return bool(stem and marker and pid.isdigit())


def push_verified(
    device: TransferDevice,
    local: Path,
    remote: str,
    *,
    progress: TransferProgress | None = None,
    expected_sha256: str | None = None,
) -> bool:
    """Push so that `remote` only ever holds a verified copy. Returns False when the device
    already had the same bytes (nothing sent)."""
    size = local.stat().st_size
    with ThreadPoolExecutor(max_workers=1) as pool:
        # hashlib releases the GIL: the local hash runs beside the transfer, not before it.
        local_digest = pool.submit(lambda: expected_sha256 or sha256_file(local))
        if device.file_size(remote) == size and device.sha256(remote) == local_digest.result():
            return False

        def send(temp: str) -> None:
            with open(local, "rb") as handle:
                sync.send(device, handle, size, temp, progress)

        _put_verified(device, remote, send, local_digest.result)
    return True


def write_bytes(device: TransferDevice, remote: str, data: bytes) -> None:
    """Small files: written to a temporary name, checked, renamed."""
    digest = hashlib.sha256(data).hexdigest()
    _put_verified(
        device, remote, lambda temp: sync.send(device, io.BytesIO(data), len(data), temp, None), lambda: digest
    )


def _put_verified(device: TransferDevice, remote: str, send: Callable[[str], None], digest: Callable[[], str]) -> None:
    """Send to a temporary name, check its sha256 on the device, then rename into place."""
    temp = temp_path(remote)
    device.shell(["mkdir", "-p", posixpath.dirname(remote)], check=True)

    def attempt() -> None:
        send(temp)
        got, expected = device.sha256(temp), digest()
        if got != expected:
            raise CorruptTransferError(device.serial, f"pushed {remote} has sha256 {got}, expected {expected}")
        device.shell(["mv", "-f", temp, remote], check=True)

    _with_retries(device, attempt, temp=temp)


def pull_verified(
    device: TransferDevice, remote: str, local: Path, *, progress: TransferProgress | None = None
) -> Path:
    """Pull with the device's size and sha256 checked; `local` only ever holds a verified file."""
    expected_size = device.file_size(remote)
    if expected_size is None:
        raise DeviceRefusedError(device.serial, f"{remote}: no such file on the device")
    expected = device.sha256(remote)

    def attempt() -> Path:
        with atomic_output(local) as tmp:
            received = sync.recv_file(device, remote, tmp, progress)
            if received != expected_size:
                raise CorruptTransferError(
                    device.serial, f"pulled {remote}: {received} bytes, device has {expected_size}"
                )
            got = sha256_file(tmp)
            if got != expected:
                raise CorruptTransferError(
                    device.serial, f"pulled {remote}: sha256 {got} differs from the device's {expected}"
                )
        return local

    return _with_retries(device, attempt)


def read_bytes(device: TransferDevice, remote: str, limit: int = 64 * 1024 * 1024) -> bytes:
    """Small files (JSON, .npy): pulled and checked in memory."""
    size = device.file_size(remote)
    if size is None:
        raise DeviceRefusedError(device.serial, f"{remote}: no such file on the device")
    if size > limit:
        raise DeviceError(device.serial, f"{remote}: {size} bytes is more than the {limit} expected")
    expected = device.sha256(remote)

    def attempt() -> bytes:
        data = sync.recv_bytes(device, remote)
        if len(data) != size or hashlib.sha256(data).hexdigest() != expected:
            raise CorruptTransferError(device.serial, f"pulled {remote}: size or sha256 differs from the device's copy")
        return data

    return _with_retries(device, attempt)


def _with_retries(device: TransferDevice, attempt: Callable[[], T], *, temp: str | None = None) -> T:
    """Run one transfer; after a transport fault or a timeout, reconnect and try again (bounded).
    Anything else (a refusal such as a full disk, a command that failed) fails at once. A
    temporary device file never outlives a failure."""
    for number in range(1, device.retries + 1):
        try:
            return attempt()
        except DeviceError as err:
            retryable = _retryable(err)
            if retryable:
                device.reconnect()
            if temp:
                _remove_quietly(device, temp)
            if not retryable or number == device.retries:
                raise
    raise AssertionError("unreachable")


def _remove_quietly(device: TransferDevice, path: str) -> None:
    """Best effort: a temporary file must not outlive a failed transfer, but the device may
    be gone; the next push uses the same name and overwrites it."""
    with contextlib.suppress(DeviceError):
        device.shell(["rm", "-f", path], timeout=CLEANUP_TIMEOUT)


def _retryable(err: DeviceError) -> bool:
    """Decided by the error's type, set where it happened: the connection dropped, a frame broke
    the protocol, the bytes arrived damaged (TransportError, CorruptTransferError) or nothing
    answered in time (DeviceTimeoutError) are worth another try. The device's own refusal
    (DeviceRefusedError) and a plain DeviceError (a command's non-zero exit, output the harness
    cannot use) are final."""
    return isinstance(err, TransportError | DeviceTimeoutError)
