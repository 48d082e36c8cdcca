"""signoff.json: the whole SignoffRun plus the verdict and summary counts. Written, like every JSON
file, by harness.fileio.dumps_json: strict JSON, a NaN or Infinity becomes null."""

from __future__ import annotations

from typing import Any

from harness.reports.run_record import SCHEMA_VERSION
from harness.reports.sanitize import sanitized
from harness.reports.verdict import Verdict, verdict_of
from harness.signoff.results import SignoffRun


def signoff_document(run: SignoffRun) -> dict[str, Any]:
    """signoff.json's content: `schema_version` (schemas/signoff.schema.json), the run (read
    through `sanitized`), its `verdict`
    (passed | failed | no_verdict | interrupted), `exit_code` (that verdict's, never lower than
    the run's own), `headline`, `failed_gates`, `unjudged` and `summary` (see `summarize`)."""
    run = sanitized(run)
    verdict = verdict_of(run)
    signoff = {"schema_version": SCHEMA_VERSION, **run.to_dict()}
    for raw in signoff["devices"]:
        raw.pop("artifact_data", None)  # the bytes are in the files `artifacts` lists
    signoff.update(verdict_fields(verdict))
    signoff["passed"] = verdict.passed
    for device, raw in zip(run.devices, signoff["devices"], strict=True):
        # A device's status is the pipeline's word; a model on it that was not judged outranks it.
        raw["passed"] = device.passed and all(m.passed for m in device.models)
    signoff["summary"] = summarize(run)
    return signoff


def verdict_fields(verdict: Verdict) -> dict[str, Any]:
    return {
        "verdict": verdict.status,
        "exit_code": int(verdict.exit_code),
        "headline": verdict.headline,
        "failed_gates": [
            {
                "where": f.where,
                "model_id": f.model_id,
                "gate": f.gate.name,
                "value": f.gate.value,
                "threshold": f.gate.threshold,
                "detail": f.gate.detail,
            }
            for f in verdict.failed_gates
        ],
        "unjudged": [{"where": u.where, "model_id": u.model_id, "reason": u.reason} for u in verdict.unjudged]
        + [{"where": d.where, "model_id": "", "reason": d.reason} for d in verdict.failed_devices],
    }


def summarize(run: SignoffRun) -> dict[str, Any]:
    """Counts for signoff.json, the HTML header and CI logs."""
    run = sanitized(run)
    verdict = verdict_of(run)
    statuses = [d.status for d in run.devices]
    pairs = [m for d in run.devices for m in d.models]
    device_gates = [g for m in pairs for g in m.gates]
    host_gates = [g for m in run.models for g in m.gates]
    return {
        "passed": verdict.passed,
        "verdict": verdict.status,
        "devices": {
            "total": len(run.devices),
            "passed": statuses.count("passed"),
            "failed": statuses.count("failed"),
            "error": statuses.count("error"),
            "interrupted": statuses.count("interrupted"),
            "other": sum(s not in ("passed", "failed", "error", "interrupted") for s in statuses),
            "not_judged": len({u.where for u in verdict.unjudged if u.where != "host"}),
        },
        "models": {
            "host": len(run.models),
            "host_passed": sum(bool(m.gates) and all(g.passed for g in m.gates) for m in run.models),
            "on_device": len(pairs),
            "on_device_passed": sum(m.passed for m in pairs),
            "on_device_failed": sum(m.judged and not m.passed for m in pairs),
            "on_device_not_judged": sum(not m.judged for m in pairs),
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
