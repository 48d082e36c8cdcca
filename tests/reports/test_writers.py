"""write_reports: four complete files, hostile strings escaped in each, partial data never crashes
or reads as a pass."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from harness.reports import writers
from harness.reports.html_page import render_html
from harness.reports.json_report import summarize
from harness.reports.junit import render_junit
from harness.reports.manifest import build_signoff_manifest
from harness.reports.terminal import print_summary
from harness.reports.writers import write_reports
from harness.signoff.results import DeviceRun, Gate, SignoffRun

from .conftest import EVIL, FAST, make_run


def test_write_reports_writes_four_complete_files(written: dict[str, Path], run: SignoffRun) -> None:
    assert set(written) == {"json", "junit", "html", "manifest"}
    folder = written["json"].parent
    assert folder.name == run.run_id
    assert sorted(p.name for p in folder.iterdir()) == ["junit.xml", "manifest.json", "signoff.html", "signoff.json"]


def test_everything_escapes_hostile_strings(run: SignoffRun, tmp_path: Path) -> None:
    run.devices[0].props["ro.product.model"] = EVIL
    run.devices[2].error = 'push failed: <img src=x onerror="alert(2)"> & more'
    run.models[0].quality["<b>key</b>"] = EVIL
    paths = write_reports(run, tmp_path)
    page = paths["html"].read_text()
    assert EVIL not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    root = ET.parse(paths["junit"]).getroot()
    assert any(s.get("name") == f"emulator-5554 ({EVIL})" for s in root.iter("testsuite"))
    assert json.loads(paths["manifest"].read_text())["devices"][0]["model"] == EVIL


def test_partial_data_zero_devices_nan_and_empty_lists(tmp_path: Path) -> None:
    empty = SignoffRun("r-empty", "2025-01-14T00:00:00+00:00", "0.1.0", "1.19.2", texts=[])
    paths = write_reports(empty, tmp_path / "empty")
    root = ET.parse(paths["junit"]).getroot()
    assert root.get("errors") == "1"  # no devices must not read as green
    assert "No devices ran" in paths["html"].read_text()
    assert json.loads(paths["json"].read_text())["summary"]["devices"]["total"] == 0

    broken = make_run()
    broken.models[1].quality = {"sts_retention": float("nan")}
    broken.models[1].gates = []
    m = broken.devices[1].models[0]
    m.latency_samples_ms, m.latency_ms, m.parity_cosines = [], {}, [float("nan")]
    m.parity = {"min_cosine": float("nan")}
    m.gates = [Gate("parity_min_cosine", False, None, 0.999, "the device wrote no embeddings")]
    broken.devices[1].models[1].gates = []
    broken.devices[2].error = "\x1b[31mFATAL\x1b[0m device said \x00 nothing"
    broken.devices.append(DeviceRun(serial="pending-1"))
    paths = write_reports(broken, tmp_path / "broken")
    json.loads(paths["json"].read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    manifest = json.loads(paths["manifest"].read_text())
    assert manifest["models"][1]["quantized_quality"] is None
    root = ET.parse(paths["junit"]).getroot()
    names = {c.get("name"): c for c in root.iter("testcase")}
    assert names[f"{FAST}.gates"].find("error") is not None  # a model with no gates is not a pass
    assert int(root.get("errors")) == 4  # error device, pending device, two models without gates
    page = paths["html"].read_text()
    assert "no latency samples" in page
    errors = page[page.index('id="errors"') : page.index("Models × devices")]
    assert "pending-1" in errors and "FATAL" in errors  # an unfinished device is listed with the errors
    print_summary(broken, Console(record=True, width=200, file=open(os.devnull, "w")))  # noqa: SIM115


def test_summary_and_renderers_agree(run: SignoffRun) -> None:
    assert summarize(run)["passed"] is run.passed is False
    assert build_signoff_manifest(run)["summary"] == summarize(run)
    assert render_junit(run).startswith("<?xml")
    assert render_html(run).rstrip().endswith("</html>")


def test_a_file_that_fails_verification_leaves_the_previous_report(
    run: SignoffRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / run.run_id
    first = write_reports(run, folder)
    before = {key: path.read_bytes() for key, path in first.items()}
    run.devices[0].status = "failed"
    monkeypatch.setattr(writers, "render_html", lambda _run: "<html><body>cut off mid-")
    with pytest.raises(writers.ReportWriteError, match=r"signoff.html: not written .*HTML is incomplete") as err:
        write_reports(run, folder)
    assert first["html"].read_bytes() == before["html"]  # the complete page from the first run
    assert first["json"].read_bytes() != before["json"]  # written before the HTML, so it is the new run
    assert first["manifest"].read_bytes() != before["manifest"]  # written after the HTML failed
    assert set(err.value.files.written) == {"json", "junit", "manifest"} and set(err.value.files.failed) == {"html"}
    assert sorted(p.name for p in folder.iterdir()) == sorted(path.name for path in first.values())
