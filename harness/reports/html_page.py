"""signoff.html: one self-contained page (no scripts, no network) rendered from
templates/signoff.html.j2; the plots are inline SVG from svg.py."""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from harness.reports.formatting import (
    PROP_ABI,
    PROP_RELEASE,
    PROP_SDK,
    as_finite,
    device_label,
    fmt_bytes,
    fmt_cos,
    fmt_ms,
    fmt_pct,
    fmt_value,
    needs_attention,
)
from harness.reports.json_report import summarize
from harness.reports.svg import cosine_histogram_svg, latency_svg
from harness.signoff.results import DeviceRun, ModelOnDevice, SignoffRun

HTML_TEMPLATE = "signoff.html.j2"


def render_html(run: SignoffRun) -> str:
    # autoescape=True rather than select_autoescape: the template is *.html.j2, which
    # select_autoescape's extension check would not treat as HTML.
    env = Environment(
        loader=PackageLoader("harness.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["value"] = fmt_value
    env.filters["cos"] = fmt_cos
    env.filters["ms"] = fmt_ms
    env.filters["pct"] = fmt_pct
    env.filters["mb"] = fmt_bytes
    env.filters["breakable"] = _breakable
    return env.get_template(HTML_TEMPLATE).render(**_html_context(run))


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
        host_rows.append({"model": model, "quality": flat})
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
    return {
        "run": run,
        "summary": summarize(run),
        "matrix": matrix,
        "host_rows": host_rows,
        "quality_keys": quality_keys,
        "device_info": [_device_info(d) for d in run.devices],
        "errors": [d for d in run.devices if needs_attention(d)],
        "cosine_plots": [
            {"label": label, "svg": cosine_histogram_svg(values, threshold=threshold, title=label)}
            for label, values, threshold in cosine_series
        ],
        "latency_plot": latency_svg(latency_series),
        "settings": _flatten(run.settings),
    }


def _breakable(text: str) -> Markup:
    # Flattened quality keys are long dotted names; let headers wrap at the dots, not mid-word.
    return Markup("<wbr>").join(re.split(r"(?<=[._])", str(text)))


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
            "abi": device.props.get(PROP_ABI, ""),
            "sdk": device.props.get(PROP_SDK, ""),
            "release": device.props.get(PROP_RELEASE, ""),
            "server": device.server,
            "stage": device.stage,
            "seconds": f"{device.seconds:.1f}" if as_finite(device.seconds) is not None else "",
        },
        "health": _flatten(device.health),
        "instrumentation": _flatten(device.instrumentation),
    }


def _gate_threshold(model: ModelOnDevice, name: str) -> float | None:
    return next((as_finite(g.threshold) for g in model.gates if g.name == name), None)
