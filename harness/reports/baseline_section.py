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
    if figure == "sha256":
        return (lambda v: _short(str(v))), fmt_value
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
        if row.get("this_run") is None and row.get("baseline") is None and not row.get("gate"):
            continue  # measured in neither run
        bound = ""
        if row.get("gate"):
            bound = f"{'<=' if '_max_' in str(row['gate']) else '>='} {fmt_value(row.get('threshold'))}"
        rows.append(
            {
                "where": str(row.get("where", "")),
                "model_id": str(row.get("model_id", "")),
                "figure": figure,
                "this_run": value(row.get("this_run")) if row.get("this_run") is not None else "—",
                "baseline": value(row.get("baseline")) if row.get("baseline") is not None else "—",
                "change": change(row.get("change")) if row.get("change") is not None else "",
                "result": _result(row),
                "gate": str(row.get("gate") or ""),
                "bound": bound,  # what the gate's value needs: operator and threshold
                "needs": f"{row['gate']} {bound}" if bound else "",
                "why": str(row.get("why") or ""),
            }
        )
    return rows


def _short(text: str) -> str:
    """A sha256 as its first 12 hex digits (the full one is in signoff.json and the model table)."""
    return text[:12] + "…" if len(text) > 13 else text


def baseline_title(run: SignoffRun) -> str:
    comparison = run.baseline if isinstance(run.baseline, dict) else {}
    verdict = "passed" if comparison.get("passed") else "FAILED"
    if comparison.get("error"):
        verdict = f"not compared ({comparison['error']})"
    return f"Baseline {comparison.get('run_id', '?')} ({comparison.get('path', '?')}): regression gates {verdict}"


def print_baseline(run: SignoffRun, console: Console) -> None:
    """The side-by-side table under the summary, one block per place and model (host or a device
    model); nothing for a run without a baseline."""
    rows = baseline_rows(run)
    if not rows:
        if isinstance(run.baseline, dict) and run.baseline.get("error"):
            console.print(Text(terminal_text(baseline_title(run), 400), "bold yellow"), overflow="fold")
        return
    if console.width < STACK_BELOW:  # one line per figure, as the summary stacks below 100 columns
        console.print(Text(terminal_text(baseline_title(run), 300), "bold"), overflow="fold")
        for n, row in enumerate(rows):
            group = (row["where"], row["model_id"])
            if n == 0 or (rows[n - 1]["where"], rows[n - 1]["model_id"]) != group:
                console.print(Text(terminal_text(" · ".join(p for p in group if p), 300), "bold"), overflow="fold")
            line = f"  {row['figure']}: {row['this_run']} vs {row['baseline']} {row['change']} {row['result']}"
            why = "; ".join(p for p in (row["needs"], row["why"]) if p)
            style = "red" if row["result"] == "FAIL" else ""
            console.print(Text(terminal_text(f"{line} — {why}" if why else line, 400), style), overflow="fold")
        return
    table = Table(title=terminal_text(baseline_title(run), 300), title_justify="left")
    table.add_column("Where · model", overflow="fold", max_width=34)
    table.add_column("Figure", no_wrap=True)
    for column in ("This run", "Baseline", "Change"):
        table.add_column(column, overflow="fold", max_width=18)
    table.add_column("Result", no_wrap=True)
    table.add_column("Why", overflow="fold")
    for n, row in enumerate(rows):
        group = (row["where"], row["model_id"])
        first = n == 0 or (rows[n - 1]["where"], rows[n - 1]["model_id"]) != group
        last = n == len(rows) - 1 or (rows[n + 1]["where"], rows[n + 1]["model_id"]) != group
        label = " · ".join(p for p in group if p) if first else ""
        values = [row[k] for k in _SIDES]
        why = "; ".join(p for p in (row["needs"], row["why"]) if p)
        style = "red" if row["result"] == "FAIL" else ""
        table.add_row(
            Text(terminal_text(label, 200), "bold"),
            Text(terminal_text(row["figure"], 60)),
            *(Text(terminal_text(v, 120)) for v in values),
            Text(row["result"], style),
            Text(terminal_text(why, 300)),
            end_section=last,
        )
    console.print(table)


_SIDES = ("this_run", "baseline", "change")
STACK_BELOW = 100  # columns: narrower terminals get one line per figure
