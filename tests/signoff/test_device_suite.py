"""`pytest device_tests --device SERIAL` (the sign-off suite) against a virtual device through
the private adb server; its JUnit XML lists every gate per device and model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

from harness.android.virtual import ava_device_config
from tests.helpers import PROJECT_ROOT


def _suite(serial: str, port: int, junit, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "device_tests",
            "-p",
            "no:cacheprovider",
            "-q",
            "--device",
            serial,
            "--models",
            "AVA-ONX-384-FAST-INT8",
            "--iterations",
            "3",
            "--host-eval-limit",
            "40",
            "--adb-server",
            f"127.0.0.1:{port}",
            f"--junitxml={junit}",
            *extra,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "ANDROID_ADB_SERVER_PORT": str(port)},
    )


def test_signoff_suite_passes_and_writes_junit(virtual_devices, adb_server, model_file, tmp_path):
    model_file("AVA-ONX-384-FAST-INT8")
    (device,) = virtual_devices(1, config=ava_device_config())
    result = _suite(device.serial, adb_server.port, tmp_path / "junit.xml")
    assert result.returncode == 0, result.stdout[-3000:]
    cases = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    names = [c.get("name") for c in cases]
    assert len(names) == 8 and all(device.serial in n and "AVA-ONX-384-FAST-INT8" in n for n in names)
    # Not silent while the devices work: a timestamped line per step (the suite runs with -q).
    for step in ("push", "instrument", "done"):
        assert re.search(rf"^\d\d:\d\d:\d\d {re.escape(device.serial)} {step}", result.stdout, re.MULTILINE), step


def test_signoff_suite_fails_on_a_budget_the_device_misses(virtual_devices, adb_server, model_file, tmp_path):
    model_file("AVA-ONX-384-FAST-INT8")
    (device,) = virtual_devices(1, config=ava_device_config(emulator=False))  # a phone: its latency is gated
    result = _suite(device.serial, adb_server.port, tmp_path / "junit.xml", "--latency-budget-ms", "0.001")
    assert result.returncode == 1
    failures = [
        c.get("name")
        for c in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
        if c.find("failure") is not None
    ]
    assert failures == [f"test_latency_budget[{device.serial}-AVA-ONX-384-FAST-INT8]"]


def test_signoff_suite_in_model_parity_mode_skips_the_tokenizer_check(
    virtual_devices, adb_server, model_file, tmp_path
):
    model_file("AVA-ONX-384-FAST-INT8")
    (device,) = virtual_devices(1, config=ava_device_config())
    result = _suite(device.serial, adb_server.port, tmp_path / "junit.xml", "--mode", "model_parity")
    assert result.returncode == 0, result.stdout[-3000:]
    skipped = [
        c.get("name")
        for c in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
        if c.find("skipped") is not None
    ]
    assert len(skipped) == 1 and skipped[0].startswith("test_end_to_end_tokenizer_agreement")
