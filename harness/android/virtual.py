"""Starting virtual devices for a run, the way a lab tool starts emulators. The harness talks to
them only through adb afterwards; this module only launches and stops them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from harness.android.contract import DEFAULT_APP_PACKAGE, DEFAULT_RUNNER, DEFAULT_TEST_PACKAGE
from harness.errors import HarnessError, InputError
from harness.reference.choice import HOST_ABI
from virtual_device.config import DeviceConfig

KINDS = ("virtual", "virtual-arm64")


def ava_device_config(**overrides: Any) -> DeviceConfig:
    """A virtual phone with the AVA app and its sign-off tests (the Python reference) installed,
    under the contract's packages and runner. Its CPU is this host's, so it claims this host's ABI."""
    from ava_reference.virtual_app import ava_device_config as build

    fields: dict[str, Any] = {
        "app_package": DEFAULT_APP_PACKAGE,
        "test_package": DEFAULT_TEST_PACKAGE,
        "runner": DEFAULT_RUNNER,
        "abi": HOST_ABI,
    }
    return build(**{**fields, **overrides})


def ava_arm64_device_config(**overrides: Any) -> DeviceConfig:
    """A virtual arm64-v8a phone. On an x86-64 host its instrumentation runs aarch64 ONNX Runtime
    under qemu-user (set up by `make arm64-runtime`, found in harness.settings.arm64_home()), so
    INT8 results come from ARM kernels; on an arm64 host its CPU is the host's."""
    from ava_reference.virtual_app import ava_arm64_device_config as build
    from harness.reference.arm64 import NOT_SET_UP
    from harness.settings import arm64_home

    if HOST_ABI == "arm64-v8a":
        return ava_device_config(**{"model": "AVA Virtual Device arm64", **overrides})
    runtime_json = arm64_home() / "runtime.json"
    if not runtime_json.is_file():
        raise HarnessError(NOT_SET_UP)
    fields = {"app_package": DEFAULT_APP_PACKAGE, "test_package": DEFAULT_TEST_PACKAGE, "runner": DEFAULT_RUNNER}
    return build(runtime_json, **{**fields, **overrides})


def _parse(devices: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """'virtual', 'virtual:N', 'virtual-arm64', 'virtual-arm64:N' -> counts per kind; the rest are serials."""
    virtual = dict.fromkeys(KINDS, 0)
    real = []
    for entry in devices:
        for token in entry.replace(",", " ").split():
            kind, _, count = token.partition(":")
            if kind not in KINDS:
                real.append(token)
                continue
            if count and (not count.isdigit() or not 0 < int(count) <= 16):
                raise InputError(f"device {token!r}: use {kind}:N with N from 1 to 16")
            virtual[kind] += int(count or 1)
    return virtual, real


def start_virtual(count: int, port: int | None = None, *, abi: str = "x86_64") -> list[str]:
    from virtual_device.lifecycle import start_devices

    if not 0 < count <= 16:
        raise InputError(f"--count {count}: use 1 to 16")
    if abi not in ("x86_64", "arm64-v8a"):
        raise InputError(f"--abi {abi!r}: use x86_64 or arm64-v8a")
    if abi == "arm64-v8a":
        config = ava_arm64_device_config()
    elif abi == HOST_ABI:
        config = ava_device_config()
    else:
        raise InputError(f"--abi {abi}: a virtual {abi} device runs on an {abi} host (this one is {HOST_ABI})")
    try:
        return start_devices(count, port, config=config)
    except (RuntimeError, TimeoutError, OSError) as err:
        raise HarnessError(f"virtual device did not start: {str(err).strip().splitlines()[0]}") from None


def stop_virtual(serials: Sequence[str] | None = None) -> list[str]:
    from virtual_device.lifecycle import stop_devices

    return stop_devices(serials=list(serials)) if serials is not None else stop_devices()


@contextlib.contextmanager
def virtual_devices_for(devices: Sequence[str], progress: Callable[[str], None]) -> Iterator[list[str]]:
    """Expand 'virtual' / 'virtual:N' into freshly started virtual devices for the block."""
    counts, serials = _parse(devices)
    started: list[str] = []
    try:
        for kind, count in counts.items():
            if count:
                progress(f"starting {count} {kind} device(s) ...")
                started += start_virtual(count, abi="arm64-v8a" if kind == "virtual-arm64" else HOST_ABI)
        if started:
            progress(f"virtual device(s): {', '.join(started)}")
    except BaseException:
        if started:
            stop_virtual(started)
        raise
    try:
        yield serials + started
    finally:
        if started:
            stop_virtual(started)
