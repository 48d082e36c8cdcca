"""Release over release, end to end through the real adb server and virtual devices: run A (the
default INT8 recipe), run B with `--baseline A` on another virtual device (another serial, the same
device model), run C whose model was swapped for the chapter's per-tensor recipe with `--baseline A`;
then `report diff` and `report history` over those runs. The three runs are made once per module
(each costs 20-40 s) and shared by the tests."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.android.virtual import ava_device_config
from harness.gates import QualityGates
from harness.reference.choice import HOST_ABI
from harness.regression_gates import EMBEDDING_COSINE, RegressionGates
from harness.reports.run_record import load_signoff
from harness.reports.writers import write_reports
from harness.signoff.baseline import Baseline, device_key
from harness.signoff.pipeline import deploy_test
from tests.helpers import deploy_test_args, render_in_chromium, run_cli, screenshot_colours, validate_report

MODEL = "AVA-ONX-384-FAST-INT8"
# The swapped run's absolute gates, chosen for the test: loose enough for the chapter recipe
# (mean cosine to FP32 ~0.97), so only the regression gate can fail it. Its host evaluation runs
# on its own number of items, so its cached result is never another run's.
LOOSE_INT8 = QualityGates(min_mean_cosine=0.95, min_p5_cosine=0.8, min_spearman_retention=0.95)
SWAPPED_EVAL_LIMIT = 37


@pytest.fixture(scope="module")
def devices(adb_server, tmp_path_factory):
    """Two virtual phones of one device model (different serials), for the whole module."""
    from virtual_device import adbtools
    from virtual_device.host import DeviceHost

    host = DeviceHost()
    handles = [
        host.add_device(ava_device_config(), sandbox=Path(tmp_path_factory.mktemp("baseline-vdev"))) for _ in range(2)
    ]
    for handle in handles:
        adbtools.connect(adb_server.adb_path, adb_server.port, handle.serial)
    try:
        yield handles
    finally:
        for handle in handles:
            adbtools.disconnect(adb_server.adb_path, adb_server.port, handle.serial)
        host.close()


@pytest.fixture(scope="module")
def runs(devices, adb_server, model_file, registry, tmp_path_factory) -> dict[str, Any]:
    model_file(MODEL)
    reports = tmp_path_factory.mktemp("baseline-reports")
    args, env = deploy_test_args(adb_server.port, reports, MODEL)
    first = run_cli(*args, "--device", devices[0].serial, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    (run_a,) = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]
    second = run_cli(*args, "--device", devices[1].serial, "--baseline", "latest", env=env)  # latest: run A
    run_b = next(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink() and p != run_a)

    # Run C: the same model ID, its file made by the chapter's per-tensor recipe.
    from harness.android.adb import AdbServer
    from harness.android.contract import RunSettings
    from harness.signoff.options import DeployOptions

    base = registry.models[MODEL.removesuffix("-INT8")]
    loose = replace(
        registry, models={**registry.models, base.id: replace(base, gates={**base.gates, "INT8": LOOSE_INT8})}
    )
    options = DeployOptions(
        model_ids=[MODEL],
        servers=[AdbServer("127.0.0.1", adb_server.port)],
        settings=RunSettings(iterations=3, warmup=1, threads=1),
        host_eval_limit=SWAPPED_EVAL_LIMIT,
        preset="chapter",
        reports_dir=reports,
        baseline=Baseline(run_a / "signoff.json", load_signoff(run_a), RegressionGates()),
    )
    swapped = deploy_test([devices[1].serial], options, registry=loose)
    run_c = write_reports(swapped, reports / swapped.run_id).directory
    serials = [d.serial for d in devices]
    return {
        "serials": serials,
        "reports": reports,
        "a": run_a,
        "b": run_b,
        "c": run_c,
        "b_cli": second,
        "c_run": swapped,
        "env": env,
    }


def _doc(directory: Path) -> dict[str, Any]:
    """A run's signoff.json, held to schemas/ (the module's runs are not under a test's tmp_path)."""
    validate_report(directory / "manifest.json")
    return validate_report(directory / "signoff.json")


def test_a_run_against_its_own_recipe_passes_and_records_the_comparison(runs):
    assert runs["b_cli"].returncode == 0, runs["b_cli"].stdout[-3000:] + runs["b_cli"].stderr[-2000:]
    doc = _doc(runs["b"])
    comparison = doc["baseline"]
    assert comparison["run_id"] == _doc(runs["a"])["run_id"] and comparison["passed"] is True
    rows = {(r["where"], r["figure"]): r for r in comparison["rows"]}
    device = next(w for w, f in rows if f == "embedding_cosine_mean")
    cosine = rows[(device, "embedding_cosine_mean")]
    # another phone (serial) of the same device model and ABI: matched by model and ABI, not by serial
    assert device == device_key(_doc(runs["a"])["devices"][0]) and device.endswith(f"({HOST_ABI})"), device
    assert (cosine["serial"], cosine["baseline_serial"]) == (runs["serials"][1], runs["serials"][0])
    assert cosine["this_run"] > 0.99999 and cosine["gated"] is False  # same file: shown, not gated
    latency = rows[(device, "latency_p50_ms")]
    assert latency["gated"] is False and "emulated" in latency["why"]
    assert rows[("host", "size_bytes")]["passed"] is True and rows[("host", "size_bytes")]["change"] == 0
    # the device kept its vectors, small: float16, compressed
    (kept,) = list(runs["b"].glob("*/embeddings-*.npz"))
    assert kept.stat().st_size < 100_000
    # the page and the terminal show the comparison side by side
    page = (runs["b"] / "signoff.html").read_text()
    assert f"Baseline {comparison['run_id']}" in page and page.count('class="baseline-row') >= 4
    assert "Baseline" in runs["b_cli"].stdout and comparison["run_id"] in runs["b_cli"].stdout


def test_a_worse_recipe_fails_the_regression_gate_but_passes_the_absolute_ones(runs):
    run = runs["c_run"]
    (device,) = run.devices
    (model,) = device.models
    failed = [g.name for g in model.gates if not g.passed] + [
        g.name for m in run.models for g in m.gates if not g.passed
    ]
    assert failed == [EMBEDDING_COSINE], [(g.name, g.value, g.detail) for g in model.gates]
    gate = next(g for g in model.gates if g.name == EMBEDDING_COSINE)
    assert gate.value < RegressionGates().min_embedding_cosine
    assert not run.passed and int(run.exit_code) == 1
    doc = _doc(runs["c"])
    assert doc["baseline"]["passed"] is False and doc["verdict"] == "failed"
    assert any(f["gate"] == EMBEDDING_COSINE for f in doc["failed_gates"])
    page = (runs["c"] / "signoff.html").read_text()
    assert page.count('class="baseline-row cell-fail"') == 1 and "regression gates FAILED" in page


def test_report_diff_names_the_changed_figures(runs):
    result = run_cli("report", "diff", str(runs["a"]), str(runs["c"]), "--json", env=runs["env"])
    assert result.returncode == 0, result.stderr
    changes = json.loads(result.stdout)
    figures = {(c["model_id"], c["figure"]) for c in changes["changes"]}
    assert (MODEL, "sha256") in figures and (MODEL, "preset") in figures
    assert any(f.startswith("vs_fp32.mean_cosine") for _, f in figures)
    table = run_cli("report", "diff", str(runs["a"]), str(runs["c"]), env=runs["env"])
    assert table.returncode == 0 and "preset" in table.stdout and "chapter" in table.stdout


def test_report_history_renders_in_headless_chromium(runs, tmp_path):
    result = run_cli("report", "history", str(runs["reports"]), env=runs["env"])
    assert result.returncode == 0, result.stderr
    page = runs["reports"] / "history.html"
    text = page.read_text()
    assert text.count("<svg") >= 5 and "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    latest = runs["reports"] / "latest"
    newest = max((_doc(d)["created_at"], d.name) for d in (runs["a"], runs["b"], runs["c"]))[1]
    assert latest.is_symlink() and os.readlink(latest) == newest
    rendered, png = render_in_chromium(page, tmp_path, window="1280,1600")
    assert rendered.count('<section class="model">') == 1
    # every run is a point linking to its page on the size chart (3 runs)
    for run in ("a", "b", "c"):
        assert f'href="{runs[run].name}/signoff.html"' in rendered
    assert screenshot_colours(png) >= 8, "the screenshot is blank"
