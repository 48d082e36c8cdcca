"""What the CLI prints: the eval command's tables (chapter 28A's "Quality Impact" and "Size
Reduction", measured) and the sign-off summary (verdict headline, device x model table, failed
gates, what could not be judged)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.evaluation.evaluate import EvalReport
from harness.reports.baseline_section import print_baseline
from harness.reports.formatting import (
    as_finite,
    as_text,
    device_label,
    fmt_cos,
    fmt_duration,
    fmt_kb_delta,
    fmt_ms,
    fmt_pct,
    fmt_value,
    gate_bound,
    terminal_text,
)
from harness.reports.sanitize import sanitized
from harness.reports.verdict import FailedGate, verdict_of
from harness.signoff.results import DeviceRun, SignoffRun


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
        # IDs and figures are never cut to "…": a narrow terminal folds them onto more lines.
        quality.add_column(column, overflow="fold", no_wrap=column == "Model")
    size = Table(title="Size Reduction (measured)")
    for column in ("Model", "FP32 size", "Variant size", "Size vs FP32", "Host p50 ms (FP32)", "Speed-up"):
        size.add_column(column, overflow="fold", no_wrap=column == "Model")
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
    table, then what kept the run from passing: each failed gate (name, value, operator,
    threshold, unit), each device or model that could not be judged, with its reason. The run is
    read through `sanitized` and every device string goes out through `terminal_text` inside a
    rich Text: no control character, escape sequence or markup from a device reaches the terminal.
    Never raises on the run's data.

    The table fits the terminal: one row per device and model when it fits without cutting a
    serial or a model ID (and the terminal is at least WIDE columns); otherwise stacked, one block
    per device. Serials, model IDs and gate names are never cut."""
    run = sanitized(run)
    verdict = verdict_of(run)
    console.print(_plain(verdict.headline, 2 * LINE, _VERDICT_STYLE.get(verdict.status, "bold yellow")))
    if not run.devices:
        console.print(Text("No devices ran.", style="bold red"))
    else:
        table = _wide_table(run, console.width) if console.width >= WIDE else None
        if table is not None:
            console.print(table)
        else:
            _print_stacked(run, console)
    startup = [(d, m) for d in run.devices for m in d.models if m.startup]
    if startup:
        console.print(Text("Start-up and memory (load · cold · warm-up · steady p50/p90/p99 · memory):", style="bold"))
    for device, model in startup:
        line = f"  {device.serial} · {model.model_id}: {startup_line(model.startup)}"
        console.print(_plain(line, LINE), overflow="fold")
    recipes = [m for m in run.models if m.recipe]
    if recipes:
        console.print(Text("Quantization recipes (the model's .quant.json):", style="bold"))
    for host_model in recipes:
        console.print(
            _plain(f"  {host_model.model_id}: {recipe_line(host_model.recipe)}", RECIPE_LINE), overflow="fold"
        )
    from harness.models.compatibility import pin_note

    for host_model in run.models:  # a runtime newer than the app pins was declared (--device-ort-version)
        note = pin_note(host_model.min_onnxruntime) if host_model.min_onnxruntime else None
        if note:
            console.print(_plain(f"{host_model.model_id}: {note}", LINE, "bold yellow"), overflow="fold")
    print_baseline(run, console)  # --baseline: the side-by-side comparison
    if verdict.failed_gates:
        console.print(Text("Failed gates:", style="bold red"))
        for failed in verdict.failed_gates:
            console.print(_plain(f"  {failed_gate_line(failed)}", LINE, "red"), overflow="fold")
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
            console.print(_plain(line, LINE, style), overflow="fold")


_VERDICT_STYLE = {"passed": "bold green", "failed": "bold red"}
CELL = 60  # characters of one device string in a table cell
LINE = 300  # characters of one failed-gate or reason line
RECIPE_LINE = 800  # a recipe's settings without its prose; lists are shown as counts
WIDE = 100  # below this many columns the summary is stacked, one block per device
_COLUMNS = ("Parity min cos", "E2E tokens", "Cos vs FP32", "p50/p90/load ms")
RESULT_MIN = 24  # a longer word in the Result column folds (failed gates are listed in full below)


def _rows(run: SignoffRun) -> list[tuple[DeviceRun, list[tuple[str, Text, list[str]]]]]:
    """Per device: per model, its ID, its result (status, and the failed gates or why it was not
    judged) and the figures of _COLUMNS."""
    rows = []
    for device in run.devices:
        models = []
        for model in device.models:
            latency = model.latency_ms
            if not model.judged:
                status, why = "not judged", model.error or "no gates were evaluated"
            else:
                status = "passed" if model.passed else "failed"
                why = ", ".join(g.name for g in model.gates if not g.passed)
            result = _status_text(status)
            if why:
                result += Text(": ") + _plain(why, LINE, "red" if model.judged else "yellow")
            figures = [
                fmt_cos(model.parity.get("min_cosine")),
                fmt_pct(model.end_to_end.get("token_agreement")),
                fmt_cos(model.vs_fp32.get("mean_cosine")),
                "/".join(fmt_ms(latency.get(key)) for key in ("p50", "p90", "load_ms")),
            ]
            models.append((model.model_id, result, figures))
        rows.append((device, models))
    return rows


def _wide_table(run: SignoffRun, width: int) -> Table | None:
    """The device x model table in `width` columns, or None when it cannot fit with no serial,
    model ID or figure cut. Each column gets at least its longest word (Model and the figures:
    their longest cell, they never wrap; Result: up to RESULT_MIN, a longer word folds), then
    what is left goes to the device, the figures and the result, up to their longest cell. The
    widths are fixed, so Rich neither collapses nor cuts them."""
    headers = ("Device", "Model", *_COLUMNS, "Result")
    cells: list[list[Text]] = []
    for device, models in _rows(run):
        label = _plain(device_label(device))
        if not models:
            cells.append([label, Text("—"), *[Text("—")] * len(_COLUMNS), _status_text(device.status)])
        for model_id, result, figures in models:
            cells.append([label, _plain(model_id), *map(Text, figures), result])
    widths, natural = [], []
    for column, header in enumerate(headers):
        texts = [row[column].plain for row in cells]
        whole = header != "Device" and header != "Result"  # IDs and figures are never wrapped
        pieces = texts if whole else [word for text in texts for word in text.split()]
        longest = max(map(cell_len, pieces), default=1)
        words = max(map(cell_len, header.split()))
        widths.append(max(words, min(longest, RESULT_MIN) if header == "Result" else longest))
        natural.append(max(cell_len(header), *map(cell_len, texts)))
    spare = width - (sum(widths) + 3 * len(headers) - 1)  # padding 2 per column, separators between
    if spare < 0:
        return None
    for column in (0, *range(2, len(headers) - 1), len(headers) - 1):
        grow = min(spare, natural[column] - widths[column])
        widths[column] += grow
        spare -= grow
    table = Table(title=_plain(f"Sign-off {run.run_id}", CELL), show_edge=False)
    for header, column_width in zip(headers, widths, strict=True):
        # A cell's longest word fits its column: only headers and the Device and Result cells wrap.
        table.add_column(header, width=column_width, overflow="fold")
    for row in cells:
        table.add_row(*row)
    return table


def _print_stacked(run: SignoffRun, console: Console) -> None:
    """One block per device: its label and status, then each model's ID and result on a line of
    their own, then its figures."""
    console.print(_plain(f"Sign-off {run.run_id}", CELL, "italic"))
    for device, models in _rows(run):
        console.print(
            _plain(device_label(device), style="bold") + Text("  ") + _status_text(device.status), overflow="fold"
        )
        for model_id, result, figures in models:
            console.print(Text("  ") + _plain(model_id) + Text("  ") + result, overflow="fold")
            pairs = [f"{name} {value}" for name, value in zip(_COLUMNS, figures, strict=True)]
            console.print(Text("    " + " · ".join(pairs), style="dim"))


def startup_line(startup: dict) -> str:
    """`load 412.5 ms · cold 35.1 ms · warm-up 10.4 ms (3 runs) · p50/p90/p99 3.0/3.1/3.2 ms ·
    memory +80.2 MB load, +8.1 MB inference`: one model's devices[].models[].startup."""
    steady = "/".join(fmt_ms(startup.get(key)) for key in ("p50_ms", "p90_ms", "p99_ms"))
    runs = startup.get("warmup_runs")
    return (
        f"load {fmt_duration(startup.get('load_ms'))} · cold {fmt_duration(startup.get('cold_ms'))}"
        f" · warm-up {fmt_duration(startup.get('warmup_ms'))}"
        + (f" ({runs} runs)" if isinstance(runs, int) and not isinstance(runs, bool) else "")
        + f" · p50/p90/p99 {steady} ms · memory {fmt_kb_delta(startup.get('load_delta_kb'))} load,"
        f" {fmt_kb_delta(startup.get('inference_delta_kb'))} inference"
    )


def failed_gate_line(failed: FailedGate) -> str:
    """`where · model · name = value unit, needs op threshold unit (detail)`: every part of a
    failed gate, its operator and unit read from the gate's name (latency and `max_` gates are
    ceilings in ms or units; the rest are floors; true/false gates must equal their threshold)."""
    gate = failed.gate
    name, value, threshold = as_text(gate.name), fmt_value(gate.value), fmt_value(gate.threshold)
    op, unit = gate_bound(gate)
    unit = unit or (" ms" if name.endswith("_ms") else "")
    numeric = op != "=="
    shown_value = f"{value}{unit}" if as_finite(gate.value) is not None else value
    text = f"{failed.where} · {failed.model_id} · {name} = {shown_value}"
    if gate.threshold is not None:
        text += f", needs {op} {threshold}{unit if numeric else ''}"
    return f"{text} ({as_text(gate.detail)})" if gate.detail else text


def _plain(value: object, limit: int = CELL, style: str = "") -> Text:
    """A device string as terminal text: no markup parsed, no control character, bounded."""
    return Text(terminal_text(value, limit), style=style)


def _status_text(status: str) -> Text:
    style = {"passed": "green", "failed": "red", "error": "bold red"}.get(status, "yellow")
    return _plain(status, 20, style)


def recipe_line(recipe: dict, prefix: str = "") -> str:
    """A recorded recipe on one line, whatever its keys: `preset=arm64 · settings.per_channel=True`;
    a list shows its length (`required_ops=[5]`) and prose descriptions stay in the HTML and the
    manifest, so the line stays readable."""
    parts = []
    for key, value in recipe.items():
        if key == "description" or value is None or value in ([], ()):
            continue  # prose stays in the HTML and the manifest; unset settings say nothing
        if isinstance(value, dict):
            parts.append(recipe_line(value, f"{prefix}{key}."))
        elif isinstance(value, list | tuple):
            parts.append(f"{prefix}{key}=[{len(value)}]")
        else:
            parts.append(f"{prefix}{key}={value}")
    return " · ".join(p for p in parts if p)
