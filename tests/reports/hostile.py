"""Hostile values for the report writers: a hand-written table of what a device (or a bug) can put
in a field, and a seeded generator of SignoffRuns that scatter them over two of the three devices
of conftest.make_run(). The third device, emulator-5554, stays healthy: its verdict must survive."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from harness.signoff.results import DeviceRun, Gate, ModelOnDevice, SignoffRun

from .conftest import make_run

HEALTHY = "emulator-5554"
HEALTHY_LABEL = "emulator-5554 (Pixel 7)"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    __repr__ = __str__

    def __float__(self) -> float:
        raise RuntimeError("no float for you")

    def __bool__(self) -> bool:
        raise RuntimeError("no bool for you")


def _deep(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": float("nan")}
    for level in range(depth):
        node = {f"level{level}": node}
    return node


NUMBERS: list[Any] = [
    1.7e308,
    -1.7e308,
    10**400,
    -(10**400),
    10**5000,  # str() of it raises ValueError (more than 4300 digits)
    "lots",
    float("nan"),
    float("inf"),
    float("-inf"),
    -1,
    -1e-300,
    None,
    5e-324,
    True,
    np.float32("nan"),
    np.int64(2**62),
    np.float64(1e300),
    b"\xff\xfe",
    Unprintable(),
    [1, 2],
    {"a": 1},
    {1, 2},
]

STRINGS: list[Any] = [
    "\x1b[2J\x1b[H",  # clear the screen
    "[/bold]",  # closes a tag that is not open: MarkupError in rich
    "[link=https://evil.example]click[/link]",
    "\x1b]0;pwned\x07",  # OSC: set the window title
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "<script>alert(1)</script>",
    "]]><!-- </testsuite>",
    "\ud800 lone surrogate \udfff",
    "\x00\x01\x07\x08\x0b\x0c\x7f\x85\x9b",
    "\ufffe\uffff",
    "\u202eevil\u2066",  # bidi override
    "x" * 1_000_000,
    "👩\u200d👩\u200d👧" * 2000,
    "e\u0301" * 5000,  # combining marks
    "{{ 7*7 }} {% raw %} %s %n {0}",
    "\\",
    "a\r\nb\rc",
    "",
    None,
    12345,
    b"bytes \xff",
    Unprintable(),
]

LISTS: list[Any] = [
    [1.7e308] * 3,
    [float(i) for i in range(10_000)],
    [None, "x", 10**400, float("nan"), -5.0, 1e9, 1e308, -1e308],
    None,
    "not a list",
    [],
    (0.5, 0.9),
    {1.0, 2.0},
    np.array([1.0, np.nan, 2.0]),
]

DICTS: list[Any] = [
    {"p50": 1.7e308, "p90": 10**400, "p99": "slow", "load_ms": -3, "min_cosine": float("nan")},
    {1: 2, None: 3, (1, 2): "tuple key"},
    {"x": {1, 2}, "y": Unprintable(), "z": b"\x00"},
    _deep(60),
    None,
    "not a dict",
    {"k" * 1000: "v" * 100_000},
    {f"key{i}": i for i in range(2000)},
]

GATE_LISTS: list[Any] = [None, "not a list", [None], [Gate("x", True, 1.7e308, 10**400, "\x1b[2J")], [], [object()]]


def _victims(run: SignoffRun) -> list[DeviceRun]:
    return [d for d in run.devices if d.serial != HEALTHY]


def _models(device: DeviceRun) -> list[ModelOnDevice]:
    return [m for m in device.models if isinstance(m, ModelOnDevice)] if isinstance(device.models, list) else []


def _gates(device: DeviceRun) -> list[Gate]:
    return [g for m in _models(device) if isinstance(m.gates, list) for g in m.gates if isinstance(g, Gate)]


def _set_dict(target: Any, key: str, value: Any) -> None:
    if isinstance(target, dict):
        target[key] = value


def _append(target: Any, value: Any) -> None:
    if isinstance(target, list):
        target.append(value)


# field -> setter(device, value): every place a device's data lands in a report.
NUMBER_FIELDS: dict[str, Callable[[DeviceRun, Any], None]] = {
    "size_bytes": lambda d, v: [setattr(m, "size_bytes", v) for m in _models(d)],
    "peak_memory_kb": lambda d, v: [setattr(m, "peak_memory_kb", v) for m in _models(d)],
    "latency": lambda d, v: [_set_dict(m.latency_ms, k, v) for m in _models(d) for k in ("p50", "p90", "load_ms")],
    "parity": lambda d, v: [_set_dict(m.parity, k, v) for m in _models(d) for k in ("min_cosine", "mean_cosine")],
    "vs_fp32": lambda d, v: [_set_dict(m.vs_fp32, "mean_cosine", v) for m in _models(d)],
    "token_agreement": lambda d, v: [_set_dict(m.end_to_end, "token_agreement", v) for m in _models(d)],
    "latency_sample": lambda d, v: [_append(m.latency_samples_ms, v) for m in _models(d)],
    "parity_cosine": lambda d, v: [_append(m.parity_cosines, v) for m in _models(d)],
    "gate_value": lambda d, v: [setattr(g, "value", v) for g in _gates(d)],
    "gate_threshold": lambda d, v: [setattr(g, "threshold", v) for g in _gates(d)],
    "seconds": lambda d, v: setattr(d, "seconds", v),
    "health": lambda d, v: _set_dict(d.health, "free_storage_mb", v),
    "instrumentation": lambda d, v: _set_dict(d.instrumentation, "status_counts", v),
}
STRING_FIELDS: dict[str, Callable[[DeviceRun, Any], None]] = {
    "serial": lambda d, v: setattr(d, "serial", v),
    "server": lambda d, v: setattr(d, "server", v),
    "prop_model": lambda d, v: _set_dict(d.props, "ro.product.model", v),
    "prop_abi": lambda d, v: _set_dict(d.props, "ro.product.cpu.abi", v),
    "device_error": lambda d, v: setattr(d, "error", v),
    "stage": lambda d, v: setattr(d, "stage", v),
    "status": lambda d, v: setattr(d, "status", v),
    "model_id": lambda d, v: [setattr(m, "model_id", v) for m in _models(d)],
    "variant": lambda d, v: [setattr(m, "variant", v) for m in _models(d)],
    "ort_version": lambda d, v: [setattr(m, "ort_version", v) for m in _models(d)],
    "execution_provider": lambda d, v: [setattr(m, "execution_provider", v) for m in _models(d)],
    "reference": lambda d, v: [setattr(m, "reference", v) for m in _models(d)],
    "model_error": lambda d, v: [setattr(m, "error", v) for m in _models(d)],
    "gate_name": lambda d, v: [setattr(g, "name", v) for g in _gates(d)],
    "gate_detail": lambda d, v: [setattr(g, "detail", v) for g in _gates(d)],
    "health_key": lambda d, v: _set_dict(d.health, v if isinstance(v, str) else "k", v),
}
LIST_FIELDS: dict[str, Callable[[DeviceRun, Any], None]] = {
    "latency_samples_ms": lambda d, v: [setattr(m, "latency_samples_ms", v) for m in _models(d)],
    "parity_cosines": lambda d, v: [setattr(m, "parity_cosines", v) for m in _models(d)],
}
DICT_FIELDS: dict[str, Callable[[DeviceRun, Any], None]] = {
    "latency_ms": lambda d, v: [setattr(m, "latency_ms", v) for m in _models(d)],
    "parity_dict": lambda d, v: [setattr(m, "parity", v) for m in _models(d)],
    "chapter_tests": lambda d, v: [setattr(m, "chapter_tests", v) for m in _models(d)],
    "props": lambda d, v: setattr(d, "props", v),
    "health_dict": lambda d, v: setattr(d, "health", v),
    "instrumentation_dict": lambda d, v: setattr(d, "instrumentation", v),
}
GATE_FIELDS: dict[str, Callable[[DeviceRun, Any], None]] = {
    "gates": lambda d, v: [setattr(m, "gates", v) for m in _models(d)],
}
TABLES: list[tuple[dict[str, Callable[[DeviceRun, Any], None]], list[Any]]] = [
    (NUMBER_FIELDS, NUMBERS),
    (STRING_FIELDS, STRINGS),
    (LIST_FIELDS, LISTS),
    (DICT_FIELDS, DICTS),
    (GATE_FIELDS, GATE_LISTS),
]


def with_value_everywhere(fields: dict[str, Callable[[DeviceRun, Any], None]], value: Any) -> SignoffRun:
    """make_run() with `value` in every field of `fields` on both non-healthy devices."""
    run = make_run()
    for device in _victims(run):
        for setter in fields.values():
            setter(device, value)
    return run


def hostile_run(seed: int, mutations: int = 12) -> SignoffRun:
    """make_run() with `mutations` random (field, hostile value) pairs on the non-healthy devices,
    a field sometimes given a value from another table ("any value of the right field"), and the
    run's settings, texts and host quality made hostile too."""
    rng = random.Random(seed)
    run = make_run()
    victims = _victims(run)
    for _ in range(mutations):
        fields, values = rng.choice(TABLES)
        if rng.random() < 0.2:
            values = rng.choice(TABLES)[1]
        setter = rng.choice(list(fields.values()))
        setter(rng.choice(victims), rng.choice(values))
    run.settings["hostile"] = rng.choice(NUMBERS + STRINGS + DICTS)
    run.texts.append(rng.choice([s for s in STRINGS if isinstance(s, str)]))
    run.models[0].quality["hostile"] = rng.choice(NUMBERS + STRINGS)
    return run
