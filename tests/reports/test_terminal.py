"""What the CLI prints: the sign-off summary and the eval command's tables."""

from __future__ import annotations

import io
import os
import re

from rich.console import Console

from harness.reports.terminal import print_eval_tables, print_summary
from harness.signoff.results import Gate, SignoffRun

from .conftest import BASE, FAILING_SERIAL, FAST, make_eval_report, make_run


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
    lines = text.splitlines()
    assert lines[0].startswith("NO VERDICT: 1 of 3 devices could not be judged (emulator-5556: adb: device")
    assert lines[0].endswith("; also 1 gate failed on 1 device")
    # Under the table: the failed gate (name, value, operator, threshold), then what was not judged.
    failed = lines.index("Failed gates:")
    assert lines[failed + 1] == (
        f"  {FAILING_SERIAL} · {FAST} · parity_min_cosine = 0.99862, needs >= 0.999 (vs x86_64 host)"
    )
    assert lines[failed + 2] == "Not judged:"
    error_line = next(line for line in styled.splitlines() if "went offline" in line and "[push]" in line)
    assert error_line.startswith("\x1b[33m")  # what kept the verdict is yellow

    passing = make_run()
    passing.devices = passing.devices[:1]
    console = Console(record=True, width=220, file=open(os.devnull, "w"))  # noqa: SIM115
    print_summary(passing, console)
    assert console.export_text().splitlines()[0] == "PASS: 1 of 1 device passed, 12 of 12 gates passed"


def test_eval_tables_show_retention_gates_and_missing_figures() -> None:
    measured = make_eval_report(
        BASE,
        {"spearman": 0.8123, "retention": 0.9961},
        gates=[Gate("spearman_retention", True, 0.996, 0.99), Gate("mean_cosine", False, 0.97, 0.985)],
        latency_ms={"p50": 4.2, "baseline_p50": 9.1, "speedup_p50": 2.17},
        truncated_texts=3,
    )
    bare = make_eval_report(FAST, {}, cosine_vs_baseline={}, retrieval={}, gates=[])
    console = Console(record=True, width=240, file=open(os.devnull, "w"))  # noqa: SIM115
    print_eval_tables(console, [measured, bare])
    lines = console.export_text().splitlines()
    measured_row = next(line for line in lines if BASE in line and "98.2%" in line)
    for cell in ("81.0% (98.2%)", "0.9920 / 0.9860 / 0.9710", "0.8123 (99.6%)", "fail: mean_cosine"):
        assert cell in measured_row, cell
    bare_row = next(line for line in lines if FAST in line and "pass" in line)
    # Nothing measured: dashes, not 0.0% or a crash on the missing keys.
    assert [cell.strip() for cell in bare_row.split("│")[1:-1]] == [FAST, "-", "-", "-", "-", "-", "pass"]
    size_row = next(line for line in lines if BASE in line and "MB" in line)
    for cell in ("90.9 MB", "23.0 MB", "25.3% (-75%)", "4.20 (9.10)", "2.17x"):
        assert cell in size_row, cell
    assert lines[-1] == "3 text(s) longer than the model's maximum length were truncated."


def test_device_strings_reach_the_terminal_as_plain_text() -> None:
    run = make_run()
    galaxy, offline = run.devices[1], run.devices[2]
    galaxy.props["ro.product.model"] = "[/bold]"  # closing an unopened tag: MarkupError in rich
    galaxy.models[0].model_id = "[link=https://evil.example]M[/link]"
    galaxy.models[1].gates[0].detail = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
    offline.error = "\x1b[2J\x1b[Hcleared \x1b]0;pwned\x07 \u202eevil \ud800"
    offline.serial = "emulator-5556\x1b[31m"
    console = Console(file=io.StringIO(), width=250, force_terminal=True, color_system="truecolor")
    print_summary(run, console)
    raw = console.file.getvalue()
    assert "\x1b]" not in raw and "\x07" not in raw and "\x1b[2J" not in raw and "\u202e" not in raw
    shown = re.sub(r"\x1b\[[0-9;]*m", "", raw)
    assert "\x1b" not in shown
    assert f"{FAILING_SERIAL} ([/bold])" in shown
    assert "[link=https://evil.example]M[/link]" in shown
    assert "[2J[Hcleared ]0;pwned evil \ufffd" in shown
