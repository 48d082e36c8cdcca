"""A device that lies never buys a pass, and one device's bad data never costs another its verdict.
Every lie is told by the virtual device itself (its faults edit what the app wrote, or what
`am instrument` prints), through the real adb server; nothing on the host side is mocked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from harness.android.virtual import ava_device_config
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test
from harness.signoff.results import ExitCode
from tests.helpers import PROJECT_ROOT, only_run
from virtual_device.faults import json_raw, json_repeat

FAST = "AVA-ONX-384-FAST-INT8"
BASE = "AVA-ONX-384-BASE-INT8"
MODELS_DIR = "/sdcard/Android/data/com.augmentalis.ava/files/models"


def _out(model_id: str, name: str) -> str:
    return f"*/out/{model_id}/{name}"


@pytest.fixture
def options(deploy_options) -> DeployOptions:
    return deploy_options(FAST, adb_timeout=20, instrument_timeout=300, idle_timeout=60)


def _run_one(virtual_devices, options, **tamper):
    (device,) = virtual_devices(1, config=ava_device_config())
    device.faults.tamper_file(_out(FAST, "result.json"), **tamper)
    run = deploy_test([device.serial], options)
    (record,) = run.devices
    (model,) = record.models
    return run, record, model


@pytest.mark.parametrize(
    ("json_set", "needle"),
    [
        ({"latencyMs": [1.0]}, "latencyMs has 1 samples, 3 were requested"),
        ({"latencyMs": json_repeat(5.0, 10_000_000)}, "result.json"),  # refused by size, never parsed
        ({"peakMemoryKb": json_raw("1e400")}, "peakMemoryKb"),
        ({"peakMemoryKb": "lots"}, "peakMemoryKb"),
        ({"loadMs": json_raw("NaN")}, "loadMs"),
    ],
)
def test_a_result_that_breaks_the_contract_is_no_verdict_never_a_pass(virtual_devices, options, json_set, needle):
    run, record, model = _run_one(virtual_devices, options, json_set=json_set)
    assert not model.passed and model.error is not None and needle in model.error, model.error
    assert record.status == "error" and not record.passed
    assert run.exit_code is ExitCode.INCOMPLETE


def test_all_nan_end_to_end_embeddings_fail_the_gate(virtual_devices, options):
    (device,) = virtual_devices(1, config=ava_device_config())
    device.faults.tamper_file(_out(FAST, "embeddings_e2e.npy"), npy_fill=float("nan"))
    run = deploy_test([device.serial], options)
    (model,) = run.devices[0].models
    (gate,) = [g for g in model.gates if g.name == "e2e_min_cosine"]
    assert not gate.passed and "non-finite" in gate.detail
    assert run.exit_code is ExitCode.GATE_FAILED


def test_one_models_bad_result_leaves_the_other_model_judged(virtual_devices, deploy_options):
    options = deploy_options(FAST, BASE, adb_timeout=20, instrument_timeout=300, idle_timeout=60)
    (device,) = virtual_devices(1, config=ava_device_config())
    device.faults.tamper_file(_out(FAST, "result.json"), replace_bytes=b"{not json")
    run = deploy_test([device.serial], options)
    fast, base = run.devices[0].models
    assert fast.model_id == FAST and fast.error is not None and not fast.passed
    assert base.model_id == BASE and base.error is None and base.passed, [g for g in base.gates if not g.passed]
    assert run.exit_code is ExitCode.INCOMPLETE


def test_a_lying_device_in_a_lab_never_costs_the_healthy_one_its_verdict(virtual_devices, options):
    healthy, liar = virtual_devices(2, config=ava_device_config())
    liar.faults.tamper_file(_out(FAST, "result.json"), json_set={"latencyMs": [1.7e308, 1.7e308, 1.7e308]})
    run = deploy_test([healthy.serial, liar.serial], options)
    good, bad = run.devices
    assert good.passed and bad.status == "error" and "latencyMs" in bad.error
    assert run.exit_code is ExitCode.INCOMPLETE


def _cli(adb_server, tmp_path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ANDROID_ADB_SERVER_PORT": str(adb_server.port), "COLUMNS": "160"}
    command = [
        sys.executable, "-m", "harness.cli.app", "deploy-test", "--models", FAST,
        "--adb-server", f"127.0.0.1:{adb_server.port}", "--iterations", "3", "--host-eval-limit", "40",
        "--reports-dir", str(tmp_path / "reports"), *args,
    ]  # fmt: skip
    pipe = subprocess.PIPE
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=pipe, stderr=pipe, text=True)


def test_hostile_strings_from_the_device_never_reach_the_terminal_raw(
    virtual_devices, adb_server, model_file, tmp_path
):
    model_file(FAST)
    config = ava_device_config(extra_props={"ro.product.model": "Evil\x1b[2J\x1b]0;pwned\x07[/bold]Phone"})
    (device,) = virtual_devices(1, config=config)
    device.faults.rewrite_status("test", "[/bold]{value}\x1b[2J[link=http://x]y[/link]")
    process = _cli(adb_server, tmp_path, "--device", device.serial)
    stdout, stderr = process.communicate(timeout=600)
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "\x1b" not in stdout and "\x07" not in stdout
    assert "\x1b" not in stderr and "\x07" not in stderr
    assert process.returncode in (0, 1, 3)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_mid_push_ends_with_a_partial_report_and_exit_3(
    virtual_devices, adb_server, model_file, tmp_path, sig
):
    model_file(FAST)
    (device,) = virtual_devices(1, config=ava_device_config())
    device.faults.throttle(200_000)  # a 17 MB model takes ~90 s: the interrupt lands mid-push
    process = _cli(adb_server, tmp_path, "--device", device.serial)
    models_dir = device.host_path(MODELS_DIR)
    deadline = time.monotonic() + 300
    while not (models_dir.exists() and any(".partial-" in p.name for p in models_dir.iterdir())):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=120)  # bounded by STOP_GRACE_SECONDS, not by the push
    assert process.returncode == ExitCode.INCOMPLETE, (stdout[-2000:], stderr[-2000:])
    assert "Traceback" not in stderr and "INTERRUPTED" in stdout
    run_dir = only_run(tmp_path / "reports")
    document = json.loads((run_dir / "signoff.json").read_text())
    assert document["verdict"] == "interrupted" and signal.Signals(sig).name in document["interrupted"]
    # Nothing half-pushed stays on the device (the device drops its own receive buffer once the
    # host has closed the transfer, which it may notice a moment after the harness exits).
    deadline = time.monotonic() + 60
    while (left := [p.name for p in models_dir.iterdir() if ".partial-" in p.name]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == []


def test_half_pushed_files_a_killed_run_left_on_the_device_are_swept(virtual_devices, options):
    (device,) = virtual_devices(1, config=ava_device_config())
    models_dir = device.host_path(MODELS_DIR)
    models_dir.mkdir(parents=True, exist_ok=True)
    stale = models_dir / f"{FAST}.onnx.partial-99999"
    stale.write_bytes(b"half a model")
    keep = models_dir / "notes.partial-draft"  # not our temporary name: left alone
    keep.write_bytes(b"x")
    (record,) = deploy_test([device.serial], options).devices
    assert record.passed, record.error
    assert not stale.exists() and keep.exists()


def test_an_interrupt_while_the_instrumentation_is_silent_stops_within_the_grace(
    virtual_devices, adb_server, model_file, tmp_path
):
    model_file(FAST)
    (device,) = virtual_devices(1, config=ava_device_config())
    stall = device.faults.stall(None, service="shell:am instrument")  # am instrument never answers
    process = _cli(adb_server, tmp_path, "--device", device.serial)  # idle timeout: the default 300 s
    deadline = time.monotonic() + 300
    while stall.fired == 0:  # the harness is now waiting on am instrument's output
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)  # far less than the 300 s idle timeout
    assert process.returncode == ExitCode.INCOMPLETE, (stdout[-2000:], stderr[-2000:])
    run_dir = only_run(tmp_path / "reports")
    document = json.loads((run_dir / "signoff.json").read_text())
    assert document["verdict"] == "interrupted"
    assert document["devices"][0]["status"] == "interrupted" and "instrument" in document["devices"][0]["error"]
