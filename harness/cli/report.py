"""`report diff` and `report history`: reading runs back (harness.reports.diff, .history)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.cli import options as opt
from harness.cli.output import out, say


def diff_command(
    run_a: Annotated[str, typer.Argument(help="The earlier run: a reports/<run-id> directory or its signoff.json.")],
    run_b: Annotated[str, typer.Argument(help="The later run, the same way ('latest' works for either).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
    html_path: Annotated[Path | None, typer.Option("--html", help="Also write the table as an HTML page.")] = None,
    reports_dir: opt.ReportsDir = opt.DEFAULT_REPORTS_DIR,
) -> None:
    """Every gate value and figure that changed from RUN_A to RUN_B, per model and device.

    Exit 0 when the runs could be compared (changed or not), 2 when one is unreadable."""
    from rich.table import Table

    from harness.fileio import atomic_output, check_output_file, dumps_json
    from harness.reports.diff import diff_runs, render_diff_html
    from harness.reports.formatting import fmt_value, terminal_text
    from harness.reports.history import resolve_run
    from harness.reports.run_record import load_signoff

    if html_path is not None:
        check_output_file(html_path, "--html")
    a, b = (load_signoff(resolve_run(run, reports_dir)) for run in (run_a, run_b))
    diff = diff_runs(a, b)
    if html_path is not None:
        with atomic_output(html_path) as tmp:
            tmp.write_text(render_diff_html(diff), encoding="utf-8")
    if json_output:
        sys.stdout.write(dumps_json(diff) + "\n")  # plain: no console wrapping in a machine's output
        return
    for note in diff["notes"]:
        out.print(terminal_text(f"{note['where']} {note['model_id']}: {note['note']}", 300), markup=False)
    table = Table(title=terminal_text(f"{diff['a']} -> {diff['b']}: {len(diff['changes'])} changed", 300))
    for column in ("Where", "Model", "Figure", "RUN_A", "RUN_B", "Change"):
        table.add_column(column, overflow="fold")
    for c in diff["changes"]:
        cells = (c["where"], c["model_id"], c["figure"], fmt_value(c["a"]), fmt_value(c["b"]), fmt_value(c["change"]))
        table.add_row(*(terminal_text(cell, 200) for cell in cells))
    out.print(table)
    if html_path is not None:
        say(f"html: {html_path}")


def history_command(
    reports_dir: Annotated[Path, typer.Argument(help="The reports directory.")] = opt.DEFAULT_REPORTS_DIR,
) -> None:
    """Write REPORTS_DIR/history.html (a trend per model across runs) and point REPORTS_DIR/latest
    at the newest run."""
    from harness.reports.history import write_history

    path, count, unreadable = write_history(reports_dir)
    for note in unreadable:
        say(f"not read: {note}")
    out.print(f"history: {path} ({count} runs)", markup=False, highlight=False)
