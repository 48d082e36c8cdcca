"""junit.xml: one failure for the failing gate, one error for the device that went offline; a time
on every suite and case; what the results depend on in the properties; classnames that survive a
device's serial changing (a virtual device's random port)."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.reports.junit import device_classes, render_junit
from harness.signoff.health import APP_VERSION_KEY, TEST_APK_VERSION_KEY
from harness.signoff.results import SignoffRun

from .conftest import BASE, FAILING_SERIAL, FAST, SHA


def _root(run: SignoffRun) -> ET.Element:
    return ET.fromstring(render_junit(run).encode("utf-8"))


def _props(suite: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in suite.iter("property")}


def test_junit_counts_the_failing_gate_and_the_device_error(written: dict[str, Path]) -> None:
    root = ET.parse(written["junit"]).getroot()
    assert root.tag == "testsuites"
    assert (root.get("failures"), root.get("errors"), root.get("tests")) == ("1", "1", str(4 * 4 + 4 + 1))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {
        "host",
        "emulator-5554 (Pixel 7)",
        f"{FAILING_SERIAL} (SM-A525F)",
        "emulator-5556 (sdk_gphone64_x86_64)",
    }
    assert suites["host"].get("failures") == "0" and len(suites["host"].findall("testcase")) == 4

    failed = suites[f"{FAILING_SERIAL} (SM-A525F)"]
    failures = [c for c in failed.iter("testcase") if c.find("failure") is not None]
    assert [(c.get("name"), c.get("classname")) for c in failures] == [
        (f"{FAST}.parity_min_cosine", "ava_harness.SM_A525F_arm64_v8a")
    ]
    message = failures[0].find("failure").get("message")
    assert "0.99862" in message and "threshold 0.999" in message

    errored = suites["emulator-5556 (sdk_gphone64_x86_64)"]
    cases = errored.findall("testcase")
    assert len(cases) == 1 and "went offline" in cases[0].find("error").get("message")
    assert all(c.find("failure") is None and c.find("error") is None for c in suites["emulator-5554 (Pixel 7)"])


def test_every_suite_and_case_has_a_time(run: SignoffRun) -> None:
    root = _root(run)
    suites = list(root.iter("testsuite"))
    cases = list(root.iter("testcase"))
    assert suites and cases
    assert all(float(e.get("time")) >= 0 for e in suites + cases)  # float(None) would raise
    by_name = {s.get("name"): s for s in suites}
    # A device suite takes the device's wall time (the gates are judged, not timed).
    assert float(by_name["emulator-5554 (Pixel 7)"].get("time")) == 74.2
    assert float(by_name["emulator-5556 (sdk_gphone64_x86_64)"].get("time")) == 3.4  # its error case: 3.4 s
    assert float(root.get("time")) == pytest.approx(sum(float(s.get("time")) for s in suites))


def test_properties_name_the_model_files_and_runtimes(run: SignoffRun) -> None:
    run = copy.deepcopy(run)
    run.devices[0].health |= {APP_VERSION_KEY: "2.4.1 (241)", TEST_APK_VERSION_KEY: "2.4.1-test (241)"}
    suites = {s.get("name"): _props(s) for s in _root(run).iter("testsuite")}
    pixel, galaxy, host = suites["emulator-5554 (Pixel 7)"], suites[f"{FAILING_SERIAL} (SM-A525F)"], suites["host"]
    for props in (pixel, host):
        assert props[f"model.{BASE}.sha256"] == SHA[BASE] and props[f"model.{FAST}.sha256"] == SHA[FAST]
        assert props["host_ort_version"] == "1.19.2" and props["run_id"] == run.run_id
    assert pixel["device_ort_version"] == "1.19.2"
    assert (pixel[APP_VERSION_KEY], pixel[TEST_APK_VERSION_KEY]) == ("2.4.1 (241)", "2.4.1-test (241)")
    assert APP_VERSION_KEY not in galaxy  # not known: not made up


def test_classnames_do_not_change_with_the_serial(run: SignoffRun) -> None:
    # A virtual device's serial is 127.0.0.1:<random port>: the next run's differs.
    first, second = copy.deepcopy(run), copy.deepcopy(run)
    for index, device in enumerate(first.devices):
        device.serial = f"127.0.0.1:{41_000 + index}"
    for index, device in enumerate(second.devices):
        device.serial = f"127.0.0.1:{39_000 + index * 7}"

    def cases(r: SignoffRun) -> list[tuple[str, str]]:
        return [(c.get("classname"), c.get("name")) for c in _root(r).iter("testcase")]

    assert cases(first) == cases(second)
    assert {c for c, _ in cases(first)} == {
        "ava_harness.host",
        "ava_harness.Pixel_7_arm64_v8a",
        "ava_harness.SM_A525F_arm64_v8a",
        "ava_harness.sdk_gphone64_x86_64_x86_64",
    }


def test_two_devices_of_one_model_are_told_apart_by_order(run: SignoffRun) -> None:
    twin = copy.deepcopy(run.devices[0])
    twin.serial = "emulator-5560"
    assert device_classes([run.devices[0], twin, run.devices[1]]) == [
        "Pixel_7_arm64_v8a",
        "Pixel_7_arm64_v8a_2",
        "SM_A525F_arm64_v8a",
    ]
