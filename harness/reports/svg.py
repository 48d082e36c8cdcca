"""Inline SVG plots for signoff.html: the parity-cosine histogram and the per-text latency plot.
Hand-written SVG keeps the page self-contained and offline: no JS library, no matplotlib.

A plot draws only what can be drawn and says what it left out: values that are not finite or out
of range (a cosine outside -1..1, a latency below 0 or above MAX_LATENCY_MS) are skipped and
counted in a note under the plot; at most MAX_DOTS samples per row are drawn as dots (evenly
chosen, the box and whiskers still use every sample). Neither function raises on its data."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

from markupsafe import Markup

from harness.reports.formatting import as_finite, as_text

MAX_DOTS = 400  # latency dots per row; more are summarised by the box, not drawn
MAX_LATENCY_MS = 1e7  # ~2.8 h per text: anything above is not a latency this plot can show
_COSINE_RANGE = (-1.0 - 1e-6, 1.0 + 1e-6)  # float rounding puts a few cosines a hair above 1

_SVG_FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"
_PALETTE = ("#3366cc", "#dc7633", "#2e9e5b", "#8e44ad", "#c0392b", "#17a2b8", "#b7950b", "#566573")


def _esc(text: Any) -> str:
    return html.escape(as_text(text), quote=True)


def _drawable(values: Any, lo: float, hi: float) -> tuple[list[float], int]:
    """The values that can be drawn (finite, within lo..hi) and how many were not."""
    try:
        items = list(values or [])
    except Exception:
        return [], 0
    kept = [v for v in (as_finite(x) for x in items) if v is not None and lo <= v <= hi]
    return kept, len(items) - len(kept)


def _skipped_note(skipped: int, what: str) -> str:
    return f" · {skipped} {what} not drawn" if skipped else ""


def _decimals_for(span: float) -> int:
    # Parity cosines live in 0.999..1.0; ticks need enough decimals to differ from each other.
    if span <= 0:
        return 6
    return min(8, max(2, math.ceil(-math.log10(span)) + 1))


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _nice_max(value: float) -> float:
    """Smallest 1/2/2.5/5 x 10^k at or above `value`: an axis end that gets a round label."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * magnitude >= value * (1 - 1e-12))


def cosine_histogram_svg(
    values: Sequence[float], *, threshold: float | None = None, title: str = "", bins: int = 20
) -> Markup | None:
    """Histogram of per-text parity cosines, binned on the data's own range (they cluster just
    below 1.0, so fixed 0..1 bins would put every text in one bar). None when there is no data."""
    finite, skipped = _drawable(values, *_COSINE_RANGE)
    if not finite:
        return None
    title = as_text(title)
    threshold = as_finite(threshold)
    lo, hi = min(finite), max(finite)
    if hi - lo < 1e-9:
        # All texts identical (often exactly 1.0): a tiny window keeps one visible bar centred.
        lo, hi = lo - 5e-7, hi + 5e-7
    counts = [0] * bins
    width = (hi - lo) / bins
    for value in finite:
        counts[min(bins - 1, int((value - lo) / width))] += 1

    w, h = 420, 230
    left, right, top, bottom = 48, 14, 28, 52
    plot_w, plot_h = w - left - right, h - top - bottom
    peak = max(counts)
    y_ticks = _nice_ticks(0, peak, 4) if peak > 1 else [0, 1]
    if y_ticks[-1] < peak:
        # Headroom to the next tick, so the tallest bar does not end on an unlabelled edge.
        y_ticks.append(y_ticks[-1] + (y_ticks[1] - y_ticks[0]))
    y_max = y_ticks[-1]

    def x_of(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_w

    def y_of(c: float) -> float:
        return top + plot_h - c / y_max * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot cosine-hist" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="{_esc("parity cosine histogram " + title)}" '
        f'style="{_SVG_FONT}">',
        f"<title>{_esc(title)}: parity cosine per text, n={len(finite)}</title>",
        f'<text x="{left}" y="16" font-size="12" font-weight="600">{_esc(_shorten(title, 58))}</text>',
    ]
    for tick in y_ticks:
        y = y_of(tick)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{tick:g}</text>')
    bar_w = plot_w / bins
    for index, count in enumerate(counts):
        if not count:
            continue
        x0 = left + index * bar_w
        y = y_of(count)
        b_lo = lo + index * width
        parts.append(
            f'<rect x="{x0 + 0.5:.1f}" y="{y:.1f}" width="{max(1.0, bar_w - 1):.1f}" height="{top + plot_h - y:.1f}" '
            f'fill="#3366cc"><title>{b_lo:.7f} – {b_lo + width:.7f}: {count}</title></rect>'
        )
    decimals = _decimals_for(hi - lo)
    for tick in _nice_ticks(lo, hi, 5):
        x = x_of(tick)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="#333"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" font-size="10" text-anchor="middle">{tick:.{decimals}f}</text>'
        )
    if threshold is not None and lo <= threshold <= hi:
        x = x_of(threshold)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#c0392b" '
            f'stroke-dasharray="4 3"><title>gate {threshold:g}</title></line>'
        )
    parts += [
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#333"/>',
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#333"/>',
        f'<text x="{left + plot_w / 2}" y="{h - 18}" font-size="11" text-anchor="middle">'
        f"cosine, device vs host (same model file)</text>",
        f'<text x="{left + plot_w / 2}" y="{h - 5}" font-size="10" text-anchor="middle" fill="#666">'
        f"n={len(finite)} · min {min(finite):.6f} · {_threshold_note(threshold, min(finite))}"
        f"{_esc(_skipped_note(skipped, 'values (not finite or outside −1…1)'))}</text>",
        f'<text transform="translate(12 {top + plot_h / 2}) rotate(-90)" font-size="11" '
        f'text-anchor="middle">texts</text>',
        "</svg>",
    ]
    return Markup("".join(parts))


def _shorten(text: Any, limit: int) -> str:
    # SVG text does not wrap; a long serial would run off the plot.
    text = as_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _threshold_note(threshold: float | None, minimum: float) -> str:
    if threshold is None:
        return "no parity gate"
    return f"gate ≥ {threshold:g}" + (" (all above)" if minimum >= threshold else " (BELOW)")


def latency_svg(
    series: Iterable[tuple[str, str, Sequence[float], dict[str, float], float | None]],
) -> Markup | None:
    """One row per device × model: a box (p25–p75, median) with min–max whiskers and every
    sample as a dot, on one shared millisecond axis so devices compare at a glance. Rows with only
    summary percentiles get p50/p90/p99 markers. None when no row has anything to draw."""
    rows = []
    skipped = 0
    for serial, model_id, samples, summary, budget in series:
        finite, dropped = _drawable(samples, 0.0, MAX_LATENCY_MS)
        skipped += dropped
        summary = summary if isinstance(summary, dict) else {}
        marks = {k: as_finite(summary.get(k)) for k in ("p50", "p90", "p99")}
        skipped += sum(
            summary.get(k) is not None and (v is None or not 0 <= v <= MAX_LATENCY_MS) for k, v in marks.items()
        )
        marks = {k: v for k, v in marks.items() if v is not None and 0 <= v <= MAX_LATENCY_MS}
        budget = as_finite(budget)
        budget = budget if budget is not None and 0 < budget <= MAX_LATENCY_MS else None
        rows.append((_shorten(serial, 40), _shorten(model_id, 40), sorted(finite), marks, budget))
    if not any(r[2] or r[3] for r in rows):
        return None

    values = [v for r in rows for v in r[2]] + [v for r in rows for v in r[3].values()]
    budgets = [r[4] for r in rows if r[4] is not None]
    hi = max(values)
    # Show the budget line only when it would not squash the data into a corner.
    if budgets and min(budgets) <= hi * 2:
        hi = max(hi, *budgets)
    hi = _nice_max(hi * 1.02)

    # The right margin holds each row's p50/n label, so it never sits on top of the box.
    label_w, right, top, row_h, bottom = 250, 120, 34, 40, 44
    w = 900
    plot_w = w - label_w - right
    h = top + row_h * len(rows) + bottom

    def x_of(v: float) -> float:
        return label_w + v / hi * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot latency" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="latency per text" style="{_SVG_FONT}">',
        "<title>Latency per text (ms), batch of one</title>",
        f'<text x="{label_w}" y="16" font-size="12" font-weight="600">'
        f"Latency per text (ms) · box p25–p75, line = p50, whiskers min–max, dots = samples</text>",
    ]
    for tick in _nice_ticks(0, hi, 6):
        x = x_of(tick)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + row_h * len(rows)}" stroke="#e5e5e5"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{top + row_h * len(rows) + 14}" font-size="10" text-anchor="middle">{tick:g}</text>'
        )
    for index, (serial, model_id, samples, marks, budget) in enumerate(rows):
        color = _PALETTE[index % len(_PALETTE)]
        mid = top + row_h * index + row_h / 2
        parts.append(
            f'<text x="{label_w - 8}" y="{mid - 2:.1f}" font-size="11" text-anchor="end">{_esc(model_id)}</text>'
            f'<text x="{label_w - 8}" y="{mid + 11:.1f}" font-size="10" text-anchor="end" fill="#666">'
            f"{_esc(serial)}</text>"
        )
        if samples:
            q1, med, q3 = (_quantile(samples, q) for q in (0.25, 0.5, 0.75))
            lo_s, hi_s = samples[0], samples[-1]
            parts.append(
                f'<line x1="{x_of(lo_s):.1f}" x2="{x_of(hi_s):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="{color}"/>'
                f'<rect x="{x_of(q1):.1f}" y="{mid - 10:.1f}" width="{max(1.0, x_of(q3) - x_of(q1)):.1f}" '
                f'height="20" fill="{color}" fill-opacity="0.25" stroke="{color}"/>'
                f'<line x1="{x_of(med):.1f}" x2="{x_of(med):.1f}" y1="{mid - 10:.1f}" y2="{mid + 10:.1f}" '
                f'stroke="{color}" stroke-width="2.5"/>'
            )
            for n, value in _thinned(samples):
                # Deterministic jitter: the same run renders the same page.
                jitter = ((n * 7919) % 13 - 6) * 1.1
                parts.append(
                    f'<circle cx="{x_of(value):.1f}" cy="{mid + jitter:.1f}" r="1.8" fill="{color}" '
                    f'fill-opacity="0.6"/>'
                )
            parts.append(
                f'<text x="{label_w + plot_w + 10}" y="{mid + 4:.1f}" font-size="10" fill="#333">'
                f"p50 {med:.1f} · n={len(samples)}</text>"
            )
        elif marks:
            for key, value in marks.items():
                x = x_of(value)
                parts.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{mid - 9:.1f}" y2="{mid + 9:.1f}" stroke="{color}" '
                    f'stroke-width="2"/><text x="{x:.1f}" y="{mid - 12:.1f}" font-size="9" '
                    f'text-anchor="middle">{key}</text>'
                )
        else:
            parts.append(
                f'<text x="{label_w + 6}" y="{mid + 4:.1f}" font-size="11" fill="#999">no latency samples</text>'
            )
        if budget is not None and budget <= hi:
            x = x_of(budget)
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{mid - 16:.1f}" y2="{mid + 16:.1f}" stroke="#c0392b" '
                f'stroke-dasharray="4 3"><title>p50 budget {budget:g} ms</title></line>'
            )
    axis_y = top + row_h * len(rows)
    parts += [
        f'<line x1="{label_w}" x2="{label_w + plot_w}" y1="{axis_y}" y2="{axis_y}" stroke="#333"/>',
        f'<text x="{label_w + plot_w / 2}" y="{axis_y + 32}" font-size="11" text-anchor="middle">'
        f"milliseconds per text · {_budget_note(budgets, hi)}"
        f"{_esc(_skipped_note(skipped, 'values (not finite, negative or over 10⁷ ms)'))}"
        f"{_esc(_dots_note(rows))}</text>",
        "</svg>",
    ]
    return Markup("".join(parts))


def _thinned(samples: Sequence[float]) -> list[tuple[int, float]]:
    """At most MAX_DOTS (index, value) pairs, evenly spread over the sorted samples."""
    if len(samples) <= MAX_DOTS:
        return list(enumerate(samples))
    step = len(samples) / MAX_DOTS
    return [(n, samples[int(n * step)]) for n in range(MAX_DOTS)]


def _dots_note(rows: Sequence[tuple[Any, ...]]) -> str:
    thinned = sum(len(r[2]) > MAX_DOTS for r in rows)
    return f" · dots: {MAX_DOTS} per row on {thinned} row(s) with more samples" if thinned else ""


def _budget_note(budgets: Sequence[float], axis_max: float) -> str:
    if not budgets:
        return "no p50 budget gate"
    shown = [b for b in budgets if b <= axis_max]
    if shown:
        return "red dashes: p50 budget"
    return f"p50 budget {min(budgets):g} ms is off this scale"


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    # Linear interpolation, as numpy.percentile's default, without needing an array.
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


MAX_OP_BARS = 12


def top_ops_svg(top_ops: Any, *, title: str = "", run_ms_total: Any = None) -> Markup | None:
    """Horizontal bars of the device profile's top operator types (harness.signoff.profile):
    total kernel time per op type, with its share of all operators' time and its node count.
    Entries that are not {op_type, ms >= 0, share in 0..1} are skipped and counted in a note.
    None when nothing can be drawn."""
    try:
        items = list(top_ops or [])[:MAX_OP_BARS]
    except Exception:
        return None
    rows: list[tuple[str, float, float | None, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        ms, share = as_finite(item.get("ms")), as_finite(item.get("share"))
        if ms is None or ms < 0 or ms > MAX_LATENCY_MS:
            continue
        rows.append(
            (
                _shorten(item.get("op_type"), 28),
                ms,
                share if share is not None and 0 <= share <= 1 else None,
                item.get("count"),
            )
        )
    if not rows:
        return None
    skipped = len(items) - len(rows)
    title = as_text(title)
    w, bar_h, gap = 460, 16, 5
    left, right, top, bottom = 170, 110, 28, 30
    plot_w = w - left - right
    h = top + len(rows) * (bar_h + gap) + bottom
    peak = max(ms for _, ms, _, _ in rows) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot top-ops" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="{_esc("top operators " + title)}" style="{_SVG_FONT}">',
        f"<title>{_esc(title)}: operator types by total kernel time (device profile)</title>",
        f'<text x="8" y="16" font-size="12" font-weight="600">{_esc(_shorten(title, 64))}</text>',
    ]
    for index, (op, ms, share, count) in enumerate(rows):
        y = top + index * (bar_h + gap)
        length = max(1.0, ms / peak * plot_w)
        share_text = f" · {share * 100:.1f}%" if share is not None else ""
        count_text = f" · {_esc(count)} nodes" if as_finite(count) is not None else ""
        parts.append(
            f'<text x="{left - 6}" y="{y + bar_h - 4}" font-size="11" text-anchor="end" '
            f'font-family="monospace">{_esc(op)}</text>'
        )
        parts.append(
            f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar_h}" fill="{_PALETTE[0]}">'
            f"<title>{_esc(op)}: {ms:.3f} ms{share_text}{count_text}</title></rect>"
        )
        parts.append(
            f'<text x="{left + length + 4:.1f}" y="{y + bar_h - 4}" font-size="10">{ms:.2f} ms{share_text}</text>'
        )
    run_ms = as_finite(run_ms_total)
    note = f"profiled runs: {run_ms:.2f} ms in total" if run_ms is not None else ""
    note += _skipped_note(skipped, "entries (not a time)")
    parts += [
        f'<text x="8" y="{h - 10}" font-size="10" fill="#666">{_esc(note)}</text>',
        "</svg>",
    ]
    return Markup("".join(parts))
