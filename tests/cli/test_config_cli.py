"""The configuration file through the real command line: the file sets the defaults of
`deploy-test` and `lab`, the command line wins, a bad file is one `error:` line (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer.main

from harness.android.virtual import ava_device_config
from harness.cli.app import app
from harness.config import KEYS
from tests.helpers import assert_user_error, only_run, run_cli

MODEL = "AVA-ONX-384-FAST-INT8"


def _long_options(command_name: str) -> set[str]:
    command = typer.main.get_command(app).commands[command_name]  # type: ignore[attr-defined]
    return {opt[2:] for param in command.params for opt in param.opts if opt.startswith("--")}


@pytest.mark.parametrize("command", ["deploy-test", "lab"])
def test_the_file_knows_exactly_the_sign_off_options(command):
    assert _long_options(command) - {"config"} == set(KEYS)


def _impossible_latency_gate(directory: Path, adb_port: int, serial: str, *, table: str = "") -> Path:
    """A configuration that fails every run: a 0.1 µs latency budget, gated on emulators too."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ava-harness.toml"
    path.write_text(
        f"{table}\n"
        f'models = ["{MODEL}"]\n'
        f'device = ["{serial}"]\n'
        f'adb-server = ["127.0.0.1:{adb_port}"]\n'
        "iterations = 3\n"
        "host-eval-limit = 40\n"
        "latency-budget-ms = 0.0001\n"
        "gate-latency-on-emulators = true\n",
        encoding="utf-8",
    )
    return path


def _signoff(run_dir: Path) -> dict:
    only = only_run(run_dir / "reports")
    return json.loads((only / "signoff.json").read_text())


def test_deploy_test_config_sets_the_gate_and_the_command_line_wins(virtual_devices, adb_server, model_file, tmp_path):
    model_file(MODEL)
    (device,) = virtual_devices(1, config=ava_device_config())
    env = {"ANDROID_ADB_SERVER_PORT": str(adb_server.port)}
    _impossible_latency_gate(tmp_path / "gated", adb_server.port, device.serial)
    # ./ava-harness.toml is found in the working directory; its reports-dir default is ./reports
    gated = run_cli("deploy-test", cwd=tmp_path / "gated", env=env)
    assert gated.returncode == 1, gated.stderr[-2000:]
    assert "FAIL" in gated.stdout and "latency_p50_ms" in gated.stdout
    (model,) = _signoff(tmp_path / "gated")["devices"][0]["models"]
    (latency,) = [g for g in model["gates"] if g["name"] == "latency_p50_ms"]
    assert not latency["passed"] and latency["threshold"] == 0.0001

    # the same file through --config, the budget overridden on the command line: passes
    config = _impossible_latency_gate(tmp_path / "elsewhere", adb_server.port, device.serial)
    (tmp_path / "overridden").mkdir()
    overridden = run_cli(
        "deploy-test", "--config", str(config), "--latency-budget-ms", "3600000", cwd=tmp_path / "overridden", env=env
    )
    assert overridden.returncode == 0, overridden.stderr[-2000:]
    (model,) = _signoff(tmp_path / "overridden")["devices"][0]["models"]
    assert [g["threshold"] for g in model["gates"] if g["name"] == "latency_p50_ms"] == [3600000]


def test_lab_reads_its_table_from_pyproject(virtual_devices, adb_server, model_file, tmp_path):
    model_file(MODEL)
    (device,) = virtual_devices(1, config=ava_device_config())
    body = _impossible_latency_gate(tmp_path / "draft", adb_server.port, device.serial).read_text()
    # top level: a passing budget; [tool.ava-harness.lab]: the impossible one, for lab only
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\n\n[tool.ava-harness]\nlatency-budget-ms = 3600000\n\n[tool.ava-harness.lab]\n' + body,
        encoding="utf-8",
    )
    result = run_cli(
        "lab", "--reports-dir", "lab-reports", cwd=tmp_path, env={"ANDROID_ADB_SERVER_PORT": str(adb_server.port)}
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert device.serial in result.stdout and "latency_p50_ms" in result.stdout
    assert (tmp_path / "lab-reports").is_dir()


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("bogus-option = 1\n", ("unknown key 'bogus-option'",)),
        ('min-parity-cosine = "high"\n', ("min-parity-cosine = 'high': expected a number",)),
        ('[deploy-test]\nmode = "fast"\n', ("mode = 'fast'", "use model_parity")),
        ('reference = "bogus"\n', ("reference = 'bogus'",)),
    ],
)
@pytest.mark.parametrize("command", ["deploy-test", "lab"])
def test_a_bad_file_is_one_error_line_naming_the_file_and_key(tmp_path, command, text, needles):
    if command == "lab" and text.startswith("[deploy-test]"):
        text = text.replace("[deploy-test]", "[lab]")
    (tmp_path / "ava-harness.toml").write_text(text, encoding="utf-8")
    # no adb server, no device: a run that started would fail differently
    result = run_cli(command, "--device", "never-contacted", "--models", MODEL, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert_user_error(result, str(tmp_path / "ava-harness.toml"), *needles)
    assert "never-contacted" not in result.stdout


def test_a_missing_config_file_is_a_user_error(tmp_path):
    result = run_cli("deploy-test", "--config", str(tmp_path / "nope.toml"), cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert_user_error(result, "--config", "nope.toml", "no such file")
