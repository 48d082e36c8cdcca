"""What the CLI prints: the sign-off summary."""

from __future__ import annotations

import os

from rich.console import Console

from harness.reports.terminal import print_summary
from harness.signoff.results import SignoffRun

from .conftest import FAILING_SERIAL, make_run


def test_print_summary_table_errors_and_verdict(run: SignoffRun) -> None:
    console = Console(record=True, width=220, color_system="truecolor", file=open(os.devnull, "w"))  # noqa: SIM115
    print_summary(run, console)
    styled = console.export_text(clear=False, styles=True)
    text = console.export_text()
    for expected in (
        "emulator-5554 (Pixel 7)",
        FAILING_SERIAL,
        "0.998620",
        "100.0%",
        "parity_min_cosine",
        "emulator-5556 [push]: adb: device 'emulator-5556' went offline",
        "412.0",
    ):
        assert expected in text, expected
    assert text.rstrip().splitlines()[-1].startswith("FAIL: 1/3 devices passed, 1 of 20 gates failed")
    error_line = next(line for line in styled.splitlines() if "went offline" in line)
    assert error_line.startswith("\x1b[31m")  # the device error is red

    passing = make_run()
    passing.devices = passing.devices[:1]
    console = Console(record=True, width=220, file=open(os.devnull, "w"))  # noqa: SIM115
    print_summary(passing, console)
    assert console.export_text().rstrip().splitlines()[-1].startswith("PASS: 1/1 devices passed")
