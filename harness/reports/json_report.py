"""signoff.json: the whole SignoffRun plus summary counts. Written, like every JSON file, by
harness.fileio.dumps_json: strict JSON, a NaN or Infinity becomes null."""

from __future__ import annotations

from typing import Any

from harness.signoff.results import SignoffRun


def signoff_document(run: SignoffRun) -> dict[str, Any]:
    """signoff.json's content: `run.to_dict()` with `summary` (see `summarize`) added."""
    signoff = run.to_dict()
    signoff["summary"] = summarize(run)
    return signoff


def summarize(run: SignoffRun) -> dict[str, Any]:
    """Counts for signoff.json, the HTML header and CI logs."""
    statuses = [d.status for d in run.devices]
    pairs = [m for d in run.devices for m in d.models]
    device_gates = [g for m in pairs for g in m.gates]
    host_gates = [g for m in run.models for g in m.gates]
    return {
        "passed": run.passed,
        "devices": {
            "total": len(run.devices),
            "passed": statuses.count("passed"),
            "failed": statuses.count("failed"),
            "error": statuses.count("error"),
            "other": sum(s not in ("passed", "failed", "error") for s in statuses),
        },
        "models": {
            "host": len(run.models),
            "host_passed": sum(bool(m.gates) and all(g.passed for g in m.gates) for m in run.models),
            "on_device": len(pairs),
            "on_device_passed": sum(m.passed for m in pairs),
            "on_device_failed": sum(not m.passed for m in pairs),
        },
        "gates": {
            "total": len(device_gates) + len(host_gates),
            "passed": sum(g.passed for g in device_gates + host_gates),
            "failed": sum(not g.passed for g in device_gates + host_gates),
            "device_passed": sum(g.passed for g in device_gates),
            "device_failed": sum(not g.passed for g in device_gates),
            "host_passed": sum(g.passed for g in host_gates),
            "host_failed": sum(not g.passed for g in host_gates),
        },
    }
