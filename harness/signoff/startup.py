"""Start-up and memory of one model on one device, the way TFLite's benchmark_model reports them
(device contract v4): model load, the first (cold) inference, the warm-up, the steady-state
percentiles, and the process's resident-memory deltas during the load and the inferences.
Diagnostics only: nothing here is a gate."""

from __future__ import annotations

from typing import Any

from harness.android.contract import DeviceResult
from harness.evaluation.metrics import percentiles

# result.json's memoryKb keys -> signoff.json's
MEMORY_FIELDS = {
    "beforeLoad": "before_load",
    "peakLoad": "peak_load",
    "afterLoad": "after_load",
    "peakInference": "peak_inference",
}


def _delta(peak: int | None, start: int | None) -> int | None:
    """A phase's peak over its start, in kB; None when either was not read."""
    return None if peak is None or start is None else peak - start


def startup_summary(result: DeviceResult, warmup_runs: int) -> dict[str, Any]:
    """devices[].models[].startup in signoff.json: load_ms, cold_ms, warmup_ms (all `warmup_runs`
    runs together), p50_ms/p90_ms/p99_ms and samples (the timed runs), memory_kb (the device's
    four readings, None where unread), load_delta_kb (peak_load - before_load) and
    inference_delta_kb (peak_inference - after_load); None for what the device did not report.
    The contract guarantees a peak is never below its start, so a delta is never negative."""
    steady = percentiles(list(result.latency_ms))
    memory = result.memory_kb
    readings = {ours: (memory.get(theirs) if memory else None) for theirs, ours in MEMORY_FIELDS.items()}
    return {
        "load_ms": result.load_ms,
        "cold_ms": result.cold_ms,
        "warmup_ms": result.warmup_ms,
        "warmup_runs": warmup_runs,
        "p50_ms": steady.get("p50"),
        "p90_ms": steady.get("p90"),
        "p99_ms": steady.get("p99"),
        "samples": len(result.latency_ms),
        "memory_kb": readings if memory else None,
        "load_delta_kb": _delta(readings["peak_load"], readings["before_load"]),
        "inference_delta_kb": _delta(readings["peak_inference"], readings["after_load"]),
    }
