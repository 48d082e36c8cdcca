"""The command line's conventions: --version, shell completion, --quiet and --verbose."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version

from harness.android.virtual import ava_device_config
from tests.helpers import PROJECT_ROOT, assert_user_error, deploy_test_args, run_cli

MODEL = "AVA-ONX-384-FAST-INT8"


def test_version():
    result = run_cli("--version", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ava-harness {version('ava-harness')}"


def test_shell_completion_script_and_completions():
    script = run_cli("--show-completion", "bash", timeout=60)
    assert script.returncode == 0, script.stderr
    assert "_AVA_HARNESS_COMPLETE" in script.stdout
    env = {**os.environ, "_AVA_HARNESS_COMPLETE": "complete_bash", "COMP_WORDS": "ava-harness deploy-test --min-p"}
    completed = subprocess.run(
        [sys.executable, "-m", "harness.cli.app"],
        env={**env, "COMP_CWORD": "2"},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0 and completed.stdout.split() == ["--min-parity-cosine"], completed


def test_quiet_and_verbose_together_is_a_user_error():
    result = run_cli("--quiet", "--verbose", "models", "list", timeout=60)
    assert result.returncode == 2
    assert_user_error(result, "--quiet", "--verbose")


def _deploy(adb_server, tmp_path, serial: str, *common: str):
    args, env = deploy_test_args(adb_server.port, tmp_path / "reports", MODEL)
    return run_cli(*common, *args, "--device", serial, env=env)


def test_quiet_prints_the_summary_only_and_verbose_shows_stages_with_timings(
    virtual_devices, adb_server, model_file, tmp_path
):
    model_file(MODEL)
    (device,) = virtual_devices(1, config=ava_device_config())
    quiet = _deploy(adb_server, tmp_path / "quiet", device.serial, "--quiet")
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "PASS" in quiet.stdout and device.serial in quiet.stdout
    assert quiet.stderr.strip() == "", quiet.stderr[-2000:]

    verbose = _deploy(adb_server, tmp_path / "verbose", device.serial, "--verbose")
    assert verbose.returncode == 0, verbose.stderr[-2000:]
    debug = [line for line in verbose.stderr.splitlines() if " ms harness." in line]
    assert any("harness.cli.options: configuration: no configuration file" in line for line in debug), debug
    assert any(f"{device.serial}: push" in line and " s)" in line for line in debug), debug
    assert any("harness.cli.signoff: sign-off " in line and "on 1 device(s)" in line for line in debug), debug
    # ... and the adb commands the harness ran on the device, with their exit code and time
    assert any(f"harness.android.adb: adb -s {device.serial} shell getprop: exit 0" in line for line in debug), debug
