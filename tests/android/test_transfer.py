"""Verified transfers' decisions (harness.android.transfer), no device: which faults are retried
(by the error's type, never its text), that a temporary device file never outlives a failure,
and that a file is only moved into place once the device's sha256 matches."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from harness.android import sync, transfer
from harness.android.adb import ShellResult
from harness.errors import (
    CorruptTransferError,
    DeviceError,
    DeviceRefusedError,
    DeviceTimeoutError,
    TransportError,
)

SERIAL = "emulator-5554"
REMOTE = "/sdcard/Android/data/com.augmentalis.ava/files/request.json"


class FakeDevice:
    """The parts of adb.Device a transfer uses, recording the shell commands it was sent."""

    def __init__(self, *, retries: int = 3, sha256: list[str | None] | None = None, size: int | None = 0) -> None:
        self.serial = SERIAL
        self.retries = retries
        self.timeout = 5.0
        self.commands: list[list[str]] = []
        self.reconnects = 0
        self._sha256 = list(sha256 or [])
        self._size = size

    def shell(self, argv: list[str], *, timeout: float | None = None, check: bool = False) -> ShellResult:
        self.commands.append(list(argv))
        return ShellResult(" ".join(argv), 0, "", "")

    def sha256(self, path: str) -> str | None:
        return self._sha256.pop(0)

    def file_size(self, path: str) -> int | None:
        return self._size

    def reconnect(self) -> None:
        self.reconnects += 1


def attempts(*outcomes: BaseException | str) -> tuple[Callable[[], str], list[int]]:
    """An attempt that raises or returns each outcome in turn, and the count of calls."""
    calls: list[int] = []

    def attempt() -> str:
        outcome = outcomes[len(calls)]
        calls.append(1)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return attempt, calls


# --- classification ---------------------------------------------------------------------------

RETRIED = [
    TransportError(SERIAL, "/sdcard/f: connection lost during transfer (Broken pipe)"),
    CorruptTransferError(SERIAL, "pulled /sdcard/f: 100 bytes, device has 4096"),
    DeviceTimeoutError(SERIAL, "/sdcard/f: transfer stalled for 30 s"),
]
FINAL = [
    DeviceRefusedError(SERIAL, "push to /sdcard/f failed: No space left on device"),
    DeviceRefusedError(SERIAL, "/sdcard/f: no such file on the device"),
    DeviceError(SERIAL, "`mv -f /sdcard/f.partial-1 /sdcard/f` exited 1: mv: bad", exit_status=1),
    DeviceError(SERIAL, "/sdcard/f: 99999999 bytes is more than the 67108864 expected"),
]


@pytest.mark.parametrize("err", RETRIED, ids=lambda e: type(e).__name__)
def test_transport_faults_corrupt_transfers_and_timeouts_are_retried(err):
    assert transfer._retryable(err)


@pytest.mark.parametrize("err", FINAL, ids=lambda e: f"{type(e).__name__}:{e.message[:20]}")
def test_refusals_and_failed_commands_are_final(err):
    assert not transfer._retryable(err)


def test_the_type_decides_not_the_message():
    assert transfer._retryable(TransportError(SERIAL, "connection lost: permission denied, no space left"))
    assert not transfer._retryable(DeviceRefusedError(SERIAL, "connection reset by peer"))


# --- the retry loop ---------------------------------------------------------------------------


def test_a_transport_fault_is_retried_after_a_reconnect_and_the_temp_file_removed():
    device = FakeDevice()
    attempt, calls = attempts(TransportError(SERIAL, "connection lost"), "ok")
    assert transfer._with_retries(device, attempt, temp="/sdcard/f.partial-1") == "ok"  # type: ignore[arg-type]
    assert len(calls) == 2
    assert device.reconnects == 1  # waited for the device to be back before the second try
    assert device.commands == [["rm", "-f", "/sdcard/f.partial-1"]]


def test_a_refusal_fails_at_once_without_reconnecting_and_removes_the_temp_file():
    device = FakeDevice()
    refusal = DeviceRefusedError(SERIAL, "push to /sdcard/f failed: No space left on device")
    attempt, calls = attempts(refusal, "never reached")
    with pytest.raises(DeviceRefusedError) as err:
        transfer._with_retries(device, attempt, temp="/sdcard/f.partial-1")  # type: ignore[arg-type]
    assert err.value is refusal
    assert len(calls) == 1 and device.reconnects == 0
    assert device.commands == [["rm", "-f", "/sdcard/f.partial-1"]]


def test_retries_are_bounded_and_the_last_fault_is_raised():
    device = FakeDevice(retries=3)
    faults = [DeviceTimeoutError(SERIAL, f"stalled {n}") for n in range(3)]
    attempt, calls = attempts(*faults)
    with pytest.raises(DeviceTimeoutError) as err:
        transfer._with_retries(device, attempt)  # type: ignore[arg-type]
    assert err.value is faults[-1] and len(calls) == 3
    assert device.commands == []  # no temporary file named, none removed


def test_an_error_that_is_not_a_device_error_is_not_retried():
    device = FakeDevice()
    attempt, calls = attempts(ValueError("a bug"), "never reached")
    with pytest.raises(ValueError):
        transfer._with_retries(device, attempt)  # type: ignore[arg-type]
    assert len(calls) == 1 and device.reconnects == 0


# --- verified writes and reads over a fake sync layer -----------------------------------------


def test_write_bytes_moves_into_place_only_after_the_device_sha256_matches(monkeypatch):
    data = b'{"run": 1}'
    digest = hashlib.sha256(data).hexdigest()
    device = FakeDevice(sha256=["0" * 64, digest])  # the first copy arrived damaged
    sent: list[tuple[str, bytes]] = []

    def send(_device: Any, source: Any, total: int, remote: str, progress: Any) -> None:
        sent.append((remote, source.read()))

    monkeypatch.setattr(sync, "send", send)
    transfer.write_bytes(device, REMOTE, data)  # type: ignore[arg-type]
    temp = sent[0][0]
    assert temp.startswith(f"{REMOTE}.partial-") and sent == [(temp, data), (temp, data)]
    moves = [c for c in device.commands if c[0] == "mv"]
    assert moves == [["mv", "-f", temp, REMOTE]]
    assert device.commands.index(moves[0]) > device.commands.index(["rm", "-f", temp])


def test_write_bytes_damaged_every_time_never_reaches_the_final_path(monkeypatch):
    device = FakeDevice(retries=2, sha256=["0" * 64, "1" * 64])
    monkeypatch.setattr(sync, "send", lambda *args: None)
    with pytest.raises(CorruptTransferError, match=r"has sha256 1{64}, expected"):
        transfer.write_bytes(device, REMOTE, b"data")  # type: ignore[arg-type]
    assert not [c for c in device.commands if c[0] == "mv"]


def test_read_bytes_retries_a_short_read_and_returns_the_checked_bytes(monkeypatch):
    data = b"\x93NUMPY" + bytes(100)
    device = FakeDevice(sha256=[hashlib.sha256(data).hexdigest()], size=len(data))
    reads = iter([data[:50], data])
    monkeypatch.setattr(sync, "recv_bytes", lambda _device, _remote: next(reads))
    assert transfer.read_bytes(device, REMOTE) == data  # type: ignore[arg-type]
    assert device.reconnects == 1


def test_read_bytes_of_a_missing_file_is_refused_before_any_transfer(monkeypatch):
    device = FakeDevice(size=None)
    monkeypatch.setattr(sync, "recv_bytes", lambda *args: pytest.fail("nothing to pull"))
    with pytest.raises(DeviceRefusedError, match="no such file on the device"):
        transfer.read_bytes(device, REMOTE)  # type: ignore[arg-type]


def test_read_bytes_larger_than_the_limit_is_a_final_error(monkeypatch):
    device = FakeDevice(size=2048)
    monkeypatch.setattr(sync, "recv_bytes", lambda *args: pytest.fail("nothing to pull"))
    with pytest.raises(DeviceError, match="2048 bytes is more than the 1024 expected") as err:
        transfer.read_bytes(device, REMOTE, limit=1024)  # type: ignore[arg-type]
    assert not transfer._retryable(err.value)
