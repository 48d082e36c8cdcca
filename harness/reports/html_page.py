"""signoff.html: one self-contained page (no scripts, no network) rendered from
templates/signoff.html.j2; the plots are inline SVG from svg.py. The run is read through
`sanitized`; every value goes out autoescaped and, through the `finalize` hook, cleaned and
bounded (CELL_LIMIT characters), so no device value can break the page or the writer."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from harness.gates import Gate
from harness.reports.baseline_section import baseline_rows, baseline_title
from harness.reports.formatting import (
    DASH,
    PROP_ABI,
    PROP_RELEASE,
    PROP_SDK,
    as_finite,
    clean_text,
    device_label,
    fmt_bytes,
    fmt_cos,
    fmt_duration,
    fmt_kb,
    fmt_kb_delta,
    fmt_ms,
    fmt_pct,
    fmt_seconds,
    fmt_size,
    fmt_value,
    gate_needs,
    gate_value,
    needs_attention,
)
from harness.reports.json_report import summarize
from harness.reports.sanitize import sanitized
from harness.reports.svg import cosine_histogram_svg, latency_svg, top_ops_svg
from harness.reports.verdict import verdict_of
from harness.signoff.results import DeviceRun, ModelOnDevice, SignoffRun

HTML_TEMPLATE = "signoff.html.j2"
CELL_LIMIT = 4000  # characters of one value on the page; signoff.json keeps more
WORST_TEXTS = 5  # texts per model in the worst-cases tables
TABLE_ROWS = 300  # rows of one flattened health / instrumentation / settings table


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup) or value is None or isinstance(value, bool | int | float):
        return value
    return clean_text(value, CELL_LIMIT)


def render_html(run: SignoffRun) -> str:
    return _environment().get_template(HTML_TEMPLATE).render(**_html_context(sanitized(run)))


@functools.cache
def _environment() -> Environment:
    # autoescape=True rather than select_autoescape: the template is *.html.j2, which
    # select_autoescape's extension check would not treat as HTML.
    env = Environment(
        loader=PackageLoader("harness.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters["value"] = fmt_value
    env.filters["cos"] = fmt_cos
    env.filters["ms"] = fmt_ms
    env.filters["pct"] = fmt_pct
    env.filters["mb"] = fmt_bytes
    env.filters["kb"] = fmt_kb
    env.filters["size"] = fmt_size
    env.filters["gate_value"] = gate_value
    env.filters["gate_needs"] = gate_needs
    env.filters["kb_delta"] = fmt_kb_delta
    env.filters["duration"] = fmt_duration
    env.filters["breakable"] = _breakable
    env.filters["quality_label"] = lambda key: QUALITY_COLUMNS.get(key, (key, None))[0]
    env.filters["quality_cell"] = _quality_cell
    env.filters["health_cell"] = _health_cell
    return env


def _html_context(run: SignoffRun) -> dict[str, Any]:
    model_ids: list[str] = [m.model_id for m in run.models]
    for device in run.devices:
        model_ids += [m.model_id for m in device.models if m.model_id not in model_ids]
    matrix = [
        {
            "model_id": model_id,
            "cells": [next((m for m in d.models if m.model_id == model_id), None) for d in run.devices],
        }
        for model_id in model_ids
    ]
    quality_keys: list[str] = []
    host_rows = []
    for model in run.models:
        flat = _flatten(model.quality)
        quality_keys += [k for k in flat if k not in quality_keys]
        host_rows.append({"model": model, "quality": flat, "recipe": _bounded_rows(_flatten(model.recipe))})
    quality_keys = quality_keys[:TABLE_ROWS]
    cosine_series = [
        (f"{d.serial} · {m.model_id}", m.parity_cosines, _gate_threshold(m, "parity_min_cosine"))
        for d in run.devices
        for m in d.models
    ]
    latency_series = [
        (d.serial, m.model_id, m.latency_samples_ms, m.latency_ms, _gate_threshold(m, "latency_p50_ms"))
        for d in run.devices
        for m in d.models
    ]
    verdict = verdict_of(run)
    return {
        "run": run,
        "verdict": verdict,
        "failed_rows": [_failed_row(f.where, f.model_id, f.gate) for f in verdict.failed_gates],
        "summary": summarize(run),
        "matrix": matrix,
        "host_rows": host_rows,
        "quality_keys": quality_keys,
        "device_info": [_device_info(d) for d in run.devices],
        # a device that needs attention, or failed a gate with log lines worth reading first
        "errors": [d for d in run.devices if needs_attention(d) or d.logcat_excerpt],
        "cosine_plots": [
            {"label": label, "svg": cosine_histogram_svg(values, threshold=threshold, title=label)}
            for label, values, threshold in cosine_series
        ],
        "latency_plot": latency_svg(latency_series),
        "worst_texts": [w for d in run.devices for m in d.models if (w := _worst_texts(run, d, m))],
        "profiles": [_profile_entry(d, m) for d in run.devices for m in d.models if m.profile or m.profile_error],
        "settings": _bounded_rows(_flatten(run.settings)),
        "baseline_rows": baseline_rows(run),  # --baseline: the side-by-side comparison
        "baseline_title": baseline_title(run),
    }


def _failed_row(where: str, model_id: str, gate: Gate) -> dict[str, str]:
    """A failed gate for the box at the top: value and threshold with the gate's unit, the
    operator the value needed."""
    return {
        "where": where,
        "model_id": model_id,
        "gate": gate.name,
        "value": gate_value(gate),
        "needs": gate_needs(gate),
        "why": gate.detail or "",
    }


def _breakable(text: str) -> Markup:
    # Flattened quality keys are long dotted names; let headers wrap at the dots, not mid-word.
    return Markup("<wbr>").join(re.split(r"(?<=[._])", str(text)))


# The host-quality columns a reader sees, and how each figure is written.
QUALITY_COLUMNS: dict[str, tuple[str, Callable[[Any], str] | None]] = {
    "mean_cosine_vs_fp32": ("Cosine vs FP32, mean", fmt_cos),
    "p5_cosine_vs_fp32": ("Cosine vs FP32, p5", fmt_cos),
    "sts_spearman": ("STS-B Spearman", fmt_cos),
    "sts_retention": ("STS-B retention", fmt_pct),
    "xquad_top1": ("XQuAD top-1", fmt_pct),
    "xquad_top1_retention": ("XQuAD top-1 retention", fmt_pct),
    "xquad_ndcg10_retention": ("XQuAD nDCG@10 retention", fmt_pct),
    "sts_pairs": ("STS-B pairs", fmt_value),
    "xquad_queries": ("XQuAD questions", fmt_value),
}


def _quality_cell(value: Any, key: str) -> str:
    return (QUALITY_COLUMNS.get(key, (key, None))[1] or fmt_value)(value)


def _health_cell(value: Any, key: str) -> str:
    """Sizes in human units, temperatures in degrees; the rest as values."""
    if key.endswith("_bytes"):
        return fmt_size(value)
    if key.endswith("_celsius"):
        number = as_finite(value)
        return DASH if number is None else f"{number:.1f} °C"
    return fmt_value(value)


def _bounded_rows(flat: dict[str, Any]) -> dict[str, Any]:
    if len(flat) <= TABLE_ROWS:
        return flat
    kept = dict(list(flat.items())[:TABLE_ROWS])
    kept["…"] = f"{len(flat) - TABLE_ROWS} more entries in signoff.json"
    return kept


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _device_info(device: DeviceRun) -> dict[str, Any]:
    return {
        "device": device,
        "label": device_label(device),
        "props": {
            "model": device.model_name,
            "manufacturer": device.props.get("ro.product.manufacturer", ""),
            "hardware": device.props.get("ro.soc.model") or device.props.get("ro.hardware", ""),
            "fingerprint": device.props.get("ro.build.fingerprint", ""),
            "abi": device.props.get(PROP_ABI, ""),
            "sdk": device.props.get(PROP_SDK, ""),
            "release": device.props.get(PROP_RELEASE, ""),
            "server": device.server,
            "stage": device.stage,
            "seconds": fmt_seconds(device.seconds),
        },
        "health": _bounded_rows(_flatten(device.health)),
        "instrumentation": _bounded_rows(_flatten({k: v for k, v in device.instrumentation.items() if k != "tests"})),
        "tests": _test_rows(device.instrumentation.get("tests")),
    }


def _test_rows(tests: Any) -> list[dict[str, str]]:
    """The instrumentation's tests (InstrumentationRun.to_dict()['tests']) as table rows: name,
    status, metrics as `key=value` pairs, the stack; at most TABLE_ROWS, anything malformed
    skipped (the run was sanitized, so every value is already bounded JSON-like data)."""
    rows = []
    for test in tests if isinstance(tests, list) else []:
        if not isinstance(test, dict):
            continue
        metrics = test.get("metrics") if isinstance(test.get("metrics"), dict) else {}
        rows.append(
            {
                "name": clean_text(test.get("test_name"), 200),
                "class_name": clean_text(test.get("class_name"), 200),
                "status": clean_text(test.get("status"), 40),
                "metrics": " · ".join(f"{clean_text(k, 60)}={clean_text(v, 200)}" for k, v in metrics.items()),
                "stack": clean_text(test.get("stack"), CELL_LIMIT),
            }
        )
    return rows[:TABLE_ROWS]


def _lowest(values: Any, texts: list[str]) -> list[dict[str, Any]]:
    """The WORST_TEXTS lowest finite values of a per-text list: 1-based index, the text, the value."""
    if not isinstance(values, list):
        return []
    finite = [(v, i) for i, value in enumerate(values) if (v := as_finite(value)) is not None]
    return [
        {"index": i + 1, "text": clean_text(texts[i], 200) if i < len(texts) else "", "cosine": v}
        for v, i in sorted(finite)[:WORST_TEXTS]
    ]


def _worst_texts(run: SignoffRun, device: DeviceRun, model: ModelOnDevice) -> dict[str, Any] | None:
    """One model on one device: the texts with the lowest parity cosine and the lowest cosine vs
    host FP32; None when it has neither."""
    texts = [t if isinstance(t, str) else "" for t in run.texts] if isinstance(run.texts, list) else []
    parity, fp32 = _lowest(model.parity_cosines, texts), _lowest(model.fp32_cosines, texts)
    if not parity and not fp32:
        return None
    return {"label": f"{device.serial} · {model.model_id}", "parity": parity, "fp32": fp32}


def _gate_threshold(model: ModelOnDevice, name: str) -> float | None:
    return next((as_finite(g.threshold) for g in model.gates if g.name == name), None)


def _profile_entry(device: DeviceRun, model: ModelOnDevice) -> dict[str, Any]:
    """One model's device profile: its top operators as bars, or why there are none."""
    label = f"{device.serial} · {model.model_id}"
    profile = model.profile if isinstance(model.profile, dict) else {}
    svg = top_ops_svg(profile.get("top_ops"), title=label, run_ms_total=profile.get("run_ms_total"))
    error = model.profile_error or (None if svg is not None else "the profile has no operator times")
    return {"label": label, "svg": svg, "error": error, "pass_ms": profile.get("pass_ms")}
