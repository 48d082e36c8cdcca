"""Before anything is pushed: is the device able to run the sign-off (storage, battery, test package)?"""

from __future__ import annotations

import posixpath
import re

from harness.android.adb import Device
from harness.android.contract import DevicePaths
from harness.android.transfer import is_temp_name
from harness.errors import DeviceError
from harness.signoff.options import DeployOptions
from harness.signoff.plan import HostPlan
from harness.signoff.results import DeviceRun

# DeviceRun.health keys for the installed app's and test APK's versions ("versionName (versionCode)"),
# read when the packages are checked; the JUnit report's properties carry them.
APP_VERSION_KEY = "app_version"
TEST_APK_VERSION_KEY = "test_apk_version"
_VERSION_NAME = re.compile(r"^\s*versionName=(\S+)", re.MULTILINE)
_VERSION_CODE = re.compile(r"\bversionCode=(\d+)")


def _battery_celsius(device: Device) -> float | None:
    text = device.shell(["dumpsys", "battery"]).stdout
    match = re.search(r"^\s*temperature:\s*(-?\d+)", text, re.MULTILINE)
    return int(match.group(1)) / 10.0 if match else None


# How Android emulators (and our virtual devices) say what they are.
EMULATOR_PROPS = ("ro.kernel.qemu", "ro.boot.qemu")


def is_emulator(props: dict[str, str]) -> bool:
    return any(props.get(name) == "1" for name in EMULATOR_PROPS)


def sweep_device_partials(device: Device, paths: DevicePaths, *, timeout: float | None = None) -> list[str]:
    """Remove half-pushed files an earlier, killed run left in the models directory."""
    listing = device.shell(["ls", paths.models], timeout=timeout)
    if not listing.ok:
        return []  # no models directory yet
    stale = [posixpath.join(paths.models, n) for n in listing.stdout.split() if is_temp_name(n)]
    if stale:
        device.shell(["rm", "-f", *stale], timeout=timeout, check=True)
    return stale


def health_check(device: Device, plan: HostPlan, options: DeployOptions, record: DeviceRun) -> None:
    record.props = device.getprop()
    needed = sum(m.path.stat().st_size for m in plan.models) + options.storage_margin_bytes
    free = device.free_bytes("/sdcard")
    temperature = _battery_celsius(device)
    record.health = {
        "state": device.state(),
        "free_bytes": free,
        "needed_bytes": needed,
        "battery_celsius": temperature,
        "abi": record.props.get("ro.product.cpu.abi", ""),
        "emulator": is_emulator(record.props),
    }
    if free < needed:
        raise DeviceError(device.serial, f"storage: {free / 1e6:.0f} MB free on /sdcard, {needed / 1e6:.0f} MB needed")
    if temperature is not None and temperature > options.max_battery_celsius:
        raise DeviceError(
            device.serial, f"battery at {temperature:.1f} °C, above the {options.max_battery_celsius:.0f} °C limit"
        )
    if options.check_packages:
        listing = device.shell(["pm", "list", "instrumentation"]).stdout
        component = f"{options.test_package}/{options.runner}"
        if f"instrumentation:{component} " not in listing + " ":
            raise DeviceError(
                device.serial,
                f"test package not installed: no instrumentation {component} "
                f"(install the app's androidTest APK; see device_tests/android/README.md)",
            )
        for key, package in ((APP_VERSION_KEY, options.app_package), (TEST_APK_VERSION_KEY, options.test_package)):
            record.health[key] = package_version(device, package)


def package_version(device: Device, package: str) -> str | None:
    """An installed package's "versionName (versionCode)" from `dumpsys package`; None when the
    device does not say (not installed, another dumpsys format)."""
    listing = device.shell(["dumpsys", "package", package]).stdout
    name, code = _VERSION_NAME.search(listing), _VERSION_CODE.search(listing)
    if name is None:
        return None
    return f"{name.group(1)} ({code.group(1)})" if code else name.group(1)
