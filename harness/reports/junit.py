"""junit.xml: a suite per device, a `host` suite, one test case per (model, gate). A device that
errored or was interrupted, a model that could not be judged (its `error`) or has no gates, an
interrupted run and a run without devices are errors, so CI never reads them as green. The run is
read through `sanitized`, so no device value can make this raise."""

from __future__ import annotations

import re

import junit_xml

from harness.gates import Gate
from harness.reports.formatting import (
    PROP_ABI,
    PROP_RELEASE,
    PROP_SDK,
    as_finite,
    as_text,
    device_label,
    gate_message,
)
from harness.reports.sanitize import sanitized
from harness.reports.verdict import verdict_of
from harness.signoff.results import DeviceRun, ModelOnDevice, SignoffRun


def render_junit(run: SignoffRun) -> str:
    """JUnit XML: a suite per device, a `host` suite, one test case per (model, gate)."""
    run = sanitized(run)
    suites: list[junit_xml.TestSuite] = []
    if run.interrupted:
        case = junit_xml.TestCase("interrupted", classname="ava_harness.run")
        case.add_error_info(message=verdict_of(run).headline, error_type="Interrupted")
        suites.append(junit_xml.TestSuite("run", [case], timestamp=run.created_at, package="ava_harness"))
    if run.models:
        cases = []
        for model in run.models:
            cases += [_gate_case(model.model_id, gate, "ava_harness.host") for gate in model.gates]
            if not model.gates:
                cases.append(_missing_gates_case(model.model_id, "ava_harness.host"))
        suites.append(junit_xml.TestSuite("host", cases, timestamp=run.created_at, package="ava_harness"))
    for device in run.devices:
        suites.append(_device_suite(run, device))
    if not run.devices:
        # run.passed is False without devices; an empty report would let CI go green regardless.
        case = junit_xml.TestCase("devices", classname="ava_harness.run")
        case.add_error_info(message="no devices ran", error_type="NoDevices")
        suites.append(junit_xml.TestSuite("run", [case], timestamp=run.created_at, package="ava_harness"))
    return junit_xml.to_xml_report_string(suites, encoding="utf-8")


def _device_suite(run: SignoffRun, device: DeviceRun) -> junit_xml.TestSuite:
    classname = f"ava_harness.{_sanitise(device.serial)}"
    cases: list[junit_xml.TestCase] = []
    elapsed = as_finite(device.seconds) or None
    for model in device.models:
        if model.error:
            cases += _unjudged_cases(model, classname)
            continue
        cases += [_gate_case(model.model_id, gate, classname) for gate in model.gates]
        if not model.gates:
            cases.append(_missing_gates_case(model.model_id, classname))
    if device.status not in ("passed", "failed"):
        case = junit_xml.TestCase("device", classname=classname, elapsed_sec=elapsed)
        stage = f" during {device.stage}" if device.stage else ""
        message = device.error or f"device status {device.status!r}{stage}"
        case.add_error_info(
            message=message,
            output=f"status: {device.status}; stage: {device.stage or '-'}",
            error_type={"error": "DeviceError", "interrupted": "Interrupted"}.get(device.status, "DeviceIncomplete"),
        )
        cases.append(case)
    elif device.status == "failed" and all(m.passed for m in device.models):
        # The pipeline failed the device for a reason no gate records; it must still show as failing.
        case = junit_xml.TestCase("device", classname=classname, elapsed_sec=elapsed)
        case.add_failure_info(message=device.error or "device marked failed", failure_type="DeviceFailed")
        cases.append(case)
    props = {
        "serial": device.serial,
        "model": device.model_name,
        "abi": device.props.get(PROP_ABI, ""),
        "sdk": device.props.get(PROP_SDK, ""),
        "release": device.props.get(PROP_RELEASE, ""),
        "server": device.server,
        "status": device.status,
        "run_id": run.run_id,
    }
    return junit_xml.TestSuite(
        device_label(device),
        cases,
        hostname=device.serial,
        timestamp=run.created_at,
        package="ava_harness",
        properties={k: str(v) for k, v in props.items()},
    )


def _gate_case(model_id: str, gate: Gate, classname: str) -> junit_xml.TestCase:
    case = junit_xml.TestCase(f"{model_id}.{gate.name}", classname=classname, stdout=gate_message(gate))
    if not gate.passed:
        case.add_failure_info(message=gate_message(gate), failure_type="GateFailed")
    return case


def _unjudged_cases(model: ModelOnDevice, classname: str) -> list[junit_xml.TestCase]:
    # The model could not be judged: one error with the reason; its gates are shown, skipped,
    # because a gate computed on output that broke the contract is not a pass.
    case = junit_xml.TestCase(f"{model.model_id}.judged", classname=classname)
    case.add_error_info(message=f"not judged: {model.error}", error_type="NotJudged")
    cases = [case]
    for gate in model.gates:
        skipped = junit_xml.TestCase(f"{model.model_id}.{gate.name}", classname=classname, stdout=gate_message(gate))
        skipped.add_skipped_info(message="not a verdict: the model could not be judged")
        cases.append(skipped)
    return cases


def _missing_gates_case(model_id: str, classname: str) -> junit_xml.TestCase:
    # ModelOnDevice.passed is False without gates, so the report must not show it as green.
    case = junit_xml.TestCase(f"{model_id}.gates", classname=classname)
    case.add_error_info(message="no gates were evaluated for this model", error_type="NoGates")
    return case


def _sanitise(name: str) -> str:
    # JUnit consumers split classnames on dots, so a serial such as 127.0.0.1:5555 must lose them.
    return re.sub(r"[^A-Za-z0-9_]", "_", as_text(name))[:200] or "unknown"
