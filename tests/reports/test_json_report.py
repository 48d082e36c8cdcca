"""signoff.json: the run's document round-trips, with summary counts."""

from __future__ import annotations

import json
from pathlib import Path

from harness.reports.run_record import SCHEMA_VERSION
from harness.signoff.results import SignoffRun


def test_signoff_json_round_trips_with_summary(written: dict[str, Path], run: SignoffRun) -> None:
    data = json.loads(written["json"].read_text())
    assert data.pop("schema_version") == SCHEMA_VERSION == 2
    summary = data.pop("summary")
    verdict = {k: data.pop(k) for k in ("verdict", "headline", "failed_gates", "unjudged")}
    expected = run.to_dict()
    for device in expected["devices"]:
        # The artifacts' bytes stay out of signoff.json: it lists the files (`artifacts`) instead.
        assert device.pop("artifact_data") == {}
    assert data == json.loads(json.dumps(expected))
    assert data["passed"] is False and data["exit_code"] == 3
    assert verdict["verdict"] == "no_verdict"
    assert verdict["headline"].startswith("NO VERDICT: 1 of 3 devices could not be judged (emulator-5556: adb:")
    assert verdict["unjudged"] == [{"where": "emulator-5556", "model_id": "", "reason": run.devices[2].error}]
    assert [(f["where"], f["gate"], f["value"], f["threshold"]) for f in verdict["failed_gates"]] == [
        ("192.168.1.20:5555", "parity_min_cosine", 0.99862, 0.999)
    ]
    assert summary["devices"] == {
        "total": 3,
        "passed": 1,
        "failed": 1,
        "error": 1,
        "interrupted": 0,
        "other": 0,
        "not_judged": 1,
    }
    assert summary["models"]["on_device"] == 4 and summary["models"]["on_device_failed"] == 1
    assert summary["gates"]["failed"] == 1 and summary["gates"]["host_failed"] == 0
    assert summary["gates"]["total"] == 4 * 4 + 4
