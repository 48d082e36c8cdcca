"""Error types. A HarnessError is a user's mistake or an environment fault: the CLI prints its
message on one line and exits non-zero, without a traceback."""

from __future__ import annotations


class HarnessError(Exception):
    """A failure the user can act on; `str(err)` is the one line shown."""

    exit_code = 2


class InputError(HarnessError):
    """Bad input: a file, field, model ID or option that cannot be used."""


class ModelUnavailableError(InputError):
    """A model ID that is registered but has no weights obtainable here."""


class DeviceError(HarnessError):
    """A device-side failure, carrying the device serial and, when known, the command,
    its output and its exit code (Mobly's AdbError shape)."""

    exit_code = 3

    def __init__(
        self,
        serial: str,
        message: str,
        *,
        command: str | None = None,
        output: str | None = None,
        exit_status: int | None = None,
    ) -> None:
        self.serial = serial
        self.message = message
        self.command = command
        self.output = output
        self.exit_status = exit_status
        super().__init__(f"device {serial}: {message}")


class TransportError(DeviceError):
    """The connection to the device failed, dropped, or stopped speaking the protocol in the
    middle of a request. Worth another try after a reconnect."""


class CorruptTransferError(TransportError):
    """A transfer ended but the bytes that arrived are not the bytes sent (short, or another
    sha256): damaged or cut in transit, so worth another try like any transport fault."""


class DeviceTimeoutError(DeviceError):
    """No answer within the request's timeout: the device is busy, stalled or gone. Worth
    another try after a reconnect."""


class DeviceRefusedError(DeviceError):
    """The device answered and said no: no space left, permission denied, a read-only file
    system, no such file. Asking again gets the same answer."""


class GateFailure(HarnessError):
    """A quality or parity gate did not pass."""

    exit_code = 1
