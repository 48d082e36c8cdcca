"""The baseline comparison (signoff.json `baseline`, harness.signoff.baseline) as the reports show
it: side by side, one row per figure (where, model, figure, this run, baseline, change, result and
why). `baseline_rows` makes the display rows from a sanitized run; `print_baseline` writes them to
the terminal; signoff.html includes templates/baseline_section.html.j2 with the same rows."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.reports.formatting import as_finite, fmt_cos, fmt_ms, fmt_pct, fmt_size, fmt_value, terminal_text
from harness.signoff.results import SignoffRun


def _formatter(figure: str):  # -> (value formatter, change formatter)
    if figure == "size_bytes":
        return fmt_size, lambda v: _signed(v, fmt_size)
    if figure.endswith("_ms"):
        return fmt_ms, lambda v: _signed(v, lambda x: f"{fmt_ms(x)} ms")
    if "retention" in figure:
        return fmt_pct, lambda v: _signed(v * 100 if as_finite(v) is not None else v, lambda x: f"{x:.2f} pts")
    if "cosine" in figure:
        return fmt_cos, lambda v: _signed(v, fmt_cos)
    return fmt_value, fmt_value


def _signed(value: Any, fmt) -> str:
    number = as_finite(value)
    if number is None:
        return "—"
    return ("+" if number > 0 else "-" if number < 0 else "±") + str(fmt(abs(number)))


def _result(row: dict[str, Any]) -> str:
    if not row.get("gate"):
        return ""
    if row.get("passed") is None:
        return "not compared"
    if not row.get("gated"):
        return "shown"
    return "pass" if row.get("passed") else "FAIL"


def baseline_rows(run: SignoffRun) -> list[dict[str, str]]:
    """The comparison's rows as text; [] for a run without a baseline."""
    comparison = run.baseline if isinstance(run.baseline, dict) else {}
    rows = []
    for row in comparison.get("rows") or []:
        if not isinstance(row, dict):
            continue
        figure = str(row.get("figure", ""))
        value, change = _formatter(figure)
        needs = ""
        if row.get("gate"):
            op = "<=" if "_max_" in str(row["gate"]) else ">="
            needs = f"{row['gate']} {op} {fmt_value(row.get('threshold'))}"
        rows.append(
            {
                "where": str(row.get("where", "")),
                "model_id": str(row.get("model_id", "")),
                "figure": figure,
                "this_run": value(row.get("this_run")) if row.get("this_run") is not None else "—",
                "baseline": value(row.get("baseline")) if row.get("baseline") is not None else "—",
                "change": change(row.get("change")) if row.get("change") is not None else "",
                "result": _result(row),
                "needs": needs,
                "why": str(row.get("why") or ""),
            }
        )
    return rows


def baseline_title(run: SignoffRun) -> str:
    comparison = run.baseline if isinstance(run.baseline, dict) else {}
    verdict = "passed" if comparison.get("passed") else "FAILED"
    return f"Baseline {comparison.get('run_id', '?')} ({comparison.get('path', '?')}): regression gates {verdict}"


def print_baseline(run: SignoffRun, console: Console) -> None:
    """The side-by-side table under the summary; nothing for a run without a baseline."""
    rows = baseline_rows(run)
    if not rows:
        return
    table = Table(title=terminal_text(baseline_title(run), 300), title_justify="left")
    for column in ("Where", "Model", "Figure", "This run", "Baseline", "Change", "Result", "Why"):
        table.add_column(column, overflow="fold")
    for row in rows:
        style = "red" if row["result"] == "FAIL" else ""
        why = "; ".join(p for p in (row["needs"], row["why"]) if p)
        cells = (row["where"], row["model_id"], row["figure"], row["this_run"], row["baseline"], row["change"])
        table.add_row(
            *(Text(terminal_text(c, 120)) for c in cells), Text(row["result"], style), Text(terminal_text(why, 300))
        )
    console.print(table)
