"""The AVA app and its sign-off test APK, as installed on a virtual device: the packages and the
instrumentation component that runs the Python reference of the device contract.

Device side: nothing here comes from the harness. What the host decides (the packages and the
runner it will name in `am instrument`, the ABI a virtual phone claims, where the emulated arm64
runtime lives) is passed in by harness/android/virtual.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ava_reference.model_runner import CPU_EMULATOR_PROP
from virtual_device.config import DeviceConfig, InstrumentationSpec

ENTRY = "ava_reference.runner:run"


def ava_device_config(
    *,
    app_package: str,
    test_package: str,
    runner: str,
    abi: str,
    **overrides: Any,
) -> DeviceConfig:
    """A virtual phone with the AVA app and its sign-off tests installed. Its CPU is the host's:
    ONNX Runtime runs this host's kernels, so `abi` must be this host's ABI."""
    config = DeviceConfig(
        model="AVA Virtual Device",
        abi=abi,
        packages=[app_package],
        instrumentations={f"{test_package}/{runner}": InstrumentationSpec(entry=ENTRY, target=app_package)},
    )
    return config.replace(**overrides) if overrides else config


def ava_arm64_device_config(
    runtime_json: Path,
    *,
    app_package: str,
    test_package: str,
    runner: str,
    **overrides: Any,
) -> DeviceConfig:
    """A virtual arm64-v8a phone on a host of another architecture: its instrumentation runs the
    models with aarch64 ONNX Runtime under qemu-user, described by `runtime_json` (the manifest
    `make arm64-runtime` writes), so INT8 results come from ARM kernels. The device names its
    emulator in a prop, as it names its ABI: the instrumentation reads both from the device."""
    if not Path(runtime_json).is_file():
        raise FileNotFoundError(f"arm64 runtime manifest not found: {runtime_json}")
    base = ava_device_config(
        app_package=app_package,
        test_package=test_package,
        runner=runner,
        abi="arm64-v8a",
        model="AVA Virtual Device arm64",
    )
    props = {**base.extra_props, CPU_EMULATOR_PROP: str(runtime_json)}
    return base.replace(extra_props=props, **overrides)
