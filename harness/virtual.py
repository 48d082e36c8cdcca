"""Starting virtual devices for a run, the way a lab tool starts emulators. The harness talks to
them only through adb afterwards; this module only launches and stops them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

from harness.errors import HarnessError, InputError


def _parse(devices: Sequence[str]) -> tuple[int, list[str]]:
    virtual, real = 0, []
    for entry in devices:
        for token in entry.replace(",", " ").split():
            if token == "virtual":
                virtual += 1
            elif token.startswith("virtual:"):
                count = token.split(":", 1)[1]
                if not count.isdigit() or not 0 < int(count) <= 16:
                    raise InputError(f"device {token!r}: use virtual:N with N from 1 to 16")
                virtual += int(count)
            else:
                real.append(token)
    return virtual, real


def start_virtual(count: int, port: int | None = None) -> list[str]:
    from device_tests.reference.virtual_app import ava_device_config
    from virtual_device.lifecycle import start_devices

    if not 0 < count <= 16:
        raise InputError(f"--count {count}: use 1 to 16")
    try:
        return start_devices(count, port, config=ava_device_config())
    except (RuntimeError, TimeoutError, OSError) as err:
        raise HarnessError(f"virtual device did not start: {str(err).strip().splitlines()[0]}") from None


def stop_virtual(serials: Sequence[str] | None = None) -> list[str]:
    from virtual_device.lifecycle import stop_devices

    return stop_devices(serials=list(serials)) if serials is not None else stop_devices()


@contextlib.contextmanager
def virtual_devices_for(devices: Sequence[str], progress: Callable[[str], None]) -> Iterator[list[str]]:
    """Expand 'virtual' / 'virtual:N' into freshly started virtual devices for the block."""
    count, serials = _parse(devices)
    started: list[str] = []
    if count:
        progress(f"starting {count} virtual device(s) ...")
        started = start_virtual(count)
        progress(f"virtual device(s): {', '.join(started)}")
    try:
        yield serials + started
    finally:
        if started:
            stop_virtual(started)
