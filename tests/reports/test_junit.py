"""junit.xml: one failure for the failing gate, one error for the device that went offline."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .conftest import FAILING_SERIAL, FAST


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
        (f"{FAST}.parity_min_cosine", "ava_harness.192_168_1_20_5555")
    ]
    message = failures[0].find("failure").get("message")
    assert "0.99862" in message and "threshold 0.999" in message

    errored = suites["emulator-5556 (sdk_gphone64_x86_64)"]
    cases = errored.findall("testcase")
    assert len(cases) == 1 and "went offline" in cases[0].find("error").get("message")
    assert all(c.find("failure") is None and c.find("error") is None for c in suites["emulator-5554 (Pixel 7)"])
