"""The AVA app and its sign-off test APK, as installed on a virtual device: the packages and the
instrumentation component that runs the Python reference of the device contract."""

from __future__ import annotations

from typing import Any

from virtual_device.config import DeviceConfig, InstrumentationSpec

APP_PACKAGE = "com.augmentalis.ava"
TEST_PACKAGE = "com.augmentalis.ava.test"
RUNNER = "androidx.test.runner.AndroidJUnitRunner"


def ava_arm64_device_config(**overrides: Any) -> DeviceConfig:
    """A virtual arm64-v8a phone: its instrumentation runs the models with aarch64 ONNX Runtime
    under qemu-user (set up by `make arm64-runtime`), so INT8 results come from ARM kernels."""
    from harness.reference.arm64 import DEFAULT_HOME, NOT_SET_UP

    emulator = DEFAULT_HOME / "runtime.json"
    if not emulator.is_file():
        from harness.errors import HarnessError

        raise HarnessError(NOT_SET_UP)
    base = ava_device_config(model="AVA Virtual Device arm64", abi="arm64-v8a")
    props = {**base.extra_props, "ro.vd.cpu_emulator": str(emulator)}
    return base.replace(extra_props=props, **overrides)


def ava_device_config(**overrides: Any) -> DeviceConfig:
    """A virtual phone with the AVA app and its sign-off tests installed. Its CPU is this host's
    (x86_64): ONNX Runtime runs x86 kernels, so the ABI says so."""
    config = DeviceConfig(
        model="AVA Virtual Device",
        abi="x86_64",
        packages=[APP_PACKAGE],
        instrumentations={
            f"{TEST_PACKAGE}/{RUNNER}": InstrumentationSpec(entry="ava_reference.runner:run", target=APP_PACKAGE)
        },
    )
    return config.replace(**overrides) if overrides else config
