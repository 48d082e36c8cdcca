"""The runs in a reports directory: finding and reading them (`find_runs`, `resolve_run`,
`load_baseline`), `reports/latest` (a symlink to the newest run, replaced atomically) and
history.html: a self-contained page (inline SVG, no scripts, no network) with a trend per model
across runs in time order (size, cosine to FP32, retention, parity, p50 latency per device
model), each point linking to its run's signoff.html."""

from __future__ import annotations

import contextlib
import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputError
from harness.fileio import atomic_output
from harness.regression_gates import RegressionGates
from harness.reports.run_record import load_signoff
from harness.signoff.baseline import Baseline, device_key

LATEST = "latest"
HISTORY_FILE = "history.html"
SIGNOFF_FILE = "signoff.json"


@dataclass
class RunRecord:
    directory: Path
    document: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.document.get("run_id") or self.directory.name)

    @property
    def created_at(self) -> str:
        return str(self.document.get("created_at") or "")


def find_runs(reports_dir: Path) -> tuple[list[RunRecord], list[str]]:
    """Every run under `reports_dir` in time order (created_at, then directory name), and one
    line for each directory whose signoff.json could not be read. The `latest` link is skipped."""
    runs, unreadable = [], []
    if not reports_dir.is_dir():
        raise InputError(f"{reports_dir}: no such reports directory")
    for child in sorted(reports_dir.iterdir()):
        if child.is_symlink() or not (child / SIGNOFF_FILE).is_file():
            continue
        try:
            runs.append(RunRecord(child, load_signoff(child / SIGNOFF_FILE)))
        except HarnessError as err:
            unreadable.append(str(err))
    runs.sort(key=lambda r: (r.created_at, r.directory.name))
    return runs, unreadable


def resolve_run(argument: str, reports_dir: Path) -> Path:
    """RUN as the user gave it -> its signoff.json: a run directory, its signoff.json, or
    `latest` (the newest readable run in `reports_dir`)."""
    if argument == LATEST:
        runs, _ = find_runs(reports_dir) if reports_dir.is_dir() else ([], [])
        if not runs:
            raise InputError(f"--baseline latest: no earlier run in {reports_dir}")
        return runs[-1].directory / SIGNOFF_FILE
    path = Path(argument)
    if path.is_dir():
        return path / SIGNOFF_FILE
    return path


def load_baseline(argument: str, reports_dir: Path, gates: RegressionGates) -> Baseline:
    """`--baseline RUN` read and checked (see run_record.load_signoff): one-line error otherwise."""
    path = resolve_run(argument, Path(reports_dir))
    return Baseline(path, load_signoff(path), gates)


def update_latest(reports_dir: Path) -> Path | None:
    """Point `reports_dir/latest` at the newest readable run (see `link_latest`)."""
    runs, _ = find_runs(reports_dir)
    return link_latest(reports_dir, runs[-1].directory.name) if runs else None


def link_latest(reports_dir: Path, run_name: str) -> Path | None:
    """Point `reports_dir/latest` at `run_name` (a relative symlink, swapped in with one rename, so
    a reader never sees it missing). A `latest` that is not a symlink is left alone; a file system
    without symlinks gets none (the history page still lists every run)."""
    link = reports_dir / LATEST
    if link.exists() and not link.is_symlink():
        return None
    temporary = reports_dir / f".{LATEST}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    try:
        temporary.symlink_to(run_name, target_is_directory=True)
        os.replace(temporary, link)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        return None
    return link


# (figure key, title, how a value is written) per trend chart.
CHARTS: tuple[tuple[str, str, str], ...] = (
    ("size_mb", "Size (MB)", "{:.2f}"),
    ("cosine_fp32", "Cosine to FP32, mean (host)", "{:.5f}"),
    ("retention", "Retention vs FP32 (host)", "{:.2%}"),
    ("parity", "Parity min cosine (device)", "{:.6f}"),
    ("p50_ms", "p50 latency per device model (ms)", "{:.2f}"),
)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def trends(runs: list[RunRecord]) -> dict[str, dict[str, dict[str, list[tuple[int, float]]]]]:
    """model ID -> chart key -> series name -> [(run index, value)]: what history.html draws."""
    out: dict[str, dict[str, dict[str, list[tuple[int, float]]]]] = {}

    def add(model_id: str, chart: str, series: str, index: int, value: Any) -> None:
        number = _number(value)
        if number is not None:
            out.setdefault(model_id, {}).setdefault(chart, {}).setdefault(series, []).append((index, number))

    for index, run in enumerate(runs):
        for model in run.document.get("models") or []:
            model_id, quality = str(model.get("model_id")), model.get("quality") or {}
            size = _number(model.get("size_bytes"))
            add(model_id, "size_mb", "file", index, None if size is None else size / 1e6)
            add(model_id, "cosine_fp32", "mean cosine", index, quality.get("mean_cosine_vs_fp32"))
            add(model_id, "retention", "STS-B", index, quality.get("sts_retention"))
            add(model_id, "retention", "XQuAD top-1", index, quality.get("xquad_top1_retention"))
        for device in run.document.get("devices") or []:
            key = device_key(device)
            for model in device.get("models") or []:
                model_id = str(model.get("model_id"))
                add(model_id, "parity", key, index, (model.get("parity") or {}).get("min_cosine"))
                add(model_id, "p50_ms", key, index, (model.get("latency_ms") or {}).get("p50"))
    return out


_COLOURS = ("#1f6feb", "#d4380d", "#2f9e44", "#9c36b5", "#e67700", "#0b7285")


def _chart(title: str, fmt: str, series: dict[str, list[tuple[int, float]]], runs: list[RunRecord]) -> str:
    rows = (len(series) + 1) // 2  # legend lines, two series a line
    width, pad = 420, 34
    height = 170 + 12 * (rows - 1)
    bottom = height - pad - 12 * (rows - 1)  # the plot's lowest y: the legend lives under it
    values = [v for points in series.values() for _, v in points]
    low, high = min(values), max(values)
    if high - low < 1e-12:
        low, high = low - (abs(low) * 0.01 or 0.5), high + (abs(high) * 0.01 or 0.5)
    count = max(len(runs) - 1, 1)

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / count if len(runs) > 1 else 0.5)

    def y(v: float) -> float:
        return bottom - (bottom - pad) * (v - low) / (high - low)

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f"<title>{html.escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff" stroke="#d0d7de"/>',
        f'<text x="8" y="16" font-size="12" font-weight="bold">{html.escape(title)}</text>',
        f'<text x="4" y="{pad}" font-size="10">{html.escape(fmt.format(high))}</text>',
        f'<text x="4" y="{bottom + 4}" font-size="10">{html.escape(fmt.format(low))}</text>',
    ]
    for i in range(len(runs)):  # the run's number in the table below
        parts.append(f'<text x="{x(i):.1f}" y="{bottom + 14}" font-size="9" text-anchor="middle">{i + 1}</text>')
    for n, (name, points) in enumerate(series.items()):
        colour = _COLOURS[n % len(_COLOURS)]
        line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{line}"/>')
        for i, v in points:
            run = runs[i]
            link = html.escape(f"{run.directory.name}/signoff.html", quote=True)
            label = html.escape(f"{run.run_id} · {name}: {fmt.format(v)}")
            parts.append(
                f'<a href="{link}"><circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" fill="{colour}">'
                f"<title>{label}</title></circle></a>"
            )
        parts.append(
            f'<text x="{pad + 180 * (n % 2)}" y="{bottom + 28 + 12 * (n // 2)}" font-size="10" fill="{colour}">'
            f"{html.escape(name[:40])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_history(runs: list[RunRecord], unreadable: list[str]) -> str:
    """history.html's text."""
    body = [f"<h1>Sign-off history: {len(runs)} run(s)</h1>"]
    for note in unreadable:
        body.append(f'<p class="note">not read: {html.escape(note)}</p>')
    for model_id, charts in trends(runs).items():
        body.append(f'<section class="model"><h2>{html.escape(model_id)}</h2>')
        for key, title, fmt in CHARTS:
            if charts.get(key):
                body.append(_chart(title, fmt, charts[key], runs))
        body.append("</section>")
    body.append("<h2>Runs</h2><table><tr><th>#</th><th>created</th><th>run</th><th>verdict</th><th>baseline</th></tr>")
    for n, run in enumerate(runs):
        link = html.escape(f"{run.directory.name}/signoff.html", quote=True)
        baseline = (run.document.get("baseline") or {}).get("run_id") or ""
        body.append(
            f"<tr><td>{n + 1}</td><td>{html.escape(run.created_at)}</td>"
            f'<td><a href="{link}">{html.escape(run.run_id)}</a></td>'
            f"<td>{html.escape(str(run.document.get('verdict', '')))}</td><td>{html.escape(str(baseline))}</td></tr>"
        )
    body.append("</table>")
    style = (
        "body{font-family:system-ui,sans-serif;margin:24px;color:#1f2328;background:#f6f8fa}"
        "section.model{background:#fff;border:1px solid #d0d7de;padding:12px;margin:12px 0}"
        ".chart{margin:6px}table{border-collapse:collapse;background:#fff}"
        "td,th{border:1px solid #d0d7de;padding:3px 8px;font-size:13px}.note{color:#9a6700}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>ava-harness history</title>'
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_history(reports_dir: Path) -> tuple[Path, int, list[str]]:
    """Write reports_dir/history.html and refresh reports_dir/latest; (path, runs, unreadable)."""
    runs, unreadable = find_runs(reports_dir)
    path = reports_dir / HISTORY_FILE
    with atomic_output(path) as tmp:
        tmp.write_text(render_history(runs, unreadable), encoding="utf-8")
    update_latest(reports_dir)
    return path, len(runs), unreadable
