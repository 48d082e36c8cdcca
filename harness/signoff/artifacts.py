"""Per-device artifacts: what a device run keeps so a failed device can be diagnosed (issue 13).

The device run collects them in memory, bounded, on `DeviceRun.artifact_data` (file name ->
bytes); the report writers write them under reports/<run-id>/<device_dir_name(serial)>/, each
file on its own. What a run keeps:

- `instrumentation.txt`: the raw `am instrument -r` output as received (at most the collector's
  MAX_OUTPUT_BYTES);
- `host-error.txt`: the host's traceback when the device run raised an unexpected exception;
- `logcat.txt`: the device log, cleared (`logcat -c`) before the instrumentation and dumped
  (`logcat -d -v threadtime`) after it, plus the crash buffer (`logcat -b crash`) when the run
  failed; at most LOGCAT_MAX_BYTES (the newest lines are kept, with a note). A device that refuses
  logcat costs only the log: `DeviceRun.artifact_notes` says "logcat unavailable: <reason>";
- `profile-<model>.json`: the device's ONNX Runtime profile of a model (contract v3).
"""

from __future__ import annotations

import contextlib
import re
import traceback
import unicodedata
from dataclasses import dataclass

from harness.android.adb import Device
from harness.android.instrument_run import Reader
from harness.errors import HarnessError
from harness.signoff.results import DeviceRun

INSTRUMENTATION_FILE = "instrumentation.txt"
HOST_ERROR_FILE = "host-error.txt"
LOGCAT_FILE = "logcat.txt"
LOGCAT_MAX_BYTES = 4 * 1024 * 1024
HOST_ERROR_MAX_BYTES = 256 * 1024
LOGCAT_TIMEOUT = 10.0
EXCERPT_LINES = 40  # lines of logcat shown at the top of the page for a failed device
EXCERPT_LINE_CHARS = 400
DIR_NAME_MAX = 100

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# Names Windows refuses whatever the extension (CON.txt is CON).
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}


def device_dir_name(serial: str) -> str:
    """The directory of a device's artifacts under reports/<run-id>/: the serial with every
    character other than ASCII letters, digits, '.', '_' and '-' made '_' (127.0.0.1:5555 ->
    127.0.0.1_5555), safe on every OS: no leading or trailing dot, never '.', '..' or a Windows
    device name, at most DIR_NAME_MAX characters. The one place this mapping is made; the
    writer keeps two serials that map to one name apart (see unique_dir_names)."""
    name = _UNSAFE.sub("_", unicodedata.normalize("NFKC", str(serial)))
    name = name.strip(".")[:DIR_NAME_MAX].rstrip(".") or "device"
    if name.split(".")[0].upper() in _RESERVED:
        name = f"_{name}"
    return name


def unique_dir_names(serials: list[str]) -> list[str]:
    """device_dir_name of each serial, with -2, -3 ... added where two would be the same name
    on a case-insensitive file system."""
    seen: set[str] = set()
    names = []
    for serial in serials:
        base = device_dir_name(serial)
        name, n = base, 1
        while name.lower() in seen:
            n += 1
            name = f"{base}-{n}"
        seen.add(name.lower())
        names.append(name)
    return names


def artifact_name(prefix: str, model_id: str, suffix: str) -> str:
    return f"{prefix}{device_dir_name(model_id)}{suffix}"


def keep_tail(data: bytes, limit: int, what: str) -> tuple[bytes, str | None]:
    """`data` cut to its last `limit` bytes at a line start, and the note saying so (or None)."""
    if len(data) <= limit:
        return data, None
    tail = data[-limit:]
    newline = tail.find(b"\n")
    if 0 <= newline < len(tail) - 1:
        tail = tail[newline + 1 :]
    return tail, f"{what} cut to its last {len(tail)} of {len(data)} bytes"


def record_host_error(record: DeviceRun) -> None:
    """In an `except` block: the traceback to host-error.txt (bounded: the innermost frames kept)."""
    text = traceback.format_exc().encode("utf-8", "replace")
    data, note = keep_tail(text, HOST_ERROR_MAX_BYTES, HOST_ERROR_FILE)
    record.artifact_data[HOST_ERROR_FILE] = data
    if note:
        record.artifact_notes.append(note)


@dataclass
class LogcatCapture:
    """The device log around one instrumentation. `start` clears it; `finish` dumps it into the
    record. Neither raises: a device without logcat is a note, never a verdict."""

    packages: tuple[str, ...]
    cleared: bool = False
    unavailable: str | None = None

    def start(self, device: Device, record: DeviceRun) -> None:
        reason = _run_logcat(device, ["logcat", "-c"])[1]
        if reason is not None:
            self.unavailable = reason
            record.artifact_notes.append(f"logcat unavailable: {reason}")
            return
        self.cleared = True

    def finish(self, device: Device, record: DeviceRun, *, failed: bool) -> None:
        if not self.cleared:
            return
        self.cleared = False
        main, reason = _run_logcat(device, ["logcat", "-d", "-v", "threadtime"])
        if reason is not None:
            record.artifact_notes.append(f"logcat unavailable: {reason}")
            return
        data = main
        if failed:
            crash, crash_reason = _run_logcat(device, ["logcat", "-b", "crash", "-d", "-v", "threadtime"])
            if crash_reason is not None:
                record.artifact_notes.append(f"logcat crash buffer unavailable: {crash_reason}")
            elif crash.strip():
                data = main + b"\n--------- logcat -b crash -d -v threadtime\n" + crash
        data, note = keep_tail(data, LOGCAT_MAX_BYTES, LOGCAT_FILE)
        if note:
            data = f"[{note}]\n".encode() + data
            record.artifact_notes.append(note)
        record.artifact_data[LOGCAT_FILE] = data
        text = data.decode("utf-8", "replace")
        record.logcat_excerpt = logcat_excerpt(text, self.packages) if failed else []


def _run_logcat(device: Device, argv: list[str]) -> tuple[bytes, str | None]:
    """(stdout, None), or (b"", why the device did not give its log)."""
    try:
        result = device.shell(argv, timeout=LOGCAT_TIMEOUT)
    except HarnessError as err:
        return b"", f"`{' '.join(argv)}` failed: {str(err)[:200]}"
    except Exception as err:  # a diagnostic must never cost the device's verdict
        return b"", f"`{' '.join(argv)}` failed: {type(err).__name__}"
    if not result.ok:
        said = (result.stderr or result.stdout).strip().splitlines()
        detail = f": {said[-1][:200]}" if said else ""
        return b"", f"`{' '.join(argv)}` exited {result.exit_code}{detail}"
    return result.stdout.encode("utf-8", "replace"), None


# threadtime: "MM-DD HH:MM:SS.mmm  PID  TID L TAG: message"
_THREADTIME = re.compile(r"^\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+(\d+)\s+\d+\s+[VDIWEFAS]\s")
_START_PROC = re.compile(r"Start proc (\d+):([\w.]+)")


def logcat_excerpt(text: str, packages: tuple[str, ...], lines: int = EXCERPT_LINES) -> list[str]:
    """The last `lines` lines of `text` that mention AndroidRuntime or FATAL, one of `packages`,
    or come from a process of theirs (by the pid of a line naming the package or
    'Start proc PID:package'); each at most EXCERPT_LINE_CHARS characters."""
    pids: set[str] = set()
    all_lines = text.splitlines()
    for line in all_lines:
        started = _START_PROC.search(line)
        if started and started.group(2).split(":")[0] in packages:
            pids.add(started.group(1))
        match = _THREADTIME.match(line)
        if match and any(p in line for p in packages):
            pids.add(match.group(1))
    kept = []
    for line in all_lines:
        match = _THREADTIME.match(line)
        if (
            "AndroidRuntime" in line
            or "FATAL" in line
            or any(p in line for p in packages)
            or (match is not None and match.group(1) in pids)
        ):
            kept.append(line[:EXCERPT_LINE_CHARS])
    return kept[-lines:]


class OutputRecorder:
    """Keeps the raw bytes of a stream read through `wrap(read)`, at most `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0

    def wrap(self, read: Reader) -> Reader:
        def recorded(timeout_seconds: float) -> bytes | None:
            chunk = read(timeout_seconds)
            if chunk and self.size < self.limit:
                piece = bytes(chunk[: self.limit - self.size])
                self.chunks.append(piece)
                self.size += len(piece)
            return chunk

        return recorded

    def data(self) -> bytes:
        return b"".join(self.chunks)


def keep_instrumentation(record: DeviceRun, recorder: OutputRecorder | None) -> None:
    if recorder is not None:
        with contextlib.suppress(Exception):
            record.artifact_data[INSTRUMENTATION_FILE] = recorder.data()
