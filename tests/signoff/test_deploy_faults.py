"""deploy-test under faults, injected by the virtual device: each fault ends in a clear
per-device error (or a bounded, successful retry), and the device's final paths only ever hold
verified files. Real adb server, no mocks."""

from __future__ import annotations

import time

import pytest

from harness.android.adb import AdbServer, connect
from harness.android.virtual import ava_device_config
from harness.errors import DeviceError
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test
from virtual_device.adbtools import device_state, free_port
from virtual_device.host import DeviceHost

MODEL = "AVA-ONX-384-FAST-INT8"
MODELS_DIR = "/sdcard/Android/data/com.augmentalis.ava/files/models"


@pytest.fixture
def options(deploy_options) -> DeployOptions:
    return deploy_options(MODEL, adb_timeout=10, instrument_timeout=120, idle_timeout=30)


def _device(virtual_devices, **overrides):
    return virtual_devices(1, config=ava_device_config(**overrides))[0]


def _models_on_device(device) -> list[str]:
    directory = device.host_path(MODELS_DIR)
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_unknown_serial(options):
    (record,) = deploy_test(["127.0.0.1:1"], options).devices
    assert record.status == "error" and "127.0.0.1:1" in record.error and "not found on adb server" in record.error


def test_no_adb_server(options):
    options.servers = [AdbServer("127.0.0.1", free_port())]
    (record,) = deploy_test(["emulator-5554"], options).devices
    assert record.status == "error" and "no adb server at 127.0.0.1:" in record.error


def test_device_offline(virtual_devices, options, adb_server):
    device = _device(virtual_devices)
    device.stop()
    deadline = time.monotonic() + 15
    while device_state(adb_server.adb_path, adb_server.port, device.serial) == "device" and time.monotonic() < deadline:
        time.sleep(0.2)
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "error" and ("offline" in record.error or "not found" in record.error), record.error


def test_device_unauthorized(adb_server, tmp_path, options):
    with DeviceHost() as host:
        device = host.add_device(ava_device_config(require_auth=True), sandbox=tmp_path)
        adb_server.run("connect", device.serial)
        deadline = time.monotonic() + 15
        while device_state(adb_server.adb_path, adb_server.port, device.serial) != "unauthorized":
            assert time.monotonic() < deadline, "the adb server never listed the device as unauthorized"
            time.sleep(0.2)
        with pytest.raises(DeviceError, match="unauthorized: accept the USB debugging prompt"):
            connect(device.serial, options.servers)
        (record,) = deploy_test([device.serial], options).devices
        assert record.status == "error" and "unauthorized" in record.error
        adb_server.run("disconnect", device.serial)


def test_storage_too_small_is_caught_before_any_push(virtual_devices, options):
    device = _device(virtual_devices, capacity_bytes=20 * 1024 * 1024)
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "error" and "storage:" in record.error and "MB needed" in record.error
    assert _models_on_device(device) == []


def test_storage_full_at_the_health_check(virtual_devices, options):
    device = _device(virtual_devices)
    device.faults.fill_storage()
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "error" and "storage: 0 MB free" in record.error, record.error


def test_storage_filling_up_during_the_push(virtual_devices, options):
    device = _device(virtual_devices)

    def fill_when_the_push_starts(who: str, message: str) -> None:
        if message.startswith("push"):
            device.faults.fill_storage()

    (record,) = deploy_test([device.serial], options, fill_when_the_push_starts).devices
    assert record.status == "error" and "No space left on device" in record.error, record.error
    assert _models_on_device(device) == []  # no partial model at the final path


def test_test_package_not_installed_fails_fast(virtual_devices, options):
    device = _device(virtual_devices, instrumentations={})
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "error" and "test package not installed" in record.error
    assert "com.augmentalis.ava.test/androidx.test.runner.AndroidJUnitRunner" in record.error


def test_instrumentation_failed_is_reported_from_am_instrument(virtual_devices, options):
    device = _device(virtual_devices, instrumentations={})
    options.check_packages = False  # let `am instrument` itself answer INSTRUMENTATION_FAILED
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "failed" and "INSTRUMENTATION_FAILED" in record.error, record.error


def test_instrumentation_crash_mid_run(virtual_devices, options):
    device = _device(virtual_devices)
    device.faults.crash_instrumentation(after_writes=4)
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "failed" and "Process crashed" in record.error, record.error
    tests = record.instrumentation["tests"]
    assert len([t for t in tests if t["status"] == "passed"]) < record.instrumentation["expected_count"]


def test_device_lost_mid_push_is_retried(virtual_devices, options):
    device = _device(virtual_devices)
    device.faults.drop_connection(after_bytes=3_000_000, direction="push")  # one-shot
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "passed", record.error
    assert record.models[0].pushed and _models_on_device(device) == [f"{MODEL}.onnx", f"{MODEL}.tokenizer.json"]


def test_device_lost_on_every_push_gives_up_with_nothing_at_the_final_path(virtual_devices, options):
    device = _device(virtual_devices)
    device.faults.drop_connection(after_bytes=3_000_000, direction="push", persistent=True)
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "error" and "connection lost" in record.error, record.error
    assert f"{MODEL}.onnx" not in _models_on_device(device)


def test_instrumentation_that_goes_silent_hits_the_no_output_timeout(virtual_devices, options):
    device = _device(virtual_devices)
    device.faults.stall(None, service="shell:am instrument")
    options.idle_timeout = 3
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "failed" and "no output for 3" in record.error, record.error


def test_device_lost_mid_run(virtual_devices, options):
    device = _device(virtual_devices)
    dropped = []

    def drop_once_the_tests_run(who: str, message: str) -> None:
        if message.startswith("instrument: ") and " embeddingsValid[" in message and not dropped:
            dropped.append(message)
            device.drop_connections()

    (record,) = deploy_test([device.serial], options, drop_once_the_tests_run).devices
    assert dropped and record.status in ("failed", "error"), record
    assert not record.instrumentation["passed"]
    assert "output ended before INSTRUMENTATION_CODE" in record.error, record.error
    assert "incomplete" in record.error  # the started test is reported, not silently dropped


def test_battery_too_hot(virtual_devices, options):
    device = _device(virtual_devices, battery_temperature=48.5)
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "error" and "battery at 48.5 °C, above the 45 °C limit" in record.error
    assert record.health["battery_celsius"] == 48.5 and record.props["ro.product.model"] == "AVA Virtual Device"


def test_corrupt_pull_is_detected_and_retried(virtual_devices, options):
    device = _device(virtual_devices)
    device.faults.truncate_pull(after_bytes=100)  # the first pull comes back short
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "passed", record.error


def test_corrupt_pull_every_time_is_an_error(virtual_devices, options):
    device = _device(virtual_devices)
    device.faults.truncate_pull(after_bytes=100, persistent=True)
    (record,) = deploy_test([device.serial], options).devices
    assert record.status == "error" and "differs from the device's copy" in record.error, record.error


def test_one_failing_device_never_stops_the_others(virtual_devices, options):
    good, bad = virtual_devices(2, config=ava_device_config())
    bad.faults.crash_instrumentation(after_writes=2)
    run = deploy_test([good.serial, bad.serial, "127.0.0.1:1"], options)
    assert [d.status for d in run.devices] == ["passed", "failed", "error"]
    assert not run.passed
