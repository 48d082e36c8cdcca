"""What the CLI prints: the eval command's tables (chapter 28A's "Quality Impact" and "Size
Reduction", measured) and the sign-off summary (device x model table, errors, PASS or FAIL)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.evaluation.evaluate import EvalReport
from harness.reports.formatting import device_label, fmt_cos, fmt_ms, fmt_pct, gate_message, needs_attention
from harness.reports.json_report import summarize
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
    """Device × model table, device errors in red, host gate failures, then PASS or FAIL."""
    table = Table(title=f"Sign-off {run.run_id}")
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
        label = Text(device_label(device))
        if not device.models:
            table.add_row(label, Text("—"), _status_text(device.status), *[Text("—")] * 6)
        for model in device.models:
            latency = model.latency_ms
            failed = [g.name for g in model.gates if not g.passed] or (["no gates"] if not model.gates else [])
            table.add_row(
                label,
                Text(model.model_id),
                _status_text("passed" if model.passed else "failed"),
                Text(fmt_cos(model.parity.get("min_cosine"))),
                Text(fmt_pct(model.end_to_end.get("token_agreement"))),
                Text(fmt_cos(model.vs_fp32.get("mean_cosine"))),
                Text(f"{fmt_ms(latency.get('p50'))} / {fmt_ms(latency.get('p90'))}"),
                Text(fmt_ms(latency.get("load_ms"))),
                Text(", ".join(failed) or "—", style="red" if failed else ""),
            )
    if run.devices:
        console.print(table)
    else:
        console.print(Text("No devices ran.", style="bold red"))
    for device in run.devices:
        if needs_attention(device):
            stage = f" [{device.stage}]" if device.stage else ""
            console.print(Text(f"{device.serial}{stage}: {device.error or device.status}", style="red"))
    for model in run.models:
        for gate in model.gates:
            if not gate.passed:
                console.print(Text(f"host {model.model_id}: {gate_message(gate)}", style="red"))
    counts = summarize(run)
    verdict = "PASS" if run.passed else "FAIL"
    console.print(
        Text(
            f"{verdict}: {counts['devices']['passed']}/{counts['devices']['total']} devices passed, "
            f"{counts['gates']['failed']} of {counts['gates']['total']} gates failed",
            style="bold green" if run.passed else "bold red",
        )
    )


def _status_text(status: str) -> Text:
    style = {"passed": "green", "failed": "red", "error": "bold red"}.get(status, "yellow")
    return Text(status, style=style)
