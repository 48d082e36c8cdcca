"""The harness's adb layer: a thin typed layer over adbutils, with what a release tool needs on
top: devices behind several adb servers, a timeout on every call, every shell argument quoted,
verified transfers (push to a temporary name, sha256 on the device, then rename; pull with
size and hash checks), bounded retries where they are safe, and errors that carry the device,
the command, its output and exit code.

The transfers live in harness.android.transfer, the sync protocol's framing in
harness.android.sync; Device's methods are the way in."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import shlex
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import adbutils
from adbutils.errors import AdbError, AdbTimeout

from harness import settings
from harness.android import transfer
from harness.android.sync import TransferProgress, refusal_reason
from harness.errors import DeviceError, DeviceRefusedError, DeviceTimeoutError, InputError, TransportError
from virtual_device.adbtools import find_adb

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = settings.ADB_SOCKET_TIMEOUT
SHA256_MIN_TIMEOUT = 120.0  # sha256sum of a model file takes a while on a slow device
RECONNECT_TIMEOUT = 10.0  # asking the server to reconnect a TCP device
RECONNECT_WAIT = 15.0  # waiting for a device to be online again after a dropped connection
# Device paths the harness writes: plain characters only, absolute, no traversal.
SAFE_DEVICE_PATH = re.compile(r"^/[A-Za-z0-9._/+-]{1,1000}$")
_ASCII_COUNT = re.compile(r"[0-9]{1,19}")  # a size in a command's output (str.isdigit takes "²" and "٣")

__all__ = [
    "DEFAULT_TIMEOUT",
    "SAFE_DEVICE_PATH",
    "AdbServer",
    "Device",
    "DeviceInfo",
    "ShellResult",
    "TransferProgress",
    "adb_binary",
    "connect",
    "list_devices",
    "parse_getprop",
    "resolve_serial",
    "validate_device_path",
]


@dataclass(frozen=True)
class AdbServer:
    host: str = settings.DEFAULT_ADB_SERVER_HOST
    port: int = settings.DEFAULT_ADB_SERVER_PORT

    @classmethod
    def parse(cls, text: str) -> AdbServer:
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InputError(f"--adb-server {text!r}: expected HOST:PORT")
        return cls(host, int(port))

    @classmethod
    def from_env(cls) -> AdbServer:
        return cls(*settings.adb_server_address())

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    def client(self, timeout: float = DEFAULT_TIMEOUT) -> adbutils.AdbClient:
        return adbutils.AdbClient(host=self.host, port=self.port, socket_timeout=timeout)

    def is_up(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=2):
            return True
        return False


@dataclass(frozen=True)
class ShellResult:
    command: str
    exit_code: int
    stdout: str
    stderr: str
    # Shell v1 (no shell_v2 feature) merges the streams: everything is in stdout, stderr is "".
    streams_merged: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class DeviceInfo:
    serial: str
    state: str
    server: AdbServer
    props: dict[str, str] = field(default_factory=dict)


def adb_binary() -> str:
    """$ADB, else the adb the adbutils wheel ships, else adb on PATH: the one rule, kept in
    virtual_device.adbtools.find_adb so the tests' adb servers and deploy-test run the same adb."""
    return find_adb()


def validate_device_path(path: str) -> str:
    if not SAFE_DEVICE_PATH.fullmatch(path or "") or "/../" in f"{path}/" or "/./" in f"{path}/" or "//" in path:
        raise InputError(f"device path {path!r} is not allowed (absolute, plain characters, no '..')")
    return path


def parse_getprop(text: str) -> dict[str, str]:
    """`getprop` output, one `[name]: [value]` per line: the name ends at the first `]: [`, the
    value at the line's final `]`, so a value may itself hold `]` or `]: [`. Other lines are
    skipped; a name given twice keeps its last value."""
    props = {}
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line.startswith("[") and line.endswith("]"):
            name, sep, value = line[1:-1].partition("]: [")
            if sep and name:
                props[name] = value
    return props


def list_devices(servers: Sequence[AdbServer]) -> list[DeviceInfo]:
    found = []
    for server in servers:
        if not server.is_up():
            continue
        try:
            for item in server.client().list():
                found.append(DeviceInfo(item.serial, item.state, server))
        except AdbError:
            continue
    return found


def resolve_serial(serial: str | None) -> str:
    serial = serial or os.environ.get(settings.ENV_SERIAL)
    if not serial:
        raise InputError(f"no device given: pass a serial (or set {settings.ENV_SERIAL})")
    return serial


def connect(serial: str | None, servers: Sequence[AdbServer] = (), *, timeout: float = DEFAULT_TIMEOUT) -> Device:
    """The device with this serial on the first server that has it, checked to be online."""
    serial = resolve_serial(serial)
    servers = list(servers) or [AdbServer.from_env()]
    up = [s for s in servers if s.is_up()]
    if not up:
        names = ", ".join(map(str, servers))
        raise DeviceError(serial, f"no adb server at {names} (start one with `adb start-server`)")
    known = list_devices(up)
    match = next((d for d in known if d.serial == serial), None)
    if match is None:
        listing = ", ".join(f"{d.serial} ({d.state})" for d in known) or "none"
        raise DeviceError(serial, f"not found on adb server(s) {', '.join(map(str, up))}; attached: {listing}")
    if match.state == "unauthorized":
        raise DeviceError(serial, "unauthorized: accept the USB debugging prompt on the device")
    if match.state != "device":
        raise DeviceError(serial, f"is {match.state}, not online")
    return Device(serial, match.server, timeout=timeout)


class Device:
    def __init__(self, serial: str, server: AdbServer, *, timeout: float = DEFAULT_TIMEOUT, retries: int = 3) -> None:
        self.serial = serial
        self.server = server
        self.timeout = timeout
        self.retries = retries
        self._client = server.client(timeout)
        self._device = self._client.device(serial)
        self._features: set[str] | None = None

    # --- shell -------------------------------------------------------------------------
    @property
    def features(self) -> set[str]:
        if self._features is None:
            try:
                self._features = set(self._device.get_features().split(","))
            except AdbError as err:
                raise self._error("cannot read device features", err) from None
        return self._features

    def shell(self, argv: Sequence[str], *, timeout: float | None = None, check: bool = False) -> ShellResult:
        """Run a command; every argument is quoted, so values arrive on the device intact."""
        command = shlex.join(str(a) for a in argv)
        return self.shell_line(command, timeout=timeout, check=check)

    def shell_line(self, command: str, *, timeout: float | None = None, check: bool = False) -> ShellResult:
        """Run an already-quoted command line (e.g. from build_instrument_command)."""
        started = time.monotonic()
        try:
            raw = self._device.shell2(
                command, timeout=timeout or self.timeout, encoding=None, v2="shell_v2" in self.features
            )
        except AdbTimeout:
            raise DeviceTimeoutError(
                self.serial, f"timed out after {timeout or self.timeout:.0f} s", command=command
            ) from None
        except (AdbError, OSError) as err:
            raise self._error("shell failed", err, command=command) from None
        if "shell_v2" in self.features:
            stdout, stderr = raw.stdout.decode("utf-8", "replace"), raw.stderr.decode("utf-8", "replace")
            result = ShellResult(command, raw.returncode, stdout, stderr)
        else:  # v1 merges streams
            result = ShellResult(
                command, raw.returncode, raw.output.decode("utf-8", "replace"), "", streams_merged=True
            )
        log.debug(
            "adb -s %s shell %s: exit %d, %.0f ms", self.serial, command, result.exit_code,
            (time.monotonic() - started) * 1000,
        )  # fmt: skip
        if check and not result.ok:
            raise self._exit_error(result)
        return result

    def _exit_error(self, result: ShellResult) -> DeviceError:
        """A command that ran and exited non-zero: a DeviceRefusedError when its own stderr ends a
        line with the errno text of a refusal (no space, permission denied, read-only file system,
        no such file), else a DeviceError. Final either way. With shell v1 the streams are merged
        and stderr is unknown, so nothing is classified."""
        output = (result.stderr or result.stdout).strip()
        message = f"`{result.command}` exited {result.exit_code}: {output.splitlines()[-1] if output else ''}"
        reason = None if result.streams_merged else refusal_reason(result.stderr, stderr=True)
        kind = DeviceError if reason is None else functools.partial(DeviceRefusedError, reason=reason)
        return kind(
            self.serial,
            message,
            command=result.command,
            output=output,
            exit_status=result.exit_code,
            stdout=result.stdout,
            stderr=None if result.streams_merged else result.stderr,
        )

    def open_stream(self, command: str) -> adbutils.AdbConnection:
        """A raw shell stream (v1, as `am instrument` output is read) for incremental parsing."""
        try:
            return self._device.shell(command, stream=True)
        except (AdbError, OSError) as err:
            raise self._error("cannot open shell stream", err, command=command) from None

    def getprop(self) -> dict[str, str]:
        return parse_getprop(self.shell(["getprop"], check=True).stdout)

    def state(self) -> str:
        try:
            return self._device.get_state()
        except (AdbError, OSError) as err:
            raise self._error("cannot read state", err) from None

    # --- files -------------------------------------------------------------------------
    def sha256(self, path: str) -> str | None:
        """sha256 of a device file, or None if it does not exist."""
        result = self.shell(["sha256sum", validate_device_path(path)], timeout=max(self.timeout, SHA256_MIN_TIMEOUT))
        if not result.ok:
            return None
        digest = result.stdout.split()[0] if result.stdout.split() else ""
        return digest if re.fullmatch(r"[0-9a-f]{64}", digest) else None

    def file_size(self, path: str) -> int | None:
        result = self.shell(["stat", "-c", "%s", validate_device_path(path)])
        size = result.stdout.strip()
        return int(size) if result.ok and _ASCII_COUNT.fullmatch(size) else None

    def free_bytes(self, path: str) -> int:
        result = self.shell(["df", "-k", validate_device_path(path)], check=True)
        lines = [line.split() for line in result.stdout.strip().splitlines()[1:] if line.split()]
        if not lines or len(lines[-1]) < 4 or not _ASCII_COUNT.fullmatch(lines[-1][3]):
            raise DeviceError(
                self.serial, f"cannot read free space from df: {result.stdout.strip()!r}", command=result.command
            )
        return int(lines[-1][3]) * 1024

    # --- verified transfers (harness.android.transfer) ----------------------------------
    def push_verified(
        self, local: Path, remote: str, *, progress: TransferProgress | None = None, expected_sha256: str | None = None
    ) -> bool:
        """Push so that `remote` only ever holds a verified copy. Returns False when the device
        already had the same bytes (nothing sent)."""
        return transfer.push_verified(
            self, local, validate_device_path(remote), progress=progress, expected_sha256=expected_sha256
        )

    def write_bytes(self, remote: str, data: bytes) -> None:
        """Small files: written to a temporary name, checked, renamed."""
        transfer.write_bytes(self, validate_device_path(remote), data)

    def pull_verified(self, remote: str, local: Path, *, progress: TransferProgress | None = None) -> Path:
        """Pull with the device's size and sha256 checked; `local` only ever holds a verified file."""
        return transfer.pull_verified(self, validate_device_path(remote), local, progress=progress)

    def read_bytes(self, remote: str, limit: int = 64 * 1024 * 1024) -> bytes:
        """Small files (JSON, .npy): pulled and checked in memory."""
        return transfer.read_bytes(self, validate_device_path(remote), limit)

    def reconnect(self) -> None:
        """After a dropped connection: ask the server to reconnect a TCP device, then wait (up to
        RECONNECT_WAIT seconds) for it to be online again. Best effort: the next request tells."""
        if ":" in self.serial:
            with contextlib.suppress(AdbError, OSError):
                self._client.connect(self.serial, timeout=RECONNECT_TIMEOUT)
        deadline = time.monotonic() + RECONNECT_WAIT
        while time.monotonic() < deadline:
            with contextlib.suppress(DeviceError):
                if self.state() == "device":
                    return
            time.sleep(0.3)

    def open_sync(self) -> adbutils.AdbConnection:
        """A connection to the device's sync service (framed by harness.android.sync)."""
        try:
            connection = self._device.open_transport(timeout=self.timeout)
            connection.send_command("sync:")
            connection.check_okay()
        except (AdbError, OSError) as err:
            raise self._error("cannot open sync session", err) from None
        return connection

    def _error(self, what: str, err: BaseException, *, command: str | None = None) -> DeviceError:
        """An adbutils or socket failure as a DeviceTimeoutError (no answer in time) or a
        TransportError (anything else: the request never got a real answer)."""
        kind = DeviceTimeoutError if isinstance(err, AdbTimeout | TimeoutError) else TransportError
        text = str(err).strip() or type(err).__name__
        if "not found" in text and "device" in text:
            return kind(self.serial, f"{what}: device not found (disconnected?)", command=command, output=text)
        if "offline" in text:
            return kind(self.serial, f"{what}: device offline", command=command, output=text)
        return kind(self.serial, f"{what}: {text}", command=command, output=text)
