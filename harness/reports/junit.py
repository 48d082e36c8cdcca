"""junit.xml: a suite per device, a `host` suite, one test case per (model, gate). A device that
errored, a model without gates and a run without devices are errors, so CI never reads them as green."""

from __future__ import annotations

import re

import junit_xml

from harness.gates import Gate
from harness.reports.formatting import PROP_ABI, PROP_RELEASE, PROP_SDK, device_label, gate_message
from harness.signoff.results import DeviceRun, SignoffRun


def render_junit(run: SignoffRun) -> str:
    """JUnit XML: a suite per device, a `host` suite, one test case per (model, gate)."""
    suites: list[junit_xml.TestSuite] = []
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
    for model in device.models:
        cases += [_gate_case(model.model_id, gate, classname) for gate in model.gates]
        if not model.gates:
            cases.append(_missing_gates_case(model.model_id, classname))
    if device.status == "error" or device.status not in ("passed", "failed"):
        case = junit_xml.TestCase("device", classname=classname, elapsed_sec=device.seconds or None)
        stage = f" during {device.stage}" if device.stage else ""
        message = device.error or f"device status {device.status!r}{stage}"
        case.add_error_info(
            message=message,
            output=f"status: {device.status}; stage: {device.stage or '-'}",
            error_type="DeviceError" if device.status == "error" else "DeviceIncomplete",
        )
        cases.append(case)
    elif device.status == "failed" and all(m.passed for m in device.models):
        # The pipeline failed the device for a reason no gate records; it must still show as failing.
        case = junit_xml.TestCase("device", classname=classname, elapsed_sec=device.seconds or None)
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


def _missing_gates_case(model_id: str, classname: str) -> junit_xml.TestCase:
    # ModelOnDevice.passed is False without gates, so the report must not show it as green.
    case = junit_xml.TestCase(f"{model_id}.gates", classname=classname)
    case.add_error_info(message="no gates were evaluated for this model", error_type="NoGates")
    return case


def _sanitise(name: str) -> str:
    # JUnit consumers split classnames on dots, so a serial such as 127.0.0.1:5555 must lose them.
    return re.sub(r"[^A-Za-z0-9_]", "_", name) or "unknown"
