"""junit.xml: a suite per device, a `host` suite, one test case per (model, gate). A device that
errored or was interrupted, a model that could not be judged (its `error`) or has no gates, an
interrupted run and a run without devices are errors, so CI never reads them as green. The run is
read through `sanitized`, so no device value can make this raise.

So CI history lines up across runs: a device's classname and suite name come from its model and
ABI (`device_class`), never its serial (a virtual device's serial carries a random port); two
devices of one model in a run are told apart by their order (`_2`). The suite's name stays the
device's label (serial and model), for people. Every suite and test case has
a `time` (a gate is judged, not timed: 0; a device suite takes the device's wall time). Suite
properties carry what a result depends on: each model's sha256, the host's and the device's ONNX
Runtime versions, and the app and test APK versions when the device reported them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter

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
from harness.signoff.health import APP_VERSION_KEY, TEST_APK_VERSION_KEY
from harness.signoff.results import DeviceRun, ModelOnDevice, SignoffRun


def render_junit(run: SignoffRun) -> str:
    """JUnit XML: a suite per device, a `host` suite, one test case per (model, gate)."""
    run = sanitized(run)
    suites: list[junit_xml.TestSuite] = []
    run_props = {
        "run_id": run.run_id,
        "harness_version": run.harness_version,
        "host_ort_version": run.onnxruntime_version,
    }
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
        props = {**run_props, **{f"model.{m.model_id}.sha256": m.sha256 for m in run.models}}
        suites.append(
            junit_xml.TestSuite("host", cases, timestamp=run.created_at, package="ava_harness", properties=props)
        )
    for device, name in zip(run.devices, device_classes(run.devices), strict=True):
        suites.append(_device_suite(run, device, name, run_props))
    if not run.devices:
        # run.passed is False without devices; an empty report would let CI go green regardless.
        case = junit_xml.TestCase("devices", classname="ava_harness.run")
        case.add_error_info(message="no devices ran", error_type="NoDevices")
        suites.append(junit_xml.TestSuite("run", [case], timestamp=run.created_at, package="ava_harness"))
    return _with_times(junit_xml.to_xml_report_string(suites, encoding="utf-8"), run)


def device_class(device: DeviceRun) -> str:
    """A device's name in CI history: its model and ABI (`Pixel_7_arm64_v8a`), never its serial."""
    parts = [_sanitise(p) for p in (device.model_name, device.props.get(PROP_ABI, "")) if as_text(p).strip()]
    return "_".join(parts) or "unknown_device"


def device_classes(devices: list[DeviceRun]) -> list[str]:
    """`device_class` of each device in run order; the second of one model and ABI gets `_2`."""
    seen: Counter[str] = Counter()
    names = []
    for device in devices:
        name = device_class(device)
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


def _device_suite(run: SignoffRun, device: DeviceRun, name: str, run_props: dict[str, str]) -> junit_xml.TestSuite:
    classname = f"ava_harness.{name}"
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
        "device_class": name,
        **run_props,
        "device_ort_version": ", ".join(sorted({m.ort_version for m in device.models if m.ort_version})),
        **{f"model.{m.model_id}.sha256": m.sha256 for m in device.models},
    }
    for key in (APP_VERSION_KEY, TEST_APK_VERSION_KEY):
        if device.health.get(key):
            props[key] = device.health[key]
    return junit_xml.TestSuite(
        device_label(device),
        cases,
        hostname=device.serial,
        timestamp=run.created_at,
        package="ava_harness",
        properties={k: as_text(v) for k, v in props.items()},
    )


def _with_times(xml: str, run: SignoffRun) -> str:
    """junit_xml leaves `time` off a case that took 0 s, and sums a suite's cases: every case gets
    one (0 when it was not timed) and a device suite the device's wall time."""
    root = ET.fromstring(xml.encode("utf-8"))
    seconds = {name: as_finite(d.seconds) for d, name in zip(run.devices, device_classes(run.devices), strict=True)}
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            case.set("time", f"{float(case.get('time') or 0.0):.6f}")
        prop = suite.find("properties/property[@name='device_class']")
        wall = seconds.get(prop.get("value") or "") if prop is not None else None
        total = sum(float(c.get("time") or 0.0) for c in suite.iter("testcase"))
        suite.set("time", f"{max(wall or 0.0, total):.6f}")
    root.set("time", f"{sum(float(s.get('time') or 0.0) for s in root.iter('testsuite')):.6f}")
    ET.indent(root, space="\t")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


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
    # JUnit consumers split classnames on dots, so a name such as "Pixel 7.1" must lose them.
    return re.sub(r"[^A-Za-z0-9_]", "_", as_text(name))[:200] or "unknown"
