"""The one place report values become text: numbers, milliseconds, bytes, a device's label, a
gate's message, and strings that came from a device. Every function here takes any value and
never raises: a missing, non-finite or nonsensical figure prints as "—", never as "nan" or a
309-digit number; a device string is cleaned of what XML, HTML or a terminal cannot take."""

from __future__ import annotations

import math
import re
from typing import Any

from harness.gates import Gate
from harness.signoff.results import DeviceRun

# Props the report and manifest show; anything else stays in signoff.json only.
PROP_ABI = "ro.product.cpu.abi"
PROP_SDK = "ro.build.version.sdk"
PROP_RELEASE = "ro.build.version.release"

DASH = "—"
# Above this a fixed-point cell (latency, bytes) would be a wall of digits: scientific instead.
_FIXED_MAX = 1e12

# What XML 1.0 cannot hold and a terminal should not get: C0 and C1 controls and DEL (tab and
# newline are kept by clean_text), lone surrogates (unencodable), U+FFFE/U+FFFF.
_UNSAFE_XML = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# A terminal line also loses tab and newline, and the bidirectional overrides and isolates
# that reorder what is shown ("Trojan Source").
_UNSAFE_TERMINAL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")


def as_finite(value: Any) -> float | None:
    """A finite float, or None: report cells must not show 'nan' as if it were a measurement.
    Never raises (an int too large for a float, an object whose __float__ fails: None)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except Exception:
        return None
    return number if math.isfinite(number) else None


def as_text(value: Any) -> str:
    """str(value) that never raises: None is "", bytes are decoded, an unprintable object is named."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, int) and not isinstance(value, bool):
        return _fmt_int(value)
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def bounded(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying how much was cut."""
    return _bounded(text, len(text), limit)


def _bounded(text: str, total: int, limit: int) -> str:
    # `text` is (a cleaned prefix of) a string `total` characters long.
    if limit <= 0 or total <= limit:
        return text
    kept = max(1, limit - len(f"… [{total} more characters]"))
    return text[:kept] + f"… [{total - kept} more characters]"


def _replace(match: re.Match[str]) -> str:
    return "\ufffd" if "\ud800" <= match.group() <= "\udfff" else ""


def clean_text(value: Any, limit: int = 2000) -> str:
    """Any value as text for a file report (XML, HTML, JSON): controls other than tab and newline
    removed (carriage return too), lone surrogates replaced, at most `limit` characters."""
    text = as_text(value)
    total = len(text)
    text = text[:limit] if 0 < limit < total else text  # clean only what is kept: 1 MB costs nothing
    return _bounded(_UNSAFE_XML.sub(_replace, text.replace("\r\n", "\n")), total, limit)


def terminal_text(value: Any, limit: int = 200) -> str:
    """Any value as one line of terminal text: every C0/C1 control removed (an escape sequence
    loses its ESC and is shown as harmless text; tab and newline become spaces), bidi overrides
    removed, lone surrogates replaced, at most `limit` characters. Rich markup is NOT escaped
    here: use harness.cli.output.safe() for a markup string, or put the result in a rich Text."""
    text = as_text(value)
    total = len(text)
    text = text[:limit] if 0 < limit < total else text
    text = _UNSAFE_TERMINAL.sub(_replace, re.sub(r"[\t\n\r]+", " ", text))
    return _bounded(text, total, limit)


def _fmt_int(value: int) -> str:
    # str() of an int over 4300 digits raises ValueError; 10**400 is a device's "memory" too.
    if abs(value) < 10**15:
        return str(value)
    exponent = math.floor(math.log10(abs(value)))
    mantissa = 10 ** (math.log10(abs(value)) - exponent)
    return f"{'-' if value < 0 else ''}{mantissa:.6g}e+{exponent}"


def _fixed(number: float, spec: str) -> str:
    return format(number, spec) if abs(number) < _FIXED_MAX else format(number, ".3e")


def fmt_value(value: Any, digits: int = 6) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _fmt_int(value)
    number = as_finite(value)
    if number is None:
        return DASH if isinstance(value, float) else clean_text(value, 200)
    return f"{number:.{digits}g}"


def fmt_cos(value: Any) -> str:
    number = as_finite(value)
    return DASH if number is None else _fixed(number, ".6f")


def fmt_ms(value: Any) -> str:
    number = as_finite(value)
    return DASH if number is None else _fixed(number, ".1f")


def fmt_pct(value: Any) -> str:
    number = as_finite(value)
    return DASH if number is None else _fixed(number, ".1%")


def fmt_bytes(value: Any) -> str:
    number = as_finite(value)
    return DASH if number is None else f"{_fixed(number / 1e6, '.1f')} MB"


def fmt_kb(value: Any) -> str:
    """A kilobyte figure (peak memory) in MB."""
    number = as_finite(value)
    return DASH if number is None else f"{_fixed(number / 1024, '.1f')} MB"


def fmt_duration(value: Any) -> str:
    """A time in ms with its unit: `12.3 ms` below a second, `1.23 s` from one."""
    number = as_finite(value)
    if number is None:
        return DASH
    return f"{_fixed(number, '.1f')} ms" if abs(number) < 1000 else f"{_fixed(number / 1000, '.2f')} s"


def fmt_kb_delta(value: Any) -> str:
    """A memory delta in kB with its sign and unit: `+312 kB` below a MiB, `+80.2 MB` from one."""
    number = as_finite(value)
    if number is None:
        return DASH
    sign = "-" if number < 0 else "+"
    if abs(number) < 1024:
        return f"{sign}{abs(number):.0f} kB"
    return f"{sign}{_fixed(abs(number) / 1024, '.1f')} MB"


def fmt_seconds(value: Any) -> str:
    number = as_finite(value)
    return "" if number is None else _fixed(number, ".1f")


def device_label(device: DeviceRun) -> str:
    serial, model = as_text(device.serial), as_text(device.model_name)
    return f"{serial} ({model})" if model else serial


def gate_bound(gate: Gate) -> tuple[str, str]:
    """A gate's operator and unit, read from its name: latency and `max_` gates are ceilings
    (`<=`), `_ms` gates in ms; the rest are floors (`>=`); a gate whose threshold is not a number
    (true/false) must equal it (`==`)."""
    name = as_text(gate.name)
    unit = " ms" if name.endswith("_ms") else ""
    if as_finite(gate.threshold) is None or isinstance(gate.threshold, bool):
        return "==", ""
    if name.endswith("_ms") or "latency" in name or name.startswith("max_") or "_max_" in name:
        return "<=", unit
    return ">=", unit


def gate_value(gate: Gate) -> str:
    """A gate's value with its unit (`43.8 ms`, `0.99862`, `true`)."""
    unit = gate_bound(gate)[1]
    return fmt_value(gate.value) + (unit if as_finite(gate.value) is not None else "")


def gate_needs(gate: Gate) -> str:
    """What a gate's value must be: operator, threshold and unit (`>= 0.999`, `<= 250 ms`)."""
    op, unit = gate_bound(gate)
    return DASH if gate.threshold is None else f"{op} {fmt_value(gate.threshold)}{unit}"


def fmt_size(value: Any) -> str:
    """A file size in bytes with a human unit: `512 B`, `12.3 kB`, `90.9 MB`, `1.23 GB` (powers of 1000)."""
    number = as_finite(value)
    if number is None:
        return DASH
    for limit, unit, digits in ((1e3, "B", 0), (1e6, "kB", 1), (1e9, "MB", 1)):
        if abs(number) < limit:
            return f"{number / (limit / 1e3) if unit != 'B' else number:.{digits}f} {unit}"
    return f"{_fixed(number / 1e9, '.2f')} GB"


def gate_message(gate: Gate) -> str:
    message = f"{as_text(gate.name)}: {fmt_value(gate.value)} vs threshold {fmt_value(gate.threshold)}"
    return f"{message} ({as_text(gate.detail)})" if gate.detail else message


def needs_attention(device: DeviceRun) -> bool:
    # A device left "pending" never finished; it is as much a problem as one that errored.
    return bool(device.error) or device.status not in ("passed", "failed")
