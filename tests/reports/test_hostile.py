"""Writers never raise on data, and one device's bad data never costs another device its verdict.

Property: for any run whose non-healthy devices carry hostile values (the table in hostile.py, one
value in every field of a kind, or a seeded random mix), every writer (signoff.json, junit.xml,
signoff.html, manifest.json, the terminal summary) returns without raising, its output parses, no
control character from the data reaches the terminal, the run never reads as a pass, and the
healthy device (emulator-5554) is still shown as passed in every output."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from harness.fileio import dumps_json
from harness.reports.html_page import render_html
from harness.reports.json_report import signoff_document
from harness.reports.junit import render_junit
from harness.reports.manifest import build_signoff_manifest
from harness.reports.terminal import print_summary
from harness.reports.verdict import verdict_of
from harness.reports.writers import write_reports
from harness.signoff.results import SignoffRun
from tests.helpers import schema_problems

from .conftest import BASE, FAST
from .hostile import HEALTHY, HEALTHY_LABEL, TABLES, hostile_run, with_value_everywhere

SGR = re.compile(r"\x1b\[[0-9;]*m")  # rich's own colours; nothing else may reach the terminal


def render_all(run: SignoffRun) -> dict[str, str]:
    console = Console(file=io.StringIO(), width=300, force_terminal=True, color_system="truecolor")
    print_summary(run, console)
    return {
        "json": dumps_json(signoff_document(run)),
        "junit": render_junit(run),
        "html": render_html(run),
        "manifest": dumps_json(build_signoff_manifest(run)),
        "terminal": console.file.getvalue(),  # type: ignore[attr-defined]
    }


def _strict(constant: str) -> Any:
    raise AssertionError(f"non-JSON constant {constant}")


def assert_healthy_device_kept_its_verdict(outputs: dict[str, str]) -> None:
    signoff = json.loads(outputs["json"], parse_constant=_strict)
    assert signoff["verdict"] != "passed" and signoff["exit_code"] in (1, 3) and signoff["passed"] is False
    healthy = [d for d in signoff["devices"] if d["serial"] == HEALTHY]
    assert [(d["status"], d["passed"]) for d in healthy] == [("passed", True)]
    assert [m["passed"] for m in healthy[0]["models"]] == [True, True]

    root = ET.fromstring(outputs["junit"].encode())
    suites = [s for s in root.iter("testsuite") if s.get("name") == HEALTHY_LABEL]
    assert [(s.get("tests"), s.get("failures"), s.get("errors")) for s in suites] == [("8", "0", "0")]

    page = outputs["html"]
    assert page.rstrip().endswith("</html>")
    assert f'<h3>{HEALTHY_LABEL} <span class="badge passed">passed</span></h3>' in page
    assert 'id="verdict">PASS<' not in page

    manifest = json.loads(outputs["manifest"], parse_constant=_strict)
    # Whatever a device sent, the files keep their schema: figures numbers, counts ints.
    assert schema_problems(signoff, "signoff") == [] and schema_problems(manifest, "manifest") == []
    assert [d["passed"] for d in manifest["devices"] if d["serial"] == HEALTHY] == [True]
    assert manifest["passed"] is False

    terminal = SGR.sub("", outputs["terminal"])
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", terminal), "a control character reached the terminal"
    lines = terminal.splitlines()
    assert not lines[0].startswith("PASS")
    for model_id in (BASE, FAST):
        assert any(HEALTHY in line and model_id in line and " passed " in line for line in lines), model_id


CASES = [(fields, value) for fields, values in TABLES for value in values]


@pytest.mark.parametrize(("fields", "value"), CASES, ids=[f"{next(iter(f))}-{i}" for i, (f, _) in enumerate(CASES)])
def test_one_hostile_value_in_every_field_of_its_kind(fields: dict, value: Any) -> None:
    assert_healthy_device_kept_its_verdict(render_all(with_value_everywhere(fields, value)))


@pytest.mark.parametrize("seed", range(40))
def test_a_random_mix_of_hostile_values(seed: int) -> None:
    assert_healthy_device_kept_its_verdict(render_all(hostile_run(seed)))


@pytest.mark.parametrize("seed", range(3))
def test_write_reports_writes_every_file_of_a_hostile_run(seed: int, tmp_path: Path) -> None:
    files = write_reports(hostile_run(seed, mutations=30), tmp_path / "r")
    assert set(files) == {"json", "junit", "html", "manifest"} and files.failed == {}
    outputs = {key: path.read_text(encoding="utf-8") for key, path in files.items()}
    outputs["terminal"] = render_all(hostile_run(seed, mutations=30))["terminal"]
    assert_healthy_device_kept_its_verdict(outputs)


def test_the_run_itself_is_not_changed_and_a_clean_run_reads_the_same() -> None:
    from .conftest import make_run

    run = with_value_everywhere(TABLES[0][0], 10**400)
    before = repr(run)
    render_all(run)
    assert repr(run) == before  # the writers read a sanitized copy
    clean = make_run()
    from harness.reports.sanitize import sanitized

    assert sanitized(clean).to_dict() == clean.to_dict()
    assert verdict_of(sanitized(clean)) == verdict_of(clean)


def test_huge_values_are_shown_bounded_and_plots_say_what_they_left_out() -> None:
    run = with_value_everywhere(TABLES[0][0], 1.7e308)
    page = render_all(run)["html"]
    assert "values (not finite or outside −1…1) not drawn" in page
    assert "values (not finite, negative or over 10⁷ ms) not drawn" in page
    assert not re.search(r"\d{30}", page)  # no 309-digit cell
    many = with_value_everywhere({"samples": lambda d, v: [setattr(m, "latency_samples_ms", v) for m in d.models]}, [])
    many.devices[0].models[0].latency_samples_ms = [float(i % 97) for i in range(10_000)]
    page = render_html(many)
    assert page.count("<circle") <= 400 + 4 * 40
    assert "dots: 400 per row on 1 row(s) with more samples" in page
    assert "n=10000" in page
