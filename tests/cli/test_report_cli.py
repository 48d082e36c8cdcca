"""`report diff`, `report history` and `deploy-test --baseline`'s bad input, as a user runs them:
real processes, real exit codes, one `error:` line naming the file and what differs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.reports.writers import write_reports
from tests.helpers import assert_user_error, run_cli
from tests.signoff.test_baseline import MODEL, _signoff_run, _vectors


def _written(reports: Path, run_id: str, day: int, sha: str = "a" * 64, p50: float = 5.0) -> Path:
    run = _signoff_run("emulator-5554", sha, _vectors(1), run_id, day)
    run.devices[0].models[0].latency_ms["p50"] = p50
    return write_reports(run, reports / run_id).directory


@pytest.fixture
def two_runs(tmp_path) -> tuple[Path, Path]:
    reports = tmp_path / "reports"
    return _written(reports, "run-a", 1), _written(reports, "run-b", 2, sha="b" * 64, p50=7.5)


def test_diff_names_the_changed_figures_as_a_table_json_and_html(two_runs, tmp_path):
    a, b = two_runs
    table = run_cli("report", "diff", str(a), str(b / "signoff.json"))
    assert table.returncode == 0, table.stderr
    assert "latency_ms.p50" in table.stdout and "sha256" in table.stdout and "run-a -> run-b" in table.stdout
    assert "size_bytes" not in table.stdout  # unchanged figures are not listed
    as_json = run_cli("report", "diff", str(a), str(b), "--json", "--html", str(tmp_path / "diff.html"))
    assert as_json.returncode == 0, as_json.stderr
    changes = {(c["model_id"], c["figure"]): c for c in json.loads(as_json.stdout)["changes"]}
    assert changes[(MODEL, "latency_ms.p50")]["a"] == 5.0 and changes[(MODEL, "latency_ms.p50")]["change"] == 2.5
    page = (tmp_path / "diff.html").read_text()
    assert "latency_ms.p50" in page and page.rstrip().endswith("</html>")


def test_diff_of_the_same_run_changes_nothing(two_runs):
    a, _ = two_runs
    result = run_cli("report", "diff", str(a), str(a), "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["changes"] == []


@pytest.mark.unvalidated_reports  # a broken signoff.json on purpose
def test_diff_of_an_unreadable_run_exits_2_naming_the_file(two_runs):
    a, b = two_runs
    (b / "signoff.json").write_text("{ not json")
    result = run_cli("report", "diff", str(a), str(b))
    assert result.returncode == 2
    assert_user_error(result, str(b / "signoff.json"), "not JSON")
    missing = run_cli("report", "diff", str(a), str(a.parent / "nope"))
    assert missing.returncode == 2
    assert_user_error(missing, "nope")


def test_history_writes_the_page_and_the_latest_link(two_runs):
    a, b = two_runs
    result = run_cli("report", "history", str(a.parent))
    assert result.returncode == 0, result.stderr
    page = (a.parent / "history.html").read_text()
    assert 'href="run-a/signoff.html"' in page and 'href="run-b/signoff.html"' in page
    assert (a.parent / "latest").resolve() == b.resolve()
    nothing = run_cli("report", "history", str(a.parent / "missing"))
    assert nothing.returncode == 2
    assert_user_error(nothing, "missing", "no such reports directory")


def _deploy_with_baseline(baseline: str, *extra: str, models: str = MODEL, reports: Path):
    """deploy-test refused at its options: no device, no model work, nothing written."""
    args = ["deploy-test", "--device", "emulator-5554", "--models", models, "--baseline", baseline, *extra]
    result = run_cli(*args, "--reports-dir", str(reports))
    assert not any(p.name != "latest" for p in reports.iterdir()) if reports.is_dir() else True
    return result


def test_a_baseline_from_another_model_set_or_app_is_refused_before_any_device_work(two_runs, tmp_path):
    a, _ = two_runs
    other = _deploy_with_baseline(str(a), models="AVA-ONX-384-BASE-INT8", reports=tmp_path / "out")
    assert other.returncode == 2
    assert_user_error(other, str(a / "signoff.json"), "another model set", MODEL, "AVA-ONX-384-BASE-INT8")
    app = _deploy_with_baseline(str(a), "--app-package", "com.example.other", reports=tmp_path / "out")
    assert app.returncode == 2
    assert_user_error(app, str(a / "signoff.json"), "app package com.augmentalis.ava", "com.example.other")


@pytest.mark.unvalidated_reports  # a newer and a broken signoff.json on purpose
def test_an_unreadable_or_newer_baseline_is_refused(two_runs, tmp_path):
    a, b = two_runs
    doc = json.loads((a / "signoff.json").read_text()) | {"schema_version": 7}
    (a / "signoff.json").write_text(json.dumps(doc))
    newer = _deploy_with_baseline(str(a), reports=tmp_path / "out")
    assert newer.returncode == 2
    assert_user_error(newer, str(a / "signoff.json"), "schema_version 7 is newer")
    (b / "signoff.json").write_bytes(b"\xff\xfe")
    broken = _deploy_with_baseline(str(b / "signoff.json"), reports=tmp_path / "out")
    assert broken.returncode == 2
    assert_user_error(broken, str(b / "signoff.json"))
    empty = _deploy_with_baseline("latest", reports=tmp_path / "empty")
    assert empty.returncode == 2
    assert_user_error(empty, "--baseline latest", "no earlier run")


def test_bad_thresholds_are_usage_errors(two_runs, tmp_path):
    a, _ = two_runs
    result = _deploy_with_baseline(str(a), "--baseline-max-size-ratio", "0.9", reports=tmp_path / "out")
    assert result.returncode == 2
    assert_user_error(result, "--baseline-max-size-ratio")
