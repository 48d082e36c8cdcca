"""Starting virtual devices for a run, the way a lab tool starts emulators. The harness talks to
them only through adb afterwards; this module only launches and stops them."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from harness.android.contract import DEFAULT_APP_PACKAGE, DEFAULT_RUNNER, DEFAULT_TEST_PACKAGE
from harness.errors import HarnessError, InputError
from harness.reference.choice import HOST_ABI
from virtual_device.config import DeviceConfig

KINDS = ("virtual", "virtual-arm64", "virtual-kotlin")
# The device side a virtual device hosts: the Python reference (ava_reference.runner) or the
# Kotlin sign-off on a JVM over real ONNX Runtime (ava_reference.jvm_app, device_tests/android).
APPS = ("python", "kotlin")
# The device names its side in its model (ro.product.model), which every report shows.
KOTLIN_MODEL = "AVA Virtual Device (Kotlin app on a JVM)"


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


def ava_kotlin_device_config(**overrides: Any) -> DeviceConfig:
    """A virtual phone whose `am instrument` starts the Kotlin device side (the code a phone runs)
    in a JVM over real ONNX Runtime (device_tests/android/build.sh builds it: make android-check)."""
    from ava_reference.jvm_app import CLASSPATH_FILE, ENTRY
    from virtual_device.config import InstrumentationSpec

    if not CLASSPATH_FILE.is_file():
        raise HarnessError(f"the Kotlin app is not built ({CLASSPATH_FILE} missing): run `make android-check`")
    component = f"{DEFAULT_TEST_PACKAGE}/{DEFAULT_RUNNER}"
    fields: dict[str, Any] = {
        "model": KOTLIN_MODEL,
        "instrumentations": {component: InstrumentationSpec(entry=ENTRY, target=DEFAULT_APP_PACKAGE)},
    }
    return ava_device_config(**{**fields, **overrides})


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
    """'virtual', 'virtual-arm64', 'virtual-kotlin' (each with an optional ':N') -> counts per kind;
    the rest are serials."""
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


def start_virtual(
    count: int, port: int | None = None, *, abi: str = "x86_64", owner: str = "cli", app: str = "python"
) -> list[str]:
    """Start AVA virtual devices. owner "cli" (`virtual-device start`): detached, `virtual-device
    stop` stops them; any other owner: they live as long as this process, and it stops them.
    app: the device side they host, "python" (the reference) or "kotlin" (the JVM app)."""
    from virtual_device.lifecycle import start_devices

    if not 0 < count <= 16:
        raise InputError(f"--count {count}: use 1 to 16")
    if abi not in ("x86_64", "arm64-v8a"):
        raise InputError(f"--abi {abi!r}: use x86_64 or arm64-v8a")
    if app not in APPS:
        raise InputError(f"--app {app!r}: use python or kotlin")
    if app == "kotlin":
        if abi != HOST_ABI:
            raise InputError(f"--app kotlin --abi {abi}: the JVM app runs this host's ONNX Runtime ({HOST_ABI})")
        config = ava_kotlin_device_config()
    elif abi == "arm64-v8a":
        config = ava_arm64_device_config()
    elif abi == HOST_ABI:
        config = ava_device_config()
    else:
        raise InputError(f"--abi {abi}: a virtual {abi} device runs on an {abi} host (this one is {HOST_ABI})")
    try:
        return start_devices(count, port, config=config, owner=owner, app=app)
    except (RuntimeError, TimeoutError, OSError, ValueError) as err:
        raise HarnessError(f"virtual device did not start: {str(err).strip().splitlines()[0]}") from None


def stop_virtual(serials: Sequence[str] | None = None, *, owner: str = "cli", missing_ok: bool = False) -> list[str]:
    """Stop `owner`'s devices (all of them, or the serials named: all or none). A serial that is
    unknown (unless missing_ok) or another owner's is an InputError, and nothing is stopped."""
    from virtual_device.lifecycle import StopRefused, stop_devices

    try:
        return stop_devices(serials=None if serials is None else list(serials), owner=owner, missing_ok=missing_ok)
    except StopRefused as err:
        raise InputError(f"not stopped: {err}") from None


def list_virtual() -> list[dict[str, Any]]:
    """Every recorded virtual device (serial, port, abi, owner, pid, alive, ...); dead ones are
    reported once and dropped."""
    from virtual_device.lifecycle import list_devices

    return list_devices()


def run_owner() -> str:
    """The owner name of the devices this process starts for a run."""
    return f"run:{os.getpid()}"


@contextlib.contextmanager
def virtual_devices_for(devices: Sequence[str], progress: Callable[[str], None]) -> Iterator[list[str]]:
    """Expand 'virtual' / 'virtual:N' into freshly started virtual devices for the block. They are
    this run's own: stopped when the block ends, however it ends (an exception, KeyboardInterrupt,
    SystemExit), never by `virtual-device stop`, and gone with this process if it is killed."""
    counts, serials = _parse(devices)
    owner = run_owner()
    started: list[str] = []
    try:
        for kind, count in counts.items():
            if count:
                progress(f"starting {count} {kind} device(s) ...")
                abi = "arm64-v8a" if kind == "virtual-arm64" else HOST_ABI
                app = "kotlin" if kind == "virtual-kotlin" else "python"
                started += start_virtual(count, abi=abi, owner=owner, app=app)
        if started:
            progress(f"virtual device(s): {', '.join(started)}")
        yield serials + started
    finally:
        if started:
            stop_virtual(started, owner=owner, missing_ok=True)
