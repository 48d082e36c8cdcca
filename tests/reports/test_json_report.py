"""signoff.json: the run's document round-trips, with summary counts."""

from __future__ import annotations

import json
from pathlib import Path

from harness.signoff.results import SignoffRun


def test_signoff_json_round_trips_with_summary(written: dict[str, Path], run: SignoffRun) -> None:
    data = json.loads(written["json"].read_text())
    summary = data.pop("summary")
    assert data == json.loads(json.dumps(run.to_dict()))
    assert data["passed"] is False
    assert summary["devices"] == {"total": 3, "passed": 1, "failed": 1, "error": 1, "other": 0}
    assert summary["models"]["on_device"] == 4 and summary["models"]["on_device_failed"] == 1
    assert summary["gates"]["failed"] == 1 and summary["gates"]["host_failed"] == 0
    assert summary["gates"]["total"] == 4 * 4 + 4
