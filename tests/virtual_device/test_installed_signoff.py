"""The AVA app and its test APK installed with `adb install` (real APKs built with aapt/apksigner)
instead of declared in the device's config: the harness's health check and the whole deploy-test
see what a phone shows. The test package is bound to the Python reference by package name
(DeviceConfig.instrumentation_entries), as a phone runs the code inside the APK. `adb logcat -d`
afterwards shows the run, and after an injected crash the FATAL EXCEPTION."""

from __future__ import annotations

from pathlib import Path

from harness.android.contract import DEFAULT_APP_PACKAGE, DEFAULT_RUNNER, DEFAULT_TEST_PACKAGE, RunSettings
from harness.android.virtual import ava_device_config
from harness.signoff.pipeline import deploy_test
from tests.virtual_device import test_packages
from virtual_device.testing.pytest_plugin import AdbServer

MODEL = "AVA-ONX-384-FAST-INT8"
pytestmark = test_packages.pytestmark


def test_deploy_test_runs_on_apks_installed_with_adb(
    adb_server: AdbServer, virtual_devices, deploy_options, tmp_path: Path
) -> None:
    declared = ava_device_config()
    entry = declared.instrumentations[f"{DEFAULT_TEST_PACKAGE}/{DEFAULT_RUNNER}"].entry
    config = declared.replace(packages=[], instrumentations={}, instrumentation_entries={DEFAULT_TEST_PACKAGE: entry})
    (device,) = virtual_devices(1, config=config)
    options = deploy_options(MODEL, settings=RunSettings(iterations=2, warmup=0, threads=1))

    # Nothing installed: the health check refuses, naming the missing instrumentation.
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "error" and "test package not installed" in (record.error or "")

    app = test_packages.build_apk(tmp_path, DEFAULT_APP_PACKAGE, version=7)
    tests = test_packages.build_apk(tmp_path, DEFAULT_TEST_PACKAGE, version=3, target=DEFAULT_APP_PACKAGE)
    for apk in (app, tests):
        res = adb_server.run("-s", device.serial, "install", str(apk), timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "passed", record.error
    assert (record.health["app_version"], record.health["test_apk_version"]) == ("7.0 (7)", "3.0 (3)")

    # `adb logcat -d` afterwards shows the instrumentation's run, its checks' lines and no crash.
    log = adb_server.run("-s", device.serial, "logcat", "-d", timeout=60).stdout
    assert "ActivityManager: Start proc " in log and f":{DEFAULT_APP_PACKAGE}/" in log
    assert "TestRunner: run started: " in log and "TestRunner: run finished: " in log
    assert " AvaSignoff: " in log and "FATAL EXCEPTION" not in log

    # A crash mid-run: the deploy-test fails and logcat holds the FATAL EXCEPTION with its stack.
    adb_server.run("-s", device.serial, "logcat", "-b", "all", "-c", timeout=60)
    device.faults.crash_instrumentation(after_writes=4)
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "failed" and "Process crashed" in (record.error or "")
    crash = adb_server.run("-s", device.serial, "logcat", "-d", "-b", "crash", timeout=60).stdout
    assert "E AndroidRuntime: FATAL EXCEPTION: main" in crash and "\tat " in crash
