"""The harness's adb layer: a thin typed layer over adbutils, with what a release tool needs on
top: devices behind several adb servers, a timeout on every call, every shell argument quoted,
verified transfers (push to a temporary name, sha256 on the device, then rename; pull with
size and hash checks), bounded retries where they are safe, and errors that carry the device,
the command, its output and exit code."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import posixpath
import re
import shlex
import socket
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

import adbutils
from adbutils.errors import AdbError, AdbTimeout

from harness.errors import DeviceError, InputError
from harness.fileio import atomic_output, sha256_file

DEFAULT_TIMEOUT = 30.0
SYNC_CHUNK = 64 * 1024  # the sync protocol's maximum DATA size
# Device paths the harness writes: plain characters only, absolute, no traversal.
SAFE_DEVICE_PATH = re.compile(r"^/[A-Za-z0-9._/+-]{1,1000}$")
TransferProgress = Callable[[int, int], None]
T = TypeVar("T")


@dataclass(frozen=True)
class AdbServer:
    host: str = "127.0.0.1"
    port: int = 5037

    @classmethod
    def parse(cls, text: str) -> AdbServer:
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InputError(f"--adb-server {text!r}: expected HOST:PORT")
        return cls(host, int(port))

    @classmethod
    def from_env(cls) -> AdbServer:
        return cls(
            os.environ.get("ANDROID_ADB_SERVER_HOST", "127.0.0.1"),
            int(os.environ.get("ANDROID_ADB_SERVER_PORT", "5037")),
        )

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
    """The adb on PATH, else the one the adbutils wheel ships."""
    return adbutils.adb_path()


def validate_device_path(path: str) -> str:
    if not SAFE_DEVICE_PATH.fullmatch(path or "") or "/../" in f"{path}/" or "/./" in f"{path}/" or "//" in path:
        raise InputError(f"device path {path!r} is not allowed (absolute, plain characters, no '..')")
    return path


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
    serial = serial or os.environ.get("ANDROID_SERIAL")
    if not serial:
        raise InputError("no device given: pass a serial (or set ANDROID_SERIAL)")
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
        try:
            raw = self._device.shell2(
                command, timeout=timeout or self.timeout, encoding=None, v2="shell_v2" in self.features
            )
        except AdbTimeout:
            raise DeviceError(
                self.serial, f"timed out after {timeout or self.timeout:.0f} s", command=command
            ) from None
        except (AdbError, OSError) as err:
            raise self._error("shell failed", err, command=command) from None
        result = ShellResult(
            command, raw.returncode, raw.stdout.decode("utf-8", "replace"), raw.stderr.decode("utf-8", "replace")
        )
        if "shell_v2" not in self.features:  # v1 merges streams
            result = ShellResult(command, raw.returncode, raw.output.decode("utf-8", "replace"), "")
        if check and not result.ok:
            output = (result.stderr or result.stdout).strip()
            raise DeviceError(
                self.serial,
                f"`{command}` exited {result.exit_code}: {output.splitlines()[-1] if output else ''}",
                command=command,
                output=output,
                exit_status=result.exit_code,
            )
        return result

    def open_stream(self, command: str) -> adbutils.AdbConnection:
        """A raw shell stream (v1, as `am instrument` output is read) for incremental parsing."""
        try:
            return self._device.shell(command, stream=True)
        except (AdbError, OSError) as err:
            raise self._error("cannot open shell stream", err, command=command) from None

    def getprop(self) -> dict[str, str]:
        text = self.shell(["getprop"], check=True).stdout
        return dict(re.findall(r"^\[([^\]]+)\]: \[([^\]]*)\]", text, re.MULTILINE))

    def state(self) -> str:
        try:
            return self._device.get_state()
        except (AdbError, OSError) as err:
            raise self._error("cannot read state", err) from None

    # --- files -------------------------------------------------------------------------
    def sha256(self, path: str) -> str | None:
        """sha256 of a device file, or None if it does not exist."""
        result = self.shell(["sha256sum", validate_device_path(path)], timeout=max(self.timeout, 120))
        if not result.ok:
            return None
        digest = result.stdout.split()[0] if result.stdout.split() else ""
        return digest if re.fullmatch(r"[0-9a-f]{64}", digest) else None

    def file_size(self, path: str) -> int | None:
        result = self.shell(["stat", "-c", "%s", validate_device_path(path)])
        return int(result.stdout.strip()) if result.ok and result.stdout.strip().isdigit() else None

    def free_bytes(self, path: str) -> int:
        result = self.shell(["df", "-k", validate_device_path(path)], check=True)
        lines = [line.split() for line in result.stdout.strip().splitlines()[1:] if line.split()]
        if not lines or len(lines[-1]) < 4 or not lines[-1][3].isdigit():
            raise DeviceError(
                self.serial, f"cannot read free space from df: {result.stdout.strip()!r}", command=result.command
            )
        return int(lines[-1][3]) * 1024

    def push_verified(
        self, local: Path, remote: str, *, progress: TransferProgress | None = None, expected_sha256: str | None = None
    ) -> bool:
        """Push so that `remote` only ever holds a verified copy. Returns False when the device
        already had the same bytes (nothing sent)."""
        validate_device_path(remote)
        size = local.stat().st_size
        with ThreadPoolExecutor(max_workers=1) as pool:
            # hashlib releases the GIL: the local hash runs beside the transfer, not before it.
            local_digest = pool.submit(lambda: expected_sha256 or sha256_file(local))
            if self.file_size(remote) == size and self.sha256(remote) == local_digest.result():
                return False

            def send(temp: str) -> None:
                with open(local, "rb") as handle:
                    self._send(handle, size, temp, progress)

            self._put_verified(remote, send, local_digest.result)
        return True

    def write_bytes(self, remote: str, data: bytes) -> None:
        """Small files: written to a temporary name, checked, renamed."""
        validate_device_path(remote)
        digest = hashlib.sha256(data).hexdigest()
        self._put_verified(remote, lambda temp: self._send(io.BytesIO(data), len(data), temp, None), lambda: digest)

    def _put_verified(self, remote: str, send: Callable[[str], None], digest: Callable[[], str]) -> None:
        """Send to a temporary name, check its sha256 on the device, then rename into place."""
        temp = f"{remote}.partial-{os.getpid()}"
        self.shell(["mkdir", "-p", posixpath.dirname(remote)], check=True)

        def attempt() -> None:
            send(temp)
            got, expected = self.sha256(temp), digest()
            if got != expected:
                raise DeviceError(self.serial, f"pushed {remote} has sha256 {got}, expected {expected}")
            self.shell(["mv", "-f", temp, remote], check=True)

        self._with_retries(attempt, temp=temp)

    def pull_verified(self, remote: str, local: Path, *, progress: TransferProgress | None = None) -> Path:
        """Pull with the device's size and sha256 checked; `local` only ever holds a verified file."""
        validate_device_path(remote)
        expected_size = self.file_size(remote)
        if expected_size is None:
            raise DeviceError(self.serial, f"{remote}: no such file on the device")
        expected = self.sha256(remote)

        def attempt() -> Path:
            with atomic_output(local) as tmp:
                received = self._recv_file(remote, tmp, progress)
                if received != expected_size:
                    raise DeviceError(self.serial, f"pulled {remote}: {received} bytes, device has {expected_size}")
                got = sha256_file(tmp)
                if got != expected:
                    raise DeviceError(
                        self.serial, f"pulled {remote}: sha256 {got} differs from the device's {expected}"
                    )
            return local

        return self._with_retries(attempt)

    def read_bytes(self, remote: str, limit: int = 64 * 1024 * 1024) -> bytes:
        """Small files (JSON, .npy): pulled and checked in memory."""
        validate_device_path(remote)
        size = self.file_size(remote)
        if size is None:
            raise DeviceError(self.serial, f"{remote}: no such file on the device")
        if size > limit:
            raise DeviceError(self.serial, f"{remote}: {size} bytes is more than the {limit} expected")
        expected = self.sha256(remote)

        def attempt() -> bytes:
            with self._sync(remote, b"RECV") as conn:
                data = b"".join(_recv_chunks(conn, self.serial, remote))
            if len(data) != size or hashlib.sha256(data).hexdigest() != expected:
                raise DeviceError(self.serial, f"pulled {remote}: size or sha256 differs from the device's copy")
            return data

        return self._with_retries(attempt)

    def _with_retries(self, attempt: Callable[[], T], *, temp: str | None = None) -> T:
        """Run one transfer; after a transport fault, reconnect and try again (bounded). A full
        disk or a refused path fails at once. A temporary device file never outlives a failure."""
        for number in range(1, self.retries + 1):
            try:
                return attempt()
            except DeviceError as err:
                retryable = _retryable(err)
                if retryable:
                    self._reconnect()
                if temp:
                    self._remove_quietly(temp)
                if not retryable or number == self.retries:
                    raise
        raise AssertionError("unreachable")

    # --- sync protocol (64 KiB DATA chunks; adbutils sends 4 KiB and drops FAIL reasons) ----
    @contextlib.contextmanager
    def _sync(self, path: str, request: bytes) -> Iterator[socket.socket]:
        try:
            connection = self._device.open_transport(timeout=self.timeout)
            connection.send_command("sync:")
            connection.check_okay()
        except (AdbError, OSError) as err:
            raise self._error("cannot open sync session", err) from None
        sock = connection.conn
        sock.settimeout(self.timeout)
        try:
            encoded = path.encode("utf-8")
            sock.sendall(request + struct.pack("<I", len(encoded)) + encoded)
            yield sock
            with contextlib.suppress(OSError):
                sock.sendall(b"QUIT" + struct.pack("<I", 0))
        except TimeoutError:
            raise DeviceError(self.serial, f"{path}: transfer stalled for {self.timeout:.0f} s") from None
        except OSError as err:
            raise DeviceError(self.serial, f"{path}: connection lost during transfer ({err})") from None
        finally:
            connection.close()

    def _send(self, source: BinaryIO, total: int, remote: str, progress: TransferProgress | None) -> None:
        sent = 0
        block = bytearray(SYNC_CHUNK * 16)
        view = memoryview(block)
        with self._sync(f"{remote},33188", b"SEND") as sock:
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
            _expect_okay(sock, self.serial, remote)

    def _recv_file(self, remote: str, local: Path, progress: TransferProgress | None) -> int:
        received = 0
        with self._sync(remote, b"RECV") as sock, open(local, "wb") as handle:
            for chunk in _recv_chunks(sock, self.serial, remote):
                handle.write(chunk)
                received += len(chunk)
                if progress:
                    progress(received, received)
        return received

    def _remove_quietly(self, path: str) -> None:
        """Best effort: a temporary file must not outlive a failed transfer, but the device may
        be gone; the next push uses the same name and overwrites it."""
        with contextlib.suppress(DeviceError):
            self.shell(["rm", "-f", path], timeout=10)

    def _reconnect(self) -> None:
        """After a dropped transfer: ask the server to reconnect a TCP device, then wait for it."""
        if ":" in self.serial:
            with contextlib.suppress(AdbError, OSError):
                self._client.connect(self.serial, timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(AdbError, OSError):
                if self._device.get_state() == "device":
                    return
            time.sleep(0.3)

    def _error(self, what: str, err: BaseException, *, command: str | None = None) -> DeviceError:
        text = str(err).strip() or type(err).__name__
        if "not found" in text and "device" in text:
            return DeviceError(self.serial, f"{what}: device not found (disconnected?)", command=command, output=text)
        if "offline" in text:
            return DeviceError(self.serial, f"{what}: device offline", command=command, output=text)
        return DeviceError(self.serial, f"{what}: {text}", command=command, output=text)


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
                raise DeviceError(serial, f"{remote}: DATA chunk of {length} bytes breaks the sync protocol")
            yield _recv_exact(sock, length)
        elif tag == b"DONE":
            return
        elif tag == b"FAIL":
            raise DeviceError(serial, f"{remote}: {_recv_exact(sock, length).decode('utf-8', 'replace')}")
        else:
            raise DeviceError(serial, f"{remote}: unexpected sync reply {tag!r}")


def _expect_okay(sock: socket.socket, serial: str, remote: str) -> None:
    header = _recv_exact(sock, 8)
    if header[:4] == b"OKAY":
        return
    if header[:4] == b"FAIL":
        length = struct.unpack("<I", header[4:])[0]
        message = _recv_exact(sock, length).decode("utf-8", "replace")
        raise DeviceError(serial, f"push to {remote} failed: {message}", output=message)
    raise DeviceError(serial, f"push to {remote}: unexpected sync reply {header[:4]!r}")


def _retryable(err: DeviceError) -> bool:
    """Transport faults are worth another try; a full disk or a refused path is not."""
    text = err.message.lower()
    return not any(
        s in text for s in ("no space left", "permission denied", "read-only", "not allowed", "no such file")
    )
