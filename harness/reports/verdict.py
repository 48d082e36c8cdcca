"""The run's verdict as every report states it: passed, failed (which gates), no verdict (what
could not be judged, and why) or interrupted (by what), with its exit code and a one-line headline.

Stricter than trusting a device's status: a model with `error` set, or without gates, is not
judged, whatever its device says; a device marked failed without a failed gate says so. The exit
code is never lower than SignoffRun.exit_code."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.gates import Gate
from harness.reports.formatting import as_text, bounded, gate_message
from harness.reports.sanitize import sanitized
from harness.signoff.results import ExitCode, SignoffRun

PASSED, FAILED, NO_VERDICT, INTERRUPTED = "passed", "failed", "no_verdict", "interrupted"
LABELS = {PASSED: "PASS", FAILED: "FAIL", NO_VERDICT: "NO VERDICT", INTERRUPTED: "INTERRUPTED"}
HOST = "host"
_REASON_LIMIT = 160  # one reason in the headline
_HEADLINE_DEVICES = 3  # reasons named in the headline; the rest are counted


@dataclass(frozen=True)
class FailedGate:
    where: str  # a device serial, or "host"
    model_id: str
    gate: Gate

    def line(self) -> str:
        return f"{self.where} · {self.model_id} · {gate_message(self.gate)}"


@dataclass(frozen=True)
class Unjudged:
    """Something that kept a verdict from being reached: a device (model_id "") or one model."""

    where: str
    model_id: str
    reason: str

    def line(self) -> str:
        return f"{self.where} · {self.model_id}: {self.reason}" if self.model_id else f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class Verdict:
    status: str  # passed | failed | no_verdict | interrupted
    exit_code: ExitCode
    headline: str  # e.g. "FAIL: 2 gates failed on 1 device"
    failed_gates: list[FailedGate] = field(default_factory=list)
    unjudged: list[Unjudged] = field(default_factory=list)
    # Devices marked failed with no failed gate to show for it (instrumentation tests failed, say).
    failed_devices: list[Unjudged] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS[self.status]

    @property
    def passed(self) -> bool:
        return self.status == PASSED


def verdict_of(run: SignoffRun) -> Verdict:
    """The verdict of `run` (any run: it is read through `sanitized`). Never raises."""
    run = sanitized(run)
    failed: list[FailedGate] = [FailedGate(HOST, m.model_id, g) for m in run.models for g in m.gates if not g.passed]
    unjudged = [Unjudged(HOST, m.model_id, "no host gates were evaluated") for m in run.models if not m.gates]
    failed_devices: list[Unjudged] = []
    for device in run.devices:
        if device.status not in (PASSED, FAILED):
            stage = f" during {device.stage}" if device.stage and device.stage != "done" else ""
            reason = device.error or f"status {device.status or 'unknown'}{stage}"
            unjudged.append(Unjudged(device.serial, "", reason))
        for model in device.models:
            if model.error:
                unjudged.append(Unjudged(device.serial, model.model_id, model.error))
            elif not model.gates:
                unjudged.append(Unjudged(device.serial, model.model_id, "no gates were evaluated"))
            else:
                failed += [FailedGate(device.serial, model.model_id, g) for g in model.gates if not g.passed]
        device_failures = [f for f in failed if f.where == device.serial]
        device_unjudged = [u for u in unjudged if u.where == device.serial]
        if device.status == FAILED and not device_failures and not device_unjudged:
            failed_devices.append(Unjudged(device.serial, "", device.error or "marked failed, no failed gate recorded"))

    try:
        run_code = ExitCode(run.exit_code)
    except Exception:  # a shape results.py did not expect: no verdict is the honest answer
        run_code = ExitCode.INCOMPLETE
    failure = _failure_text(failed, failed_devices)
    if run.interrupted:
        status, headline = INTERRUPTED, f"INTERRUPTED ({_short(run.interrupted)}): partial results below"
    elif not run.devices:
        status, headline = NO_VERDICT, "NO VERDICT: no devices ran"
    elif unjudged or run_code == ExitCode.INCOMPLETE:
        status, headline = NO_VERDICT, "NO VERDICT: " + _unjudged_text(run, unjudged)
        headline += f"; also {failure}" if failure else ""
    elif failure or run_code != ExitCode.PASSED:
        status, headline = FAILED, "FAIL: " + (failure or "the run did not pass (no failed gate recorded)")
    else:
        gates = sum(len(m.gates) for m in run.models) + sum(len(m.gates) for d in run.devices for m in d.models)
        n = len(run.devices)
        status, headline = PASSED, f"PASS: {n} of {n} {_plural(n, 'device')} passed, {gates} of {gates} gates passed"
    code = {PASSED: ExitCode.PASSED, FAILED: ExitCode.GATE_FAILED}.get(status, ExitCode.INCOMPLETE)
    return Verdict(status, max(code, run_code), headline, failed, unjudged, failed_devices)


def _plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"


def _short(text: str) -> str:
    return bounded(" ".join(as_text(text).split()), _REASON_LIMIT)


def _failure_text(failed: list[FailedGate], failed_devices: list[Unjudged]) -> str:
    parts = []
    on_devices = [f for f in failed if f.where != HOST]
    if on_devices:
        devices = len({f.where for f in on_devices})
        parts.append(
            f"{len(on_devices)} {_plural(len(on_devices), 'gate')} failed on {devices} {_plural(devices, 'device')}"
        )
    host = [f for f in failed if f.where == HOST]
    if host:
        parts.append(f"{len(host)} host {_plural(len(host), 'gate')} failed")
    parts += [f"{d.where} failed ({_short(d.reason)})" for d in failed_devices]
    return "; ".join(parts)


def _unjudged_text(run: SignoffRun, unjudged: list[Unjudged]) -> str:
    by_device: dict[str, list[Unjudged]] = {}
    for item in unjudged:
        if item.where != HOST:
            by_device.setdefault(item.where, []).append(item)
    named = []
    for serial, items in list(by_device.items())[:_HEADLINE_DEVICES]:
        first = next((i for i in items if not i.model_id), items[0])
        reason = _short(first.reason if not first.model_id else f"{first.model_id}: {first.reason}")
        more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
        named.append(f"{serial}: {reason}{more}")
    if len(by_device) > _HEADLINE_DEVICES:
        named.append(f"and {len(by_device) - _HEADLINE_DEVICES} more")
    parts = []
    if by_device:
        total = len(run.devices)
        parts.append(f"{len(by_device)} of {total} {_plural(total, 'device')} could not be judged ({'; '.join(named)})")
    host = [i for i in unjudged if i.where == HOST]
    if host:
        parts.append(f"{len(host)} host {_plural(len(host), 'model')} not judged ({_short(host[0].line())})")
    return "; ".join(parts) or "the run reached no verdict (no reason recorded)"
