"""What the CLI prints: the eval command's tables (chapter 28A's "Quality Impact" and "Size
Reduction", measured) and the sign-off summary (verdict headline, device x model table, failed
gates, what could not be judged)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.evaluation.evaluate import EvalReport
from harness.reports.formatting import device_label, fmt_cos, fmt_ms, fmt_pct, terminal_text
from harness.reports.sanitize import sanitized
from harness.reports.verdict import verdict_of
from harness.signoff.results import SignoffRun


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def print_eval_tables(console: Console, reports: Sequence[EvalReport]) -> None:
    quality = Table(title="Quality Impact (measured, retention = variant / FP32)")
    for column in (
        "Model",
        "Top-1",
        "Top-5",
        "nDCG@10",
        "Cosine vs FP32 (mean / p5 / min)",
        "STS-B Spearman (retention)",
        "Gates",
    ):
        quality.add_column(column)
    size = Table(title="Size Reduction (measured)")
    for column in ("Model", "FP32 size", "Variant size", "Size vs FP32", "Host p50 ms (FP32)", "Speed-up"):
        size.add_column(column)
    for report in reports:
        retrieval = next(iter(report.retrieval.values()), {})
        cosine = report.cosine_vs_baseline
        failed = [c.name for c in report.chapter_tests + report.gates if not c.passed]
        quality.add_row(
            report.model_id,
            f"{retrieval.get('top1', 0):.1%} ({_pct(retrieval.get('top1_retention'))})" if retrieval else "-",
            f"{retrieval.get('top5', 0):.1%} ({_pct(retrieval.get('top5_retention'))})" if retrieval else "-",
            f"{retrieval.get('ndcg10', 0):.3f} ({_pct(retrieval.get('ndcg10_retention'))})" if retrieval else "-",
            f"{cosine['mean']:.4f} / {cosine['p5']:.4f} / {cosine['min']:.4f}" if cosine else "-",
            f"{report.sts['spearman']:.4f} ({_pct(report.sts['retention'])})" if report.sts else "-",
            "[green]pass[/]" if not failed else f"[red]fail: {', '.join(failed)}[/]",
        )
        latency = report.latency_ms
        size.add_row(
            report.model_id,
            f"{report.baseline_size_bytes / 1e6:.1f} MB",
            f"{report.size_bytes / 1e6:.1f} MB",
            f"{report.size_ratio:.1%} (-{1 - report.size_ratio:.0%})",
            f"{latency['p50']:.2f} ({latency['baseline_p50']:.2f})" if latency else "-",
            f"{latency['speedup_p50']:.2f}x" if latency else "-",
        )
    console.print(quality)
    console.print(size)
    truncated = sum(r.truncated_texts for r in reports)
    if truncated:
        console.print(f"[dim]{truncated} text(s) longer than the model's maximum length were truncated.[/]")


def print_summary(run: SignoffRun, console: Console) -> None:
    """The headline first (PASS, FAIL, NO VERDICT or INTERRUPTED, and why), then the device x model
    table, then what kept the run from passing: each failed gate (name, value, threshold), each
    device or model that could not be judged, with its reason. The run is read through
    `sanitized` and every device string goes out through `terminal_text` inside a rich Text: no
    control character, escape sequence or markup from a device reaches the terminal. Never
    raises on the run's data."""
    run = sanitized(run)
    verdict = verdict_of(run)
    console.print(_plain(verdict.headline, 2 * LINE, _VERDICT_STYLE.get(verdict.status, "bold yellow")))
    table = Table(title=_plain(f"Sign-off {run.run_id}", CELL))
    for column in (
        "Device",
        "Model",
        "Status",
        "Parity min cos",
        "E2E tokens",
        "Cos vs FP32",
        "p50/p90 ms",
        "Load ms",
        "Failed gates",
    ):
        table.add_column(column, no_wrap=column in ("Model", "p50/p90 ms"))
    for device in run.devices:
        label = _plain(device_label(device))
        if not device.models:
            table.add_row(label, Text("—"), _status_text(device.status), *[Text("—")] * 6)
        for model in device.models:
            latency = model.latency_ms
            if not model.judged:
                status, why = "not judged", model.error or "no gates were evaluated"
            else:
                status, why = (
                    ("passed" if model.passed else "failed"),
                    ", ".join(g.name for g in model.gates if not g.passed),
                )
            table.add_row(
                label,
                _plain(model.model_id),
                _status_text(status),
                Text(fmt_cos(model.parity.get("min_cosine"))),
                Text(fmt_pct(model.end_to_end.get("token_agreement"))),
                Text(fmt_cos(model.vs_fp32.get("mean_cosine"))),
                Text(f"{fmt_ms(latency.get('p50'))} / {fmt_ms(latency.get('p90'))}"),
                Text(fmt_ms(latency.get("load_ms"))),
                _plain(why or "—", CELL, "red" if why else ""),
            )
    if run.devices:
        console.print(table)
    else:
        console.print(Text("No devices ran.", style="bold red"))
    if verdict.failed_gates:
        console.print(Text("Failed gates:", style="bold red"))
        for failed in verdict.failed_gates:
            console.print(_plain(f"  {failed.line()}", LINE, "red"))
    stages = {d.serial: d.stage for d in run.devices if d.stage and d.stage != "done"}
    for title, items, style in (
        ("Failed devices (no failed gate):", verdict.failed_devices, "red"),
        ("Not judged:", verdict.unjudged, "yellow"),
    ):
        if items:
            console.print(Text(title, style=f"bold {style}"))
        for item in items:
            where = f"{item.where} [{stages[item.where]}]" if not item.model_id and item.where in stages else item.where
            line = f"  {where} · {item.model_id}: {item.reason}" if item.model_id else f"  {where}: {item.reason}"
            console.print(_plain(line, LINE, style))


_VERDICT_STYLE = {"passed": "bold green", "failed": "bold red"}
CELL = 60  # characters of one device string in a table cell
LINE = 300  # characters of one failed-gate or reason line


def _plain(value: object, limit: int = CELL, style: str = "") -> Text:
    """A device string as terminal text: no markup parsed, no control character, bounded."""
    return Text(terminal_text(value, limit), style=style)


def _status_text(status: str) -> Text:
    style = {"passed": "green", "failed": "red", "error": "bold red"}.get(status, "yellow")
    return _plain(status, 20, style)
