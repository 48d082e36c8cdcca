"""The verdict every report states: PASS only when everything was judged and passed; FAIL names
the failed gates; NO VERDICT names what could not be judged and why; INTERRUPTED names what
stopped the run. Terminal, signoff.json, junit.xml, signoff.html and manifest.json agree."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from rich.console import Console

from harness.fileio import dumps_json
from harness.reports.html_page import render_html
from harness.reports.json_report import signoff_document
from harness.reports.junit import render_junit
from harness.reports.manifest import build_signoff_manifest
from harness.reports.terminal import print_summary
from harness.reports.verdict import verdict_of
from harness.signoff.results import DeviceRun, ExitCode, Gate, SignoffRun

from .conftest import BASE, FAILING_SERIAL, FAST, make_run


def _terminal(run: SignoffRun) -> list[str]:
    console = Console(file=io.StringIO(), width=250, color_system=None)
    print_summary(run, console)
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def _everywhere(run: SignoffRun) -> dict[str, object]:
    """What each report says the verdict is."""
    page = render_html(run)
    headline = re.search(r'<p id="headline">(.*?)</p>', page, re.S)
    junit = ET.fromstring(render_junit(run).encode())
    return {
        "terminal": _terminal(run)[0],
        "json": json.loads(dumps_json(signoff_document(run))),
        "manifest": json.loads(dumps_json(build_signoff_manifest(run))),
        "html_label": re.search(r'id="verdict">([^<]*)<', page).group(1),  # type: ignore[union-attr]
        "html_headline": headline.group(1) if headline else "",
        "junit_failures": int(junit.get("failures") or 0),
        "junit_errors": int(junit.get("errors") or 0),
    }


def _two_devices(error: str | None = None) -> SignoffRun:
    run = make_run()
    healthy, _galaxy, offline = run.devices
    offline.error = error or offline.error
    run.devices = [healthy, offline] if error else [healthy]
    return run


def test_pass_says_how_much_passed() -> None:
    run = _two_devices()
    said = _everywhere(run)
    verdict = verdict_of(run)
    assert (verdict.status, verdict.exit_code) == ("passed", ExitCode.PASSED)
    assert said["terminal"] == "PASS: 1 of 1 device passed, 12 of 12 gates passed"
    assert said["json"]["verdict"] == "passed" and said["json"]["exit_code"] == 0  # type: ignore[index]
    assert said["manifest"]["verdict"] == "passed" and said["manifest"]["passed"] is True  # type: ignore[index]
    assert said["html_label"] == "PASS" and (said["junit_failures"], said["junit_errors"]) == (0, 0)


def test_fail_names_the_failed_gates_with_value_and_threshold() -> None:
    run = make_run()
    run.devices = run.devices[:2]
    run.devices[0].models[1].gates[3] = Gate("latency_p50_ms", False, 312.5, 250.0, "budget per text")
    run.devices[0].status = "failed"
    said = _everywhere(run)
    assert verdict_of(run).exit_code == ExitCode.GATE_FAILED == run.exit_code
    assert said["terminal"] == "FAIL: 2 gates failed on 2 devices"
    lines = _terminal(run)
    at = lines.index("Failed gates:")
    assert lines[at + 1 : at + 3] == [
        f"  emulator-5554 · {FAST} · latency_p50_ms = 312.5 ms, needs <= 250 ms (budget per text)",
        f"  {FAILING_SERIAL} · {FAST} · parity_min_cosine = 0.99862, needs >= 0.999 (vs x86_64 host)",
    ]
    assert said["json"]["verdict"] == "failed" and said["json"]["exit_code"] == 1  # type: ignore[index]
    assert [g["gate"] for g in said["json"]["failed_gates"]] == ["latency_p50_ms", "parity_min_cosine"]  # type: ignore[index]
    assert said["html_label"] == "FAIL" and said["html_headline"] == "FAIL: 2 gates failed on 2 devices"
    assert (said["junit_failures"], said["junit_errors"]) == (2, 0)


def test_fail_without_a_failed_gate_says_which_device_and_why() -> None:
    run = _two_devices()
    run.devices[0].status = "failed"
    run.devices[0].error = "instrumentation: 1 of 6 tests failed"
    said = _everywhere(run)
    assert said["terminal"] == "FAIL: emulator-5554 failed (instrumentation: 1 of 6 tests failed)"
    assert "0 of" not in said["terminal"] and said["junit_failures"] == 1  # type: ignore[operator]


def test_a_failed_host_gate_is_named() -> None:
    run = _two_devices()
    run.models[1].gates[0] = Gate("host_min_spearman_retention", False, 0.97, 0.99)
    assert _everywhere(run)["terminal"] == "FAIL: 1 host gate failed"
    lines = _terminal(run)
    assert f"  host · {FAST} · host_min_spearman_retention = 0.97, needs >= 0.99" in lines


def test_no_verdict_names_the_device_and_its_reason() -> None:
    run = _two_devices(error="storage: 3 MB free, 90 MB needed")
    said = _everywhere(run)
    expected = "NO VERDICT: 1 of 2 devices could not be judged (emulator-5556: storage: 3 MB free, 90 MB needed)"
    assert said["terminal"] == said["html_headline"] == said["json"]["headline"] == expected  # type: ignore[index]
    assert said["json"]["verdict"] == "no_verdict" and said["json"]["exit_code"] == 3  # type: ignore[index]
    assert said["html_label"] == "NO VERDICT" and said["junit_errors"] == 1


def test_no_devices_is_no_verdict() -> None:
    run = make_run()
    run.devices = []
    said = _everywhere(run)
    assert said["terminal"] == "NO VERDICT: no devices ran" and said["junit_errors"] == 1
    assert verdict_of(run).exit_code == ExitCode.INCOMPLETE


def test_interrupted_says_by_what_everywhere() -> None:
    run = _two_devices()
    run.interrupted = "SIGINT during push on emulator-5554"
    run.devices.append(DeviceRun("emulator-5558", status="interrupted", error="interrupted (SIGINT) during push"))
    said = _everywhere(run)
    expected = "INTERRUPTED (SIGINT during push on emulator-5554): partial results below"
    assert said["terminal"] == said["html_headline"] == expected
    assert said["json"]["verdict"] == "interrupted" and said["json"]["exit_code"] == 3  # type: ignore[index]
    assert said["manifest"]["verdict"] == "interrupted"  # type: ignore[index]
    assert said["html_label"] == "INTERRUPTED"
    junit = ET.fromstring(render_junit(run).encode())
    types = sorted(e.get("type") for e in junit.iter("error"))
    assert types == ["Interrupted", "Interrupted"]  # the run, and the device that did not finish


def test_a_model_with_an_error_is_not_judged_even_on_a_passed_device() -> None:
    run = _two_devices()
    model = run.devices[0].models[0]
    model.error = "the device's output broke the contract: 33 embeddings for 34 texts"
    assert run.devices[0].status == "passed"  # what the pipeline said; the report must not trust it
    said = _everywhere(run)
    assert said["terminal"] == (
        f"NO VERDICT: 1 of 1 device could not be judged (emulator-5554: {BASE}: the device's output broke the "
        "contract: 33 embeddings for 34 texts)"
    )
    assert said["json"]["exit_code"] == 3  # type: ignore[index]
    device = said["json"]["devices"][0]  # type: ignore[index]
    assert device["passed"] is False and device["models"][0]["passed"] is False
    lines = _terminal(run)
    row = next(line for line in lines if BASE in line and "emulator-5554" in line and "│" in line)
    assert "not judged" in row and "broke the" in row
    page = render_html(run)
    assert '<span class="badge void">not judged</span>' in page and "33 embeddings for 34 texts" in page
    junit = ET.fromstring(render_junit(run).encode())
    errors = [c for c in junit.iter("testcase") if c.find("error") is not None]
    assert [c.get("name") for c in errors] == [f"{BASE}.judged"]
    skipped = [c.get("name") for c in junit.iter("testcase") if c.find("skipped") is not None]
    assert len(skipped) == 4  # its gates: shown, not counted as passes


@pytest.mark.parametrize("n", [1, 4, 6])
def test_many_unjudged_devices_are_counted_not_all_named(n: int) -> None:
    run = _two_devices()
    run.devices += [DeviceRun(f"s{i}", status="error", error=f"reason {i}") for i in range(n)]
    headline = verdict_of(run).headline
    assert headline.startswith(f"NO VERDICT: {n} of {n + 1} devices could not be judged (s0: reason 0")
    assert (f"and {n - 3} more" in headline) is (n > 3)


def test_the_verdict_never_reads_fail_with_no_failed_gate_and_never_lowers_the_exit_code() -> None:
    runs = [make_run(), _two_devices(), _two_devices("x")]
    for status in ("passed", "failed", "error", "interrupted", "pending", ""):
        run = _two_devices()
        run.devices[0].status = status
        runs.append(run)
    for run in runs:
        verdict = verdict_of(run)
        assert verdict.exit_code >= run.exit_code
        assert not re.search(r"\b0 (of \d+ )?gates? failed", verdict.headline), verdict.headline
        if verdict.status == "passed":
            assert run.exit_code == ExitCode.PASSED
