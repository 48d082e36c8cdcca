"""The device's operator profile (contract v3): the summariser on its own, and end to end through
the virtual device (the Python reference profiles with ONNX Runtime's own profiler)."""

from __future__ import annotations

import json

import pytest

from harness.android.virtual import ava_device_config
from harness.reports.html_page import render_html
from harness.reports.writers import write_reports
from harness.signoff.artifacts import device_dir_name
from harness.signoff.pipeline import deploy_test
from harness.signoff.profile import PROFILE_MAX_BYTES, ProfileError, summarise_profile
from harness.signoff.results import ExitCode, ModelOnDevice

FAST = "AVA-ONX-384-FAST-INT8"


def _node(op: str, dur: float, node: str = "n") -> dict:
    return {"cat": "Node", "name": f"{node}_kernel_time", "dur": dur, "args": {"op_name": op, "provider": "CPU"}}


def _profile(*events: dict) -> bytes:
    run = {"cat": "Session", "name": "model_run", "dur": 2000}
    noise = [
        {"cat": "Session", "name": "session_initialization", "dur": 99999},
        {"cat": "Node", "name": "n_fence_before", "dur": 0, "args": {"op_name": "MatMul"}},
    ]
    return json.dumps([*noise, *events, run, run]).encode()


def test_the_summary_ranks_op_types_by_total_time() -> None:
    data = _profile(_node("MatMul", 600), _node("MatMul", 400), _node("Add", 250), _node("Gelu", 250), _node("Sub", 0))
    summary = summarise_profile(data)
    assert summary["top_ops"] == [
        {"op_type": "MatMul", "ms": 1.0, "share": 0.6667, "count": 2},
        {"op_type": "Add", "ms": 0.25, "share": 0.1667, "count": 1},  # ties: by name
        {"op_type": "Gelu", "ms": 0.25, "share": 0.1667, "count": 1},
        {"op_type": "Sub", "ms": 0.0, "share": 0.0, "count": 1},
    ]
    assert summary["node_ms_total"] == 1.5 and summary["run_ms_total"] == 4.0 and summary["runs"] == 2
    assert summary["op_types"] == 4
    many = summarise_profile(_profile(*(_node(f"Op{i}", 1 + i) for i in range(30))), top=10)
    assert len(many["top_ops"]) == 10 and sum(op["share"] for op in many["top_ops"]) <= 1


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (_profile(_node("MatMul", 5))[:-20], "not valid JSON"),  # truncated
        (b"", "not valid JSON"),
        (b'{"traceEvents": []}', "expected a JSON array"),
        (b"[]", "no operator"),
        (_profile(_node("MatMul", float("nan"))), "no finite dur"),  # json.dumps writes NaN
        (_profile(_node("MatMul", -1)), "outside"),
        (_profile(_node("MatMul", True)), "no finite dur"),
        (_profile(_node("<script>", 1)), "no valid args.op_name"),
        (_profile({"cat": "Node", "name": "x_kernel_time", "dur": 1}), "no valid args.op_name"),
        (b"[" + b"1," * 10 + b"1]", "event 0 is not an object"),
        (b"[" + b" " * PROFILE_MAX_BYTES + b"]", "more than"),
        (b'[{"cat": "Node", "cat": "Node"}]', "appears twice"),
        ('["\udcff"]'.encode("utf-8", "surrogatepass"), "UTF-8"),
    ],
)
def test_a_bad_profile_is_a_reason_never_an_exception_of_another_kind(data: bytes, needle: str) -> None:
    with pytest.raises(ProfileError) as raised:
        summarise_profile(data)
    assert needle in str(raised.value), str(raised.value)


def test_the_page_draws_the_top_operators_and_escapes_them() -> None:
    from harness.signoff.results import DeviceRun, SignoffRun

    good = ModelOnDevice(FAST, "INT8", "0" * 64, 1)
    good.profile = summarise_profile(_profile(_node("MatMul", 600), _node("Add", 250), _node("Gelu", 100)))
    hostile = ModelOnDevice("B", "INT8", "0" * 64, 1, profile_error="profile.json unusable: <b>bad</b>")
    weird = ModelOnDevice("C", "INT8", "0" * 64, 1)
    weird.profile = {"top_ops": [{"op_type": "<i>x</i>", "ms": "lots", "share": 9}, None, "x"]}
    device = DeviceRun(serial="s1", status="passed", models=[good, hostile, weird])
    page = render_html(SignoffRun("r", "", "0", "1", ["a"], devices=[device]))
    section = page[page.index('id="profiles"') :]
    assert section.count('class="plot top-ops"') == 1
    assert ">MatMul<" in section and "63.2%" in section
    assert "&lt;b&gt;bad&lt;/b&gt;" in section and "<b>bad</b>" not in section
    assert "the profile has no operator times" in section


@pytest.fixture
def options(deploy_options):
    return deploy_options(FAST, adb_timeout=20, instrument_timeout=300, idle_timeout=60)


def test_a_passing_run_profiles_each_model_and_keeps_the_raw_profile(virtual_devices, options, tmp_path):
    (device,) = virtual_devices(1, config=ava_device_config())
    run = deploy_test([device.serial], options)
    (record,) = run.devices
    (model,) = record.models
    assert record.status == "passed", record.error
    assert model.profile_error is None
    top = model.profile["top_ops"]
    assert len(top) >= 3 and sum(op["share"] for op in top) <= 1
    assert all(op["ms"] >= 0 and op["count"] >= 1 for op in top)
    assert model.profile["runs"] == options.settings.iterations and model.profile["pass_ms"] > 0
    write_reports(run, tmp_path)
    signoff = json.loads((tmp_path / "signoff.json").read_text())
    assert signoff["devices"][0]["models"][0]["profile"]["top_ops"] == top
    raw = signoff["devices"][0]["artifacts"][f"profile-{FAST}.json"]
    assert raw == f"{device_dir_name(device.serial)}/profile-{FAST}.json"
    assert json.loads((tmp_path / raw).read_text())  # ONNX Runtime's profile, as the device wrote it
    assert 'class="plot top-ops"' in (tmp_path / "signoff.html").read_text()


@pytest.mark.parametrize(
    ("tamper", "needle"),
    [
        ({"truncate": 100}, "not valid JSON"),
        ({"replace_bytes": b'{"not": "a profile"}'}, "expected a JSON array"),
        ({"delete": True}, "the device wrote no profile.json"),
    ],
)
def test_a_corrupted_profile_leaves_the_verdict_and_says_why(virtual_devices, options, tmp_path, tamper, needle):
    (device,) = virtual_devices(1, config=ava_device_config())
    device.faults.tamper_file(f"*/out/{FAST}/profile.json", **tamper)
    run = deploy_test([device.serial], options)
    (record,) = run.devices
    (model,) = record.models
    assert record.status == "passed" and model.passed and run.exit_code is ExitCode.PASSED, record.error
    assert model.profile_error is not None and needle in model.profile_error, model.profile_error
    assert "top_ops" not in model.profile
    write_reports(run, tmp_path)
    signoff = json.loads((tmp_path / "signoff.json").read_text())
    assert signoff["verdict"] == "passed" and needle in signoff["devices"][0]["models"][0]["profile_error"]
    assert needle in (tmp_path / "signoff.html").read_text()
