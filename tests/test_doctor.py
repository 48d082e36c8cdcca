"""harness.doctor's checks: each looks, returns what it found and, when wrong, the fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.doctor import (
    Check,
    Status,
    adb_version,
    check_adb_binary,
    check_arm64_runtime,
    check_chromium,
    check_disk,
    check_kotlinc,
    check_packages,
    check_python,
    failure_message,
    run_checks,
)

ADB_OUTPUT = (
    "Android Debug Bridge version 1.0.41\nVersion 35.0.2-12147458\nInstalled as /usr/bin/adb\nRunning on Linux\n"
)


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_adb_version_is_one_line():
    assert adb_version(ADB_OUTPUT) == "Android Debug Bridge 1.0.41, platform-tools 35.0.2-12147458"
    assert adb_version("something else") == "version unknown"


def test_adb_from_the_environment_variable(tmp_path):
    quoted = ADB_OUTPUT.replace("\n", "\\n")
    adb = _script(tmp_path / "adb", f'printf "{quoted}"')
    check = check_adb_binary({"ADB": str(adb)})
    assert check.status is Status.OK and str(adb) in check.found and "1.0.41" in check.found and not check.fix


@pytest.mark.parametrize("target", ["nowhere/adb", "not-executable"])
def test_adb_pointing_nowhere_fails_with_the_fix(tmp_path, target):
    (tmp_path / "not-executable").write_text("x")
    check = check_adb_binary({"ADB": str(tmp_path / target)})
    assert check.status is Status.FAIL and "$ADB=" in check.found
    assert "platform-tools" in check.fix and "ADB" in check.fix


def test_adb_that_fails_to_run_fails(tmp_path):
    check = check_adb_binary({"ADB": str(_script(tmp_path / "adb", "exit 7"))})
    assert check.status is Status.FAIL and "exit code 7" in check.found


def test_python_and_packages():
    assert check_python().status is Status.OK
    assert check_packages().status is Status.OK and "onnxruntime " in check_packages().found
    missing = check_packages(("onnxruntime", "no-such-package-here"))
    assert missing.status is Status.FAIL and "no-such-package-here" in missing.found and missing.fix


def test_arm64_runtime(tmp_path):
    assert check_arm64_runtime(tmp_path).status is Status.WARN
    assert "make arm64-runtime" in check_arm64_runtime(tmp_path).fix
    (tmp_path / "runtime.json").write_text('{"onnxruntime_version": "1.32.0"}')
    ok = check_arm64_runtime(tmp_path)
    assert ok.status is Status.OK and "1.32.0" in ok.found


def test_kotlinc(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    missing = check_kotlinc(tmp_path)
    assert missing.status is Status.WARN and "build.sh" in missing.fix
    _script(tmp_path / "kotlinc", "true")
    assert check_kotlinc(tmp_path) == Check("kotlinc", Status.OK, str(tmp_path / "kotlinc"))


def test_chromium(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert check_chromium().status is Status.WARN and "apt-get install chromium" in check_chromium().fix
    _script(tmp_path / "chromium", "true")
    assert check_chromium().found == str(tmp_path / "chromium")


def test_disk_thresholds(tmp_path):
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    assert check_disk(tmp_path, low=1, minimum=0).status is Status.OK
    assert check_disk(tmp_path, low=free * 4, minimum=0).status is Status.WARN
    failed = check_disk(tmp_path, low=free * 4, minimum=free * 2)
    assert failed.status is Status.FAIL and "GiB free" in failed.found and failed.fix


def test_a_check_that_raises_is_a_failure_not_a_traceback():
    def check_broken() -> Check:
        raise RuntimeError("boom")

    (result,) = run_checks((check_broken,))
    assert result.status is Status.FAIL and result.name == "broken" and "boom" in result.found


def test_failure_message_names_each_failed_check_and_its_fix():
    results = [
        Check("a", Status.OK, "fine"),
        Check("b", Status.WARN, "meh", "w"),
        Check("c", Status.FAIL, "no", "do x"),
    ]
    assert failure_message(results) == "c: no (fix: do x)"
    assert failure_message(results[:2]) is None
