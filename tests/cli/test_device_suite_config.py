"""`pytest device_tests` reads the same configuration file as deploy-test and honours
ANDROID_SERIAL; its command line wins over the file. Through a virtual device."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.android.virtual import ava_device_config
from tests.helpers import PROJECT_ROOT

MODEL = "AVA-ONX-384-FAST-INT8"
PYTEST = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q")


def _suite(cwd: Path, env: dict[str, str], junit: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PYTEST, str(PROJECT_ROOT / "device_tests"), f"--junitxml={junit}", *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
    )


def _failures(junit: Path) -> list[str]:
    cases = ET.parse(junit).getroot().iter("testcase")
    return [str(c.get("name")) for c in cases if c.find("failure") is not None]


def test_suite_takes_the_file_and_android_serial_and_the_command_line_wins(
    virtual_devices, adb_server, model_file, tmp_path
):
    model_file(MODEL)
    (device,) = virtual_devices(1, config=ava_device_config())
    (tmp_path / "ava-harness.toml").write_text(
        f'models = ["{MODEL}"]\n'
        f'adb-server = ["127.0.0.1:{adb_server.port}"]\n'
        'mode = "both"\n'
        'reference = "host"\n'
        "min-parity-cosine = 0.99\n"
        "iterations = 3\n"
        "host-eval-limit = 40\n"
        "latency-budget-ms = 0.0001\n"
        "gate-latency-on-emulators = true\n",
        encoding="utf-8",
    )
    env = {"ANDROID_ADB_SERVER_PORT": str(adb_server.port), "ANDROID_SERIAL": device.serial}
    gated = _suite(tmp_path, env, tmp_path / "gated.xml")
    assert gated.returncode == 1, gated.stdout[-3000:]
    assert _failures(tmp_path / "gated.xml") == [f"test_latency_budget[{device.serial}-{MODEL}]"]

    passed = _suite(tmp_path, env, tmp_path / "passed.xml", "--latency-budget-ms", "3600000")
    assert passed.returncode == 0, passed.stdout[-3000:]
    names = [c.get("name") for c in ET.parse(tmp_path / "passed.xml").getroot().iter("testcase")]
    assert names and all(device.serial in str(n) for n in names)


def test_suite_refuses_a_bad_file_in_one_line(tmp_path):
    (tmp_path / "bad.toml").write_text("min_parity_cosine = 0.9\n", encoding="utf-8")
    result = _suite(tmp_path, {}, tmp_path / "j.xml", "--config", str(tmp_path / "bad.toml"), "--device", "x")
    assert result.returncode == 4, result.stdout[-2000:] + result.stderr[-2000:]
    assert "unknown key 'min_parity_cosine'" in result.stderr and "Traceback" not in result.stderr
