"""`report diff RUN_A RUN_B`: every gate value and figure that changed between two runs, per
model and device. Devices are matched by device model and ABI (harness.signoff.baseline), so a
new serial is the same phone; a model or a device in only one run is a row saying so.

A run is flattened to `(where, model_id, figure) -> value`: host figures (size, sha256, preset,
every quality figure, every host gate's value and verdict), device figures (parity, vs_fp32,
end_to_end, latency, every device gate's value and verdict) and run-level ones (verdict)."""

from __future__ import annotations

import html
import math
from typing import Any

from harness.reports.formatting import fmt_value
from harness.signoff.baseline import HOST, ONLY_BASELINE, ONLY_HERE, device_key, pair_devices

Key = tuple[str, str, str]  # where, model ID, figure
RUN = "run"


def _flat(prefix: str, data: Any, out: dict[str, Any]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), value, out)
    elif not isinstance(data, list):  # per-text and per-sample lists are summarised elsewhere
        out[prefix] = data


def _model_figures(model: dict[str, Any], blocks: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"model_id": model.get("model_id")}  # present even when nothing else is
    for key in ("sha256", "size_bytes", "preset", "passed", "error"):
        if key in model:
            out[key] = model[key]
    for block in blocks:
        _flat(block, model.get(block) or {}, out)
    for gate in model.get("gates") or []:
        if isinstance(gate, dict) and gate.get("name"):
            out[f"gate.{gate['name']}"] = gate.get("value")
            out[f"gate.{gate['name']}.passed"] = gate.get("passed")
    return out


def flatten_run(run: dict[str, Any], keys: dict[int, str]) -> dict[Key, Any]:
    """One run's figures; `keys`: device index -> the name it is compared under."""
    figures: dict[Key, Any] = {(RUN, "", "verdict"): run.get("verdict")}
    for model in run.get("models") or []:
        model_id = str(model.get("model_id"))
        for name, value in _model_figures(model, ("quality",)).items():
            figures[(HOST, model_id, name)] = value
    for index, device in enumerate(run.get("devices") or []):
        where = keys.get(index)
        if where is None:
            continue
        figures[(where, "", "status")] = device.get("status")
        for model in device.get("models") or []:
            blocks = ("parity", "end_to_end", "vs_fp32", "latency_ms")
            for name, value in _model_figures(model, blocks).items():
                figures[(where, str(model.get("model_id")), name)] = value
    return figures


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isfinite(a) and math.isfinite(b):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def diff_runs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What changed from run `a` to run `b` (both signoff.json documents, current shape)."""
    devices_a, devices_b = list(a.get("devices") or []), list(b.get("devices") or [])
    keys_a: dict[int, str] = {}
    keys_b: dict[int, str] = {}
    notes: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, j in pair_devices(devices_a, devices_b):
        device = devices_a[i] if i is not None else devices_b[j]  # type: ignore[index]
        name = device_key(device)
        seen[name] = seen.get(name, 0) + 1
        name += f" #{seen[name]}" if seen[name] > 1 else ""  # two phones of one model: in order
        if i is not None:
            keys_a[i] = name
        if j is not None:
            keys_b[j] = name
        if i is None or j is None:
            notes.append({"where": name, "model_id": "", "note": f"device {ONLY_BASELINE if i is None else ONLY_HERE}"})
    flat_a, flat_b = flatten_run(a, keys_a), flatten_run(b, keys_b)
    models_a = {(w, m) for w, m, _ in flat_a if m}
    models_b = {(w, m) for w, m, _ in flat_b if m}
    for where, model_id in sorted(models_a ^ models_b):
        side = "RUN_A" if (where, model_id) in models_a else "RUN_B"
        notes.append({"where": where, "model_id": model_id, "note": f"model only in {side}"})
    changes = []
    for key in list(flat_a) + [k for k in flat_b if k not in flat_a]:
        where, model_id, figure = key
        if model_id and ((where, model_id) not in models_a or (where, model_id) not in models_b):
            continue  # a model in one run only: one note, not a row per figure
        before, after = flat_a.get(key), flat_b.get(key)
        if _same(before, after):
            continue
        change = None
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (before, after)):
            change = after - before  # type: ignore[operator]
        changes.append(
            {"where": where, "model_id": model_id, "figure": figure, "a": before, "b": after, "change": change}
        )
    return {"a": a.get("run_id"), "b": b.get("run_id"), "changes": changes, "notes": notes}


def render_diff_html(diff: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(c['where']))}</td><td>{html.escape(c['model_id'])}</td>"
        f"<td>{html.escape(c['figure'])}</td><td>{html.escape(fmt_value(c['a']))}</td>"
        f"<td>{html.escape(fmt_value(c['b']))}</td><td>{html.escape(fmt_value(c['change']))}</td></tr>"
        for c in diff["changes"]
    )
    notes = "".join(
        f"<li>{html.escape(str(n['where']))} {html.escape(n['model_id'])}: {html.escape(n['note'])}</li>"
        for n in diff["notes"]
    )
    title = f"{diff['a']} → {diff['b']}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>diff {html.escape(title)}</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:24px}table{border-collapse:collapse}"
        "td,th{border:1px solid #d0d7de;padding:3px 8px;font-size:13px}</style></head><body>"
        f"<h1>{html.escape(title)}: {len(diff['changes'])} changed</h1><ul>{notes}</ul>"
        "<table><tr><th>where</th><th>model</th><th>figure</th><th>RUN_A</th><th>RUN_B</th><th>change</th></tr>"
        f"{rows}</table></body></html>\n"
    )
