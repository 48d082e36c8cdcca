"""The AVA app and its sign-off test APK, as installed on a virtual device: the packages and the
instrumentation component that runs the Python reference of the device contract."""

from __future__ import annotations

from typing import Any

from virtual_device.config import DeviceConfig, InstrumentationSpec

APP_PACKAGE = "com.augmentalis.ava"
TEST_PACKAGE = "com.augmentalis.ava.test"
RUNNER = "androidx.test.runner.AndroidJUnitRunner"


def ava_device_config(**overrides: Any) -> DeviceConfig:
    """A virtual phone with the AVA app and its sign-off tests installed. Its CPU is this host's
    (x86_64): ONNX Runtime runs x86 kernels, so the ABI says so."""
    config = DeviceConfig(
        model="AVA Virtual Device",
        abi="x86_64",
        packages=[APP_PACKAGE],
        instrumentations={
            f"{TEST_PACKAGE}/{RUNNER}": InstrumentationSpec(
                entry="device_tests.reference.runner:run", target=APP_PACKAGE
            )
        },
    )
    return config.replace(**overrides) if overrides else config
