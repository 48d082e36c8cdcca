"""Error types. A HarnessError is a user's mistake or an environment fault: the CLI prints its
message on one line and exits non-zero, without a traceback."""

from __future__ import annotations

from typing import Any


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
        stdout: str | None = None,
        stderr: str | None = None,
    ) -> None:
        self.serial = serial
        self.message = message
        self.command = command
        # `output` is what the message quotes (stderr when there was any, else stdout); stdout and
        # stderr are kept apart when the device sent them apart (shell v2), None when unknown.
        self.output = output
        self.exit_status = exit_status
        self.stdout = stdout
        self.stderr = stderr
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
    system, no such file. Asking again gets the same answer. `reason` names the refusal
    (REFUSAL_REASONS) when the device's answer said which, classified where the answer arrived
    (a sync FAIL frame, a shell command's exit and stderr); None when it did not."""

    def __init__(self, serial: str, message: str, *, reason: str | None = None, **details: Any) -> None:
        super().__init__(serial, message, **details)
        self.reason = reason


# DeviceRefusedError.reason values.
REFUSAL_REASONS = ("no_space", "permission_denied", "read_only", "no_such_file")


class ContractError(DeviceError):
    """A file the device wrote breaks the device contract (device_tests/CONTRACT.md): not the
    format, a field of the wrong type or out of range, too large. The device's fault, not the
    user's, and final: asking again gets the same file. `path` is the device file, `field` the
    part of it that is wrong; `str(err)` is one line, `<serial>:<path>: <what is wrong>`."""

    def __init__(self, serial: str, path: str, field: str, problem: str) -> None:
        where = f"{serial}:{path}" if serial else path
        super().__init__(serial, f"{where}: {problem}")
        self.path = path
        self.field = field
        self.problem = problem
        self.args = (self.message,)


class GateFailure(HarnessError):
    """A quality or parity gate did not pass."""

    exit_code = 1
