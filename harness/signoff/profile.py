"""The device's ONNX Runtime profile (contract v3 `profile.json`), summarised for the report.

ONNX Runtime's profiler writes a JSON array of Chrome-trace events. The ones read here:
`{"cat": "Node", "name": "<node>_kernel_time", "dur": <µs>, "args": {"op_name": "MatMul", ...}}`
(one per node per run) and `{"cat": "Session", "name": "model_run", "dur": <µs>}` (one per run).
The file comes from the device: untrusted, bounded before it is read (PROFILE_MAX_BYTES), parsed
strictly; anything wrong is a ProfileError whose message the report shows. A profile never
changes a verdict."""

from __future__ import annotations

import math
import re
from typing import Any

from harness.android.device_result import _Where
from harness.errors import ContractError

PROFILE_FILE = "profile.json"
PROFILE_MAX_BYTES = 16 * 1024 * 1024
MAX_EVENTS = 500_000
TOP_OPS = 10
MAX_DUR_US = 1e10  # 2.8 hours: no single event of a sign-off run lasts this long
_OP_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class ProfileError(ValueError):
    """profile.json is missing, too large, truncated or not an ONNX Runtime profile."""


def summarise_profile(data: bytes, source: str = PROFILE_FILE, top: int = TOP_OPS) -> dict[str, Any]:
    """{"top_ops": [{"op_type", "ms", "share", "count"}, ...] (at most `top`, by total time,
    largest first; share of node_ms_total, so the shares sum to <= 1), "node_ms_total" (every
    operator's kernel time), "run_ms_total" (the model_run events), "runs", "op_types"}.
    Raises ProfileError naming what is wrong."""
    try:
        events = _Where(source).load_json(data, PROFILE_MAX_BYTES)
    except ContractError as err:
        raise ProfileError(err.problem) from None
    if not isinstance(events, list):
        raise ProfileError("not an ONNX Runtime profile (expected a JSON array of events)")
    if len(events) > MAX_EVENTS:
        raise ProfileError(f"{len(events)} events, more than {MAX_EVENTS}")
    by_op: dict[str, list[float]] = {}
    run_us, runs = 0.0, 0
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise ProfileError(f"event {i} is not an object")
        cat, name = event.get("cat"), event.get("name")
        if cat == "Session" and name == "model_run":
            run_us += _duration(event, i)
            runs += 1
        elif cat == "Node" and isinstance(name, str) and name.endswith("_kernel_time"):
            args = event.get("args")
            op = args.get("op_name") if isinstance(args, dict) else None
            if not isinstance(op, str) or not _OP_NAME.fullmatch(op):
                raise ProfileError(f"event {i} ({name[:60]!r}) has no valid args.op_name")
            totals = by_op.setdefault(op, [0.0, 0])
            totals[0] += _duration(event, i)
            totals[1] += 1
    node_us = sum(t[0] for t in by_op.values())
    if not by_op:
        raise ProfileError("no operator (Node kernel_time) events")
    ranked = sorted(by_op.items(), key=lambda item: (-item[1][0], item[0]))[:top]
    return {
        "top_ops": [
            {
                "op_type": op,
                "ms": round(us / 1000, 4),
                "share": round(us / node_us, 4) if node_us > 0 else 0.0,
                "count": int(count),
            }
            for op, (us, count) in ranked
        ],
        "node_ms_total": round(node_us / 1000, 4),
        "run_ms_total": round(run_us / 1000, 4),
        "runs": runs,
        "op_types": len(by_op),
    }


def _duration(event: dict[str, Any], index: int) -> float:
    dur = event.get("dur")
    if isinstance(dur, bool) or not isinstance(dur, int | float) or not math.isfinite(dur):
        raise ProfileError(f"event {index} has no finite dur")
    if not 0 <= dur < MAX_DUR_US:
        raise ProfileError(f"event {index} has dur {dur!r} µs, outside [0, {MAX_DUR_US:g})")
    return float(dur)
