"""Stopping a run on SIGINT/SIGTERM within seconds, without losing what was already measured.

The main thread turns the signal into `RunInterrupted` (a KeyboardInterrupt, so Ctrl-C and kill
take the same path); the pipeline then cancels the device runs, which check the `Cancellation`
at every stage, every pushed chunk and every read of `am instrument` output, clean up what they
started on the device and return what they have.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from harness.errors import HarnessError

# How long devices get to stop and clean up after an interrupt before the run reports without them.
STOP_GRACE_SECONDS = 10.0
# How often a device run blocked on `am instrument` output looks at the cancellation.
POLL_SECONDS = 0.5


class RunInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM reached the main thread; `str()` names the signal."""


class HostWorkInterrupted(HarnessError):
    """Interrupted before any device work: no verdict, nothing deployed."""

    exit_code = 3


class Cancelled(Exception):
    """Raised inside a device run once the run is being stopped; `str()` says why."""


class Cancellation:
    """A one-way switch the device runs poll."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str) -> None:
        self.reason = self.reason or reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled(self.reason)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM (like SIGINT) raises RunInterrupted in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: object) -> None:
        raise RunInterrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def describe(interrupt: KeyboardInterrupt) -> str:
    return str(interrupt) or "SIGINT"
