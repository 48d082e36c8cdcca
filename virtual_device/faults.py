"""Fault injection. Faults are armed from tests (handle.faults) or from DeviceConfig.faults
and consumed by the services at the point where a real device would misbehave."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["drop", "stall", "truncate_pull", "fill_storage", "crash_instrumentation", "throttle"]
KINDS: tuple[str, ...] = ("drop", "stall", "truncate_pull", "fill_storage", "crash_instrumentation", "throttle")


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

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def matches_direction(self, direction: str) -> bool:
        return self.direction in ("any", direction)


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

    def consume_fill(self) -> bool:
        """True when a fill_storage fault applies to this write."""
        return self.take("fill_storage") is not None
