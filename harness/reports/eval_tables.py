"""Terminal tables: chapter 28A's "Quality Impact" and "Size Reduction", measured."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from harness.evaluation.evaluate import EvalReport


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
