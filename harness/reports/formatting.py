"""Formatters and labels shared by the sign-off reports: numbers, milliseconds, bytes, a device's
label, a gate's message. A missing or non-finite figure prints as "—", never as "nan"."""

from __future__ import annotations

import math
from typing import Any

from harness.gates import Gate
from harness.signoff.results import DeviceRun

# Props the report and manifest show; anything else stays in signoff.json only.
PROP_ABI = "ro.product.cpu.abi"
PROP_SDK = "ro.build.version.sdk"
PROP_RELEASE = "ro.build.version.release"


def as_finite(value: Any) -> float | None:
    """A finite float, or None: report cells must not show 'nan' as if it were a measurement."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_value(value: Any, digits: int = 6) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    number = as_finite(value)
    if number is None:
        return str(value) if not isinstance(value, float) else "—"
    if isinstance(value, int):
        return str(value)
    return f"{number:.{digits}g}"


def fmt_cos(value: Any) -> str:
    number = as_finite(value)
    return "—" if number is None else f"{number:.6f}"


def fmt_ms(value: Any) -> str:
    number = as_finite(value)
    return "—" if number is None else f"{number:.1f}"


def fmt_pct(value: Any) -> str:
    number = as_finite(value)
    return "—" if number is None else f"{number:.1%}"


def fmt_bytes(value: Any) -> str:
    number = as_finite(value)
    return "—" if number is None else f"{number / 1e6:.1f} MB"


def device_label(device: DeviceRun) -> str:
    return f"{device.serial} ({device.model_name})" if device.model_name else device.serial


def gate_message(gate: Gate) -> str:
    message = f"{gate.name}: {fmt_value(gate.value)} vs threshold {fmt_value(gate.threshold)}"
    return f"{message} ({gate.detail})" if gate.detail else message


def needs_attention(device: DeviceRun) -> bool:
    # A device left "pending" never finished; it is as much a problem as one that errored.
    return bool(device.error) or device.status not in ("passed", "failed")
