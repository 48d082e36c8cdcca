"""Fault injection. Faults are armed from tests (handle.faults) or from DeviceConfig.faults
and consumed by the services at the point where a real device would misbehave.

Besides transport faults, a device can lie: `tamper_file` edits what the app wrote when an
instrumentation finishes, `rewrite_status` edits the values `am instrument` prints, `slow_boot`
delays the device before it listens. The module-level builders (`tamper_file`, `rewrite_status`,
`slow_boot`) return an unarmed Fault for DeviceConfig.faults; FaultInjector's methods of the same
names arm one on a running device."""

from __future__ import annotations

import base64
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

FaultKind = Literal[
    "drop",
    "stall",
    "truncate_pull",
    "fill_storage",
    "crash_instrumentation",
    "throttle",
    "tamper_file",
    "rewrite_status",
    "slow_boot",
]
KINDS: tuple[str, ...] = get_args(FaultKind)

# JSON values for tamper_file(json_set=...) that json.dumps cannot express. Both are plain dicts, so a
# fault stays JSON (DeviceConfig.faults for a daemon): {"$raw": "1e400"} is written verbatim,
# {"$repeat": 1.0, "count": 10_000_000} as a list streamed to the file without building it.
RAW_KEY = "$raw"
REPEAT_KEY = "$repeat"
TAMPER_EDITS = ("json_set", "json_delete", "npy_fill", "replace_b64", "truncate", "delete")


def json_raw(text: str) -> dict[str, str]:
    """A JSON value written as `text`, verbatim: `1e400`, `NaN`, `[1,`, anything."""
    return {RAW_KEY: str(text)}


def json_repeat(value: Any, count: int) -> dict[str, Any]:
    """A JSON list of `count` copies of `value`, streamed to the file (10 million numbers are cheap)."""
    if count < 0:
        raise ValueError("count must be >= 0")
    return {REPEAT_KEY: value, "count": int(count)}


@dataclass
class Fault:
    kind: str
    # drop/truncate_pull: bytes of file data before it fires; crash_instrumentation: writes
    # allowed before the crash.
    after: int = 0
    seconds: float | None = None  # stall duration; None = forever
    rate: float = 0.0  # throttle bytes/s
    direction: Literal["push", "pull", "any"] = "any"  # drop/throttle
    service: str = ""  # stall: only streams whose service starts with this
    persistent: bool = False
    fired: int = field(default=0)
    # tamper_file: a device path glob; rewrite_status: the status key (test, class, stream, ...)
    target: str = ""
    # rewrite_status: only values matching this glob
    match: str = "*"
    # tamper_file: what to do to each matching file (TAMPER_EDITS); rewrite_status: {"value": new}
    edits: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        if self.kind == "tamper_file":
            _check_tamper(self.target, self.edits)
        elif self.kind == "rewrite_status":
            if not self.target or "=" in self.target or "\n" in self.target:
                raise ValueError(f"rewrite_status: a status key, got {self.target!r}")
            if not isinstance(self.edits.get("value"), str):
                raise ValueError("rewrite_status: edits must hold the new value as a string")
        elif self.kind == "slow_boot" and (self.seconds is None or self.seconds < 0):
            raise ValueError("slow_boot: seconds >= 0")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def matches_direction(self, direction: str) -> bool:
        return self.direction in ("any", direction)


def _check_tamper(target: str, edits: dict[str, Any]) -> None:
    if not target:
        raise ValueError("tamper_file: a device path glob")
    unknown = set(edits) - set(TAMPER_EDITS)
    if unknown or not edits:
        raise ValueError(f"tamper_file: edits from {TAMPER_EDITS}, got {sorted(edits)}")
    if "npy_fill" in edits:
        float(edits["npy_fill"])  # raises for anything that is not a number ("nan" and "inf" are)
    if "json_set" in edits and not isinstance(edits["json_set"], dict):
        raise ValueError("tamper_file: json_set maps a key (dotted path) to a JSON value")
    if "json_delete" in edits and not isinstance(edits["json_delete"], list):
        raise ValueError("tamper_file: json_delete is a list of keys (dotted paths)")
    if "replace_b64" in edits:
        base64.b64decode(edits["replace_b64"], validate=True)
    if "truncate" in edits and int(edits["truncate"]) < 0:
        raise ValueError("tamper_file: truncate >= 0")


def tamper_file(
    glob: str,
    *,
    json_set: dict[str, Any] | None = None,
    json_delete: list[str] | None = None,
    npy_fill: float | None = None,
    replace_bytes: bytes | None = None,
    truncate: int | None = None,
    delete: bool = False,
    persistent: bool = False,
) -> Fault:
    """An unarmed fault: when the next instrumentation finishes (before `am instrument` prints its
    final result), every file whose device path matches `glob` (fnmatch: `*` also matches `/`; a
    glob not starting with `/` matches at any depth) is edited, in this order:

    - json_set: {key: value}, key a dotted path ("latencyMs", "chapterTests.test2_embeddings_valid"),
      value any JSON value, json_raw(text) or json_repeat(value, count);
    - json_delete: [key, ...];
    - npy_fill: a .npy keeps its shape and dtype, every element becomes this number (float("nan"));
    - replace_bytes: the whole file becomes these bytes;
    - truncate: cut to this many bytes;
    - delete: the file is removed.

    One-shot (the next instrumentation that finishes) unless persistent."""
    edits: dict[str, Any] = {}
    if json_set is not None:
        edits["json_set"] = dict(json_set)
    if json_delete is not None:
        edits["json_delete"] = list(json_delete)
    if npy_fill is not None:
        edits["npy_fill"] = float(npy_fill)
    if replace_bytes is not None:
        edits["replace_b64"] = base64.b64encode(bytes(replace_bytes)).decode()
    if truncate is not None:
        edits["truncate"] = int(truncate)
    if delete:
        edits["delete"] = True
    return Fault("tamper_file", target=glob, edits=edits, persistent=persistent)


def rewrite_status(key: str, value: str, *, match: str = "*", persistent: bool = False) -> Fault:
    """An unarmed fault: in the next `am instrument` output, every `INSTRUMENTATION_STATUS: key=v`
    and `INSTRUMENTATION_RESULT: key=v` line whose value matches `match` (fnmatch) gets `value`
    instead, with `{value}` in it replaced by the original (`"{value}\x1b[2J"` appends). A
    value may hold anything, newlines and escape sequences included. Only the first line of a
    multi-line value is seen. One-shot (the next instrumentation) unless persistent."""
    return Fault("rewrite_status", target=key, match=match, edits={"value": value}, persistent=persistent)


def slow_boot(seconds: float) -> Fault:
    """An unarmed fault for DeviceConfig.faults: the device waits `seconds` before it listens (a
    daemon is not ready before then)."""
    return Fault("slow_boot", seconds=seconds)


class FaultInjector:
    """Thread-safe registry: armed from the test thread, consumed on the device loop."""

    def __init__(self, faults: list[dict[str, Any]] | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = [Fault.from_dict(f) for f in faults or []]

    # --- arming (public API used by tests) ----------------------------------------------
    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def drop_connection(self, after_bytes: int = 0, *, direction: str = "any", persistent: bool = False) -> Fault:
        """Drop the whole TCP connection after `after_bytes` of sync file data."""
        return self.add(Fault("drop", after=after_bytes, direction=direction, persistent=persistent))  # type: ignore[arg-type]

    def stall(self, seconds: float | None = None, *, service: str = "", persistent: bool = False) -> Fault:
        """The next matching stream is accepted, then answers nothing for `seconds` (None: never)."""
        return self.add(Fault("stall", seconds=seconds, service=service, persistent=persistent))

    def truncate_pull(self, after_bytes: int, *, persistent: bool = False) -> Fault:
        """A RECV sends DONE early, after `after_bytes` of data."""
        return self.add(Fault("truncate_pull", after=after_bytes, persistent=persistent))

    def fill_storage(self, *, persistent: bool = True) -> Fault:
        """Every write fails with ENOSPC until cleared (one-shot: only the next write)."""
        return self.add(Fault("fill_storage", persistent=persistent))

    def crash_instrumentation(self, after_writes: int = 0, *, persistent: bool = False) -> Fault:
        """The next `am instrument` dies after `after_writes` output writes."""
        return self.add(Fault("crash_instrumentation", after=after_writes, persistent=persistent))

    def throttle(self, bytes_per_second: float, *, direction: str = "any", persistent: bool = True) -> Fault:
        """Slow sync transfers down to `bytes_per_second`."""
        return self.add(Fault("throttle", rate=bytes_per_second, direction=direction, persistent=persistent))  # type: ignore[arg-type]

    def tamper_file(self, glob: str, **edits: Any) -> Fault:
        """Arm faults.tamper_file(glob, **edits) (json_set, json_delete, npy_fill, replace_bytes,
        truncate, delete, persistent): the app's output files are edited when the next
        instrumentation finishes, before am instrument prints its final result."""
        return self.add(tamper_file(glob, **edits))

    def rewrite_status(self, key: str, value: str, *, match: str = "*", persistent: bool = False) -> Fault:
        """Arm faults.rewrite_status: hostile values in the next am instrument output."""
        return self.add(rewrite_status(key, value, match=match, persistent=persistent))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    # --- consumption (device side) ------------------------------------------------------
    def take(self, kind: str, direction: str = "any", service: str | None = None) -> Fault | None:
        """The first matching fault; one-shot faults are removed as they fire."""
        with self._lock:
            for f in self._faults:
                if f.kind != kind or (direction != "any" and not f.matches_direction(direction)):
                    continue
                if service is not None and not service.startswith(f.service):
                    continue
                f.fired += 1
                if not f.persistent:
                    self._faults.remove(f)
                return f
        return None

    def take_all(self, kind: str) -> list[Fault]:
        """Every armed fault of `kind`, in arming order; one-shot faults are removed."""
        with self._lock:
            taken = [f for f in self._faults if f.kind == kind]
            for f in taken:
                f.fired += 1
            self._faults = [f for f in self._faults if f.kind != kind or f.persistent]
        return taken

    def consume_fill(self) -> bool:
        """True when a fill_storage fault applies to this write."""
        return self.take("fill_storage") is not None
