"""The device log: per-device ring buffers (main, system, crash) that apps, `am instrument` and the
system write to, and that `logcat` reads. Entries are formatted the way Android's liblog prints them.

One DeviceLog per device, found through `device_log(device)` (keyed by the device's Storage, so any
DeviceContext has one without the device class knowing). Writers may be any thread."""

from __future__ import annotations

import itertools
import os
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

BUFFERS = ("main", "system", "crash")
DEFAULT_BUFFERS = ("main", "system", "crash")
DEFAULT_BUFFER_BYTES = 256 * 1024
ENTRY_OVERHEAD = 28  # bytes an entry costs besides its tag and message (logger_entry header + priority)
MAX_PAYLOAD = 4068  # liblog truncates a message to this

PRIORITIES = "VDIWEF"  # Android levels 2..7
LEVELS = {"V": 2, "D": 3, "I": 4, "W": 5, "E": 6, "F": 7, "S": 8}
NAMES = {"verbose": "V", "debug": "D", "info": "I", "warn": "W", "warning": "W", "error": "E", "fatal": "F"}

# Processes the log names. The system server writes ActivityManager/PackageManager lines.
SYSTEM_PID = 612
FIRST_APP_PID = 10_230
FORMATS = ("threadtime", "brief", "time", "tag", "process", "raw", "long")


def priority_letter(priority: str | int) -> str:
    """'I', 'info', 4 -> 'I'. Raises ValueError for anything else."""
    if isinstance(priority, int):
        if 2 <= priority <= 7:
            return PRIORITIES[priority - 2]
        raise ValueError(f"log priority must be 2..7, got {priority}")
    p = NAMES.get(priority.lower(), priority.upper())
    if p not in PRIORITIES:
        raise ValueError(f"unknown log priority {priority!r}")
    return p


@dataclass(frozen=True)
class LogEntry:
    seq: int
    when: float  # epoch seconds
    pid: int
    tid: int
    priority: str  # one of PRIORITIES
    tag: str
    message: str
    buffers: tuple[str, ...]

    @property
    def size(self) -> int:
        return ENTRY_OVERHEAD + len(self.tag.encode()) + len(self.message.encode())

    def format(self, fmt: str = "threadtime") -> str:
        """The entry as `logcat -v fmt` prints it: every line of a multi-line message is prefixed."""
        ms = int(self.when * 1000) % 1000
        stamp = time.strftime("%m-%d %H:%M:%S", time.gmtime(self.when)) + f".{ms:03d}"
        if fmt == "threadtime":
            prefix = f"{stamp} {self.pid:5d} {self.tid:5d} {self.priority} {self.tag:<8}: "
        elif fmt == "brief":
            prefix = f"{self.priority}/{self.tag:<8}({self.pid:5d}): "
        elif fmt == "time":
            prefix = f"{stamp} {self.priority}/{self.tag:<8}({self.pid:5d}): "
        elif fmt == "tag":
            prefix = f"{self.priority}/{self.tag:<8}: "
        elif fmt == "process":
            prefix = f"{self.priority}({self.pid:5d}) "
        elif fmt == "long":
            head = f"[ {stamp} {self.pid:5d}:{self.tid:5d} {self.priority}/{self.tag} ]\n"
            return head + self.message + "\n\n"
        else:  # raw
            prefix = ""
        suffix = f"  ({self.tag})" if fmt == "process" else ""
        lines = self.message.split("\n") or [""]
        return "".join(f"{prefix}{line}{suffix}\n" for line in lines)


class DeviceLog:
    """The ring buffers of one device. Each buffer keeps its newest entries within `buffer_bytes`;
    an entry written to several buffers (a crash goes to main and crash) is one entry, shown once."""

    def __init__(self, buffer_bytes: int = DEFAULT_BUFFER_BYTES) -> None:
        self.buffer_bytes = buffer_bytes
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._buffers: dict[str, deque[LogEntry]] = {name: deque() for name in BUFFERS}
        self._used: dict[str, int] = dict.fromkeys(BUFFERS, 0)
        self._pids = itertools.count(FIRST_APP_PID)
        self.last_seq = 0
        # App processes alive now (pid -> (process name, uid)), for ps and pidof.
        self.processes: dict[int, tuple[str, int]] = {}

    def new_pid(self) -> int:
        """A process id for an app process starting now."""
        with self._lock:
            return next(self._pids)

    def log(
        self,
        priority: str | int,
        tag: str,
        message: str,
        *,
        buffers: tuple[str, ...] | str = "main",
        pid: int = SYSTEM_PID,
        tid: int | None = None,
    ) -> LogEntry:
        names = (buffers,) if isinstance(buffers, str) else tuple(buffers)
        for name in names:
            if name not in BUFFERS:
                raise ValueError(f"unknown log buffer {name!r}")
        text = str(message)
        if len(text.encode()) > MAX_PAYLOAD:
            text = text.encode()[:MAX_PAYLOAD].decode("utf-8", "ignore")
        with self._lock:
            entry = LogEntry(
                next(self._seq), time.time(), pid, pid if tid is None else tid, priority_letter(priority),
                str(tag), text, names,
            )  # fmt: skip
            for name in names:
                ring = self._buffers[name]
                ring.append(entry)
                self._used[name] += entry.size
                while self._used[name] > self.buffer_bytes and len(ring) > 1:
                    self._used[name] -= ring.popleft().size
            self.last_seq = entry.seq
        return entry

    def clear(self, buffers: tuple[str, ...] = DEFAULT_BUFFERS) -> None:
        with self._lock:
            for name in buffers:
                self._buffers[name].clear()
                self._used[name] = 0

    def entries(self, buffers: tuple[str, ...] = DEFAULT_BUFFERS, after: int = 0) -> list[LogEntry]:
        """Entries of these buffers with seq > after, oldest first, each once."""
        with self._lock:
            seen: dict[int, LogEntry] = {}
            for name in buffers:
                for entry in self._buffers[name]:
                    if entry.seq > after:
                        seen[entry.seq] = entry
        return [seen[k] for k in sorted(seen)]

    def usage(self, name: str) -> tuple[int, int]:
        """(consumed bytes, ring size) of a buffer, for `logcat -g`."""
        with self._lock:
            return self._used[name], self.buffer_bytes


_LOGS: weakref.WeakKeyDictionary[Any, DeviceLog] = weakref.WeakKeyDictionary()
_LOGS_LOCK = threading.Lock()


def device_log(device: Any) -> DeviceLog:
    """The log of a device (a DeviceContext): created on first use, sized from its config."""
    key = device.storage
    with _LOGS_LOCK:
        found = _LOGS.get(key)
        if found is None:
            size = getattr(device.config, "log_buffer_bytes", DEFAULT_BUFFER_BYTES)
            found = _LOGS[key] = DeviceLog(size)
        return found


def crash_entry(log: DeviceLog, process: str, pid: int, exc_text: str) -> LogEntry:
    """`AndroidRuntime: FATAL EXCEPTION: main` with the stack, in the main and crash buffers."""
    message = f"FATAL EXCEPTION: main\nProcess: {process}, PID: {pid}\n{exc_text.rstrip()}"
    return log.log("E", "AndroidRuntime", message, buffers=("main", "crash"), pid=pid)


def java_stack(exc: BaseException) -> str:
    """A Python exception as a Java-looking stack: `java.lang.RuntimeException: repr` and `at` lines."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    lines = [f"java.lang.RuntimeException: {type(exc).__name__}: {exc}"]
    for fr in reversed(frames):
        module = os.path.splitext(os.path.basename(fr.filename))[0]
        lines.append(f"\tat {module}.{fr.name}({os.path.basename(fr.filename)}:{fr.lineno})")
    return "\n".join(lines)
