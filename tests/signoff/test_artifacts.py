"""When a device fails, the report shows why: per-device artifacts through the virtual device and
the real adb server (instrumentation.txt, host-error.txt, logcat.txt), written by the report
writers under reports/<run-id>/<device dir>/ and listed in signoff.json."""

from __future__ import annotations

import json

import pytest

from harness.android.virtual import ava_device_config
from harness.reports.writers import write_reports
from harness.signoff import device_run
from harness.signoff.artifacts import device_dir_name
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test
from harness.signoff.results import ExitCode

FAST = "AVA-ONX-384-FAST-INT8"


@pytest.fixture
def options(deploy_options) -> DeployOptions:
    return deploy_options(FAST, adb_timeout=20, instrument_timeout=300, idle_timeout=60)


def _logcat_works(device) -> bool:
    from harness.android.adb import connect

    return connect(device.serial, ()).shell(["logcat", "-d"]).ok


def test_a_passing_run_writes_the_raw_instrumentation_output(virtual_devices, options, tmp_path):
    (device,) = virtual_devices(1, config=ava_device_config())
    run = deploy_test([device.serial], options)
    (record,) = run.devices
    assert record.status == "passed", record.error
    write_reports(run, tmp_path)
    folder = tmp_path / device_dir_name(device.serial)
    raw = (folder / "instrumentation.txt").read_bytes()
    assert b"INSTRUMENTATION_STATUS: test=" in raw and b"INSTRUMENTATION_CODE: -1" in raw
    signoff = json.loads((tmp_path / "signoff.json").read_text())
    listed = signoff["devices"][0]["artifacts"]
    assert listed["instrumentation.txt"] == f"{folder.name}/instrumentation.txt"
    assert all((tmp_path / path).is_file() for path in listed.values())
    if _logcat_works(device):
        assert "logcat.txt" in listed
    else:  # today's virtual device has no logcat: said so, the verdict unaffected
        assert any(n.startswith("logcat unavailable: ") for n in signoff["devices"][0]["artifact_notes"])
        assert signoff["verdict"] == "passed"


def test_a_crashed_run_keeps_what_the_host_saw_and_the_crash(virtual_devices, options, tmp_path):
    (device,) = virtual_devices(1, config=ava_device_config())
    device.faults.crash_instrumentation(after_writes=4)
    run = deploy_test([device.serial], options)
    (record,) = run.devices
    assert record.status == "failed" and "Process crashed" in (record.error or "")
    write_reports(run, tmp_path)
    folder = tmp_path / device_dir_name(device.serial)
    raw = (folder / "instrumentation.txt").read_text()
    assert "Process crashed" in raw
    page = (tmp_path / "signoff.html").read_text()
    assert f'href="{folder.name}/instrumentation.txt"' in page
    if _logcat_works(device):  # once the virtual device has logcat: the crash stack is kept and shown
        logcat = (folder / "logcat.txt").read_text()
        assert "AndroidRuntime" in logcat or "FATAL" in logcat
        assert record.logcat_excerpt and 'class="logcat"' in page
    else:
        assert "logcat unavailable: " in page


def test_a_host_exception_keeps_its_line_and_writes_the_traceback(virtual_devices, options, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in the comparison")

    monkeypatch.setattr(device_run, "compare_model", broken)
    (device,) = virtual_devices(1, config=ava_device_config())
    run = deploy_test([device.serial], options)
    (record,) = run.devices
    assert record.status == "error" and record.error == "RuntimeError: a bug in the comparison"
    assert run.exit_code is ExitCode.INCOMPLETE
    write_reports(run, tmp_path)
    traceback = (tmp_path / device_dir_name(device.serial) / "host-error.txt").read_text()
    assert traceback.startswith("Traceback") and "in broken" in traceback and "a bug in the comparison" in traceback
    assert (tmp_path / device_dir_name(device.serial) / "instrumentation.txt").is_file()
    signoff = json.loads((tmp_path / "signoff.json").read_text())
    assert signoff["devices"][0]["error"] == "RuntimeError: a bug in the comparison"
    assert "host-error.txt" in signoff["devices"][0]["artifacts"]
