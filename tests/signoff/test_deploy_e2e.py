"""deploy-test end to end: real adb server, virtual devices running the Python reference of the
device contract with ONNX Runtime, real models. No mocks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.android.contract import RunSettings
from harness.android.virtual import ava_device_config
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test
from tests.helpers import only_run

MODEL = "AVA-ONX-384-FAST-INT8"


@pytest.fixture
def options(deploy_options) -> DeployOptions:
    return deploy_options(MODEL, settings=RunSettings(iterations=5, warmup=1, threads=1))


def test_signoff_passes_on_a_virtual_device(virtual_devices, options):
    (device,) = virtual_devices(1, config=ava_device_config())
    lines: list[str] = []
    run = deploy_test([device.serial], options, lambda who, msg: lines.append(f"{who} {msg}"))
    (record,) = run.devices
    assert record.status == "passed", (record.error, [g for m in record.models for g in m.gates if not g.passed])
    (model,) = record.models
    assert model.pushed and model.parity["min_cosine"] > 0.9999  # same kernels, same file
    assert model.end_to_end["token_agreement"] == 1.0  # the device's WordPiece matches tokenizers
    assert model.latency_ms["p50"] > 0 and len(model.latency_samples_ms) == 5
    assert model.chapter_tests == {
        "test1_loads_with_dimension": True,
        "test2_embeddings_valid": True,
        "test4_rag_ranking": True,
        "test3_cosine_vs_fp32": True,
    }
    assert record.instrumentation["session_code"] == -1
    # the app's and test APK's versions (dumpsys package) for the JUnit properties; classnames from
    # the device model and ABI, not the serial with its random port
    from harness.reports.junit import render_junit
    from harness.signoff.health import APP_VERSION_KEY, TEST_APK_VERSION_KEY

    assert re.fullmatch(r"\S+ \(\d+\)", record.health[APP_VERSION_KEY] or ""), record.health
    assert re.fullmatch(r"\S+ \(\d+\)", record.health[TEST_APK_VERSION_KEY] or ""), record.health
    junit = render_junit(run)
    assert f'name="{APP_VERSION_KEY}" value="{record.health[APP_VERSION_KEY]}"' in junit
    classnames = set(re.findall(r'classname="([^"]+)"', junit))
    assert classnames and not any(device.serial.split(":")[-1] in c for c in classnames - {"ava_harness.host"})
    # progress: the push in MB with its rate, the instrumentation as k/N tests (N = 6 checks x 1 model)
    push = [
        line for line in lines if re.fullmatch(rf".* push: {MODEL} [0-9.]+/[0-9.]+ MB \(\d+%\)( [0-9.]+ MB/s)?", line)
    ]
    assert push and push[-1].split("(")[1].startswith("100%"), lines
    started = [line.split(" instrument: ")[1] for line in lines if " instrument: " in line]
    assert started[0] == f"1/6 modelLoads[{MODEL}]" and started[-1] == f"6/6 latency[{MODEL}]", started
    assert sorted({int(s.split("/")[0]) for s in started}) == [1, 2, 3, 4, 5, 6]
    # the final path holds the verified model, no temporary files are left behind
    models_dir = device.host_path("/sdcard/Android/data/com.augmentalis.ava/files/models")
    assert sorted(p.name for p in models_dir.iterdir()) == [f"{MODEL}.onnx", f"{MODEL}.tokenizer.json"]
    assert run.passed

    # nothing changed: the second run pushes nothing
    again = deploy_test([device.serial], options)
    assert again.devices[0].status == "passed" and again.devices[0].models[0].pushed is False


def _cli(adb_server, tmp_path, *args: str):
    """`deploy-test` against the private adb server, small and quick; reports under tmp_path."""
    from tests.helpers import deploy_test_args, run_cli

    common, env = deploy_test_args(adb_server.port, tmp_path / "reports", MODEL)
    return run_cli(*common, *args, env=env)


def test_cli_deploy_test_writes_every_report_and_exits_0(virtual_devices, adb_server, model_file, tmp_path):
    import json

    model_file(MODEL)
    (device,) = virtual_devices(1, config=ava_device_config())
    result = _cli(adb_server, tmp_path, "--device", device.serial)
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = only_run(tmp_path / "reports")
    files = sorted(p.name for p in run_dir.iterdir() if p.is_file())
    assert files == ["junit.xml", "manifest.json", "signoff.html", "signoff.json"]
    # and one directory of the device's artifacts (instrumentation.txt, logcat.txt)
    assert [p.name for p in run_dir.iterdir() if p.is_dir()] == [device.serial.replace(":", "_")]
    assert json.loads((run_dir / "signoff.json").read_text())["passed"] is True
    # the manifest's path is the model file that was signed off (schema v2: one shape, snake_case)
    from harness.fileio import sha256_file

    (entry,) = json.loads((run_dir / "manifest.json").read_text())["models"]
    assert entry["id"] == MODEL and sha256_file(Path(entry["path"])) == entry["sha256"]
    assert "PASS" in result.stdout and device.serial in result.stdout
    # Not a terminal (a CI log): one timestamped line per step and device, not one per pushed chunk.
    import re

    steps = re.findall(rf"^· \d\d:\d\d:\d\d {re.escape(device.serial)} (\w[\w ]*)", result.stderr, re.MULTILINE)
    for step in ("connect", "health check", "push", "instrument", "pull", "done"):
        assert step in steps, (step, steps)
    assert steps.count("push") <= 2 * 2  # one line per model and file at most, whatever the chunks
    assert re.search(r"host evaluation: (cached|\d+ STS pairs)", result.stderr)


def test_cli_latency_on_an_emulator_is_shown_not_gated_unless_asked(virtual_devices, adb_server, model_file, tmp_path):
    import json

    model_file(MODEL)
    (device,) = virtual_devices(1, config=ava_device_config())
    shown = _cli(adb_server, tmp_path / "shown", "--device", device.serial, "--latency-budget-ms", "0.0001")
    assert shown.returncode == 0, shown.stderr[-2000:]
    run_dir = only_run(tmp_path / "shown" / "reports")
    (model,) = json.loads((run_dir / "signoff.json").read_text())["devices"][0]["models"]
    (latency,) = [g for g in model["gates"] if g["name"] == "latency_p50_ms"]
    assert latency["passed"] and "emulated device" in latency["detail"] and "not gated" in latency["detail"]

    gated = _cli(
        adb_server,
        tmp_path / "gated",
        "--device",
        device.serial,
        "--latency-budget-ms",
        "0.0001",
        "--gate-latency-on-emulators",
    )
    assert gated.returncode == 1, gated.stderr[-2000:]
    assert "Traceback" not in gated.stderr
    assert "FAIL: " in gated.stdout and "latency_p50_ms" in gated.stdout


def test_cli_deploy_test_unknown_device_exits_3(adb_server, tmp_path):
    result = _cli(adb_server, tmp_path, "--device", "no-such-phone")
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "no-such-phone" in result.stdout and "not found on adb server" in result.stdout
    assert "NO VERDICT" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--reference", "bogus"), "--reference"),
        (("--min-parity-cosine", "-5"), "--min-parity-cosine"),
        (("--latency-budget-ms", "inf"), "--latency-budget-ms"),
        (("--host-eval-limit", "-3"), "--host-eval-limit"),
        (("--device", ""), "--device"),
        (("--reports-dir", "/proc/ava-reports"), "/proc/ava-reports"),
    ],
)
def test_cli_bad_options_exit_2_before_any_device_work(tmp_path, args, needle):
    from tests.helpers import run_cli

    # No adb server, no device, no models: a run that started work would fail differently.
    result = run_cli("deploy-test", "--device", "never-contacted", "--models", MODEL, *args, timeout=120)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and needle in result.stderr
    assert "never-contacted" not in result.stdout


def test_the_mixed_index_profile_holds_the_worst_text_on_the_host_and_the_device(virtual_devices, deploy_options):
    """The chapter's default INT8 recipe drifts on its worst texts: `--gate-profile mixed-index`
    fails it there, naming the gate, on the host and on the device's own vectors."""
    (device,) = virtual_devices(1, config=ava_device_config())
    run = deploy_test([device.serial], deploy_options(MODEL, gate_profile="mixed-index"))
    (record,) = run.devices
    (model,) = record.models
    host_model = next(m for m in run.models if m.model_id == MODEL)
    host_worst = next(g for g in host_model.gates if g.name == "host_min_cosine")
    device_worst = next(g for g in model.gates if g.name == "fp32_min_cosine")
    assert host_worst.threshold == device_worst.threshold == 0.998
    assert device_worst.value == pytest.approx(model.vs_fp32["min_cosine"])
    assert not device_worst.passed and record.status == "failed"
