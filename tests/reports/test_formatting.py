"""Report cells: a missing or non-finite figure prints as a dash, never as 'nan'."""

from __future__ import annotations

import numpy as np
import pytest

from harness.reports.formatting import (
    as_finite,
    as_text,
    clean_text,
    fmt_bytes,
    fmt_cos,
    fmt_kb,
    fmt_ms,
    fmt_pct,
    fmt_value,
    gate_message,
    terminal_text,
)
from harness.signoff.results import Gate


@pytest.mark.parametrize("value", [None, True, float("nan"), float("-inf"), "abc", [1], 10**400, "1e400", object()])
def test_as_finite_rejects_what_is_not_a_measurement(value: object) -> None:
    assert as_finite(value) is None


def test_as_finite_accepts_numbers_and_numeric_strings() -> None:
    assert [as_finite(v) for v in (3, 0.5, np.float32(0.25), "1.5")] == [3.0, 0.5, 0.25, 1.5]


def test_cell_formatters() -> None:
    assert [fmt_cos(0.99862), fmt_ms(38.04), fmt_pct(0.875), fmt_bytes(22_972_370)] == [
        "0.998620",
        "38.0",
        "87.5%",
        "23.0 MB",
    ]
    assert {fmt(float("nan")) for fmt in (fmt_cos, fmt_ms, fmt_pct, fmt_bytes)} == {"—"}


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "—"), (True, "true"), (7, "7"), (0.123456789, "0.123457"), (float("nan"), "—"), ("INT8", "INT8")],
)
def test_fmt_value(value: object, text: str) -> None:
    assert fmt_value(value) == text


def test_gate_message_with_and_without_detail() -> None:
    assert gate_message(Gate("parity_min_cosine", False, 0.99862, 0.999)) == (
        "parity_min_cosine: 0.99862 vs threshold 0.999"
    )
    assert gate_message(Gate("latency_p50_ms", True, None, 250.0, "no samples")) == (
        "latency_p50_ms: — vs threshold 250 (no samples)"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (10**400, "1e+400"),
        (-(10**5000), "-1e+5000"),
        (10**15, "1e+15"),
        (10**15 - 1, "999999999999999"),
        (1.7e308, "1.7e+308"),
    ],
    ids=["1e400", "-1e5000", "1e15", "1e15-1", "1.7e308"],
)
def test_huge_numbers_print_short(value: object, text: str) -> None:
    assert fmt_value(value) == text


def test_cells_stay_short_for_absurd_figures() -> None:
    assert fmt_ms(1.7e308) == "1.700e+308" and fmt_cos(-1e300) == "-1.000e+300"
    assert fmt_bytes(10**400) == "—" and fmt_kb("lots") == "—" and fmt_kb(148_220) == "144.7 MB"
    assert fmt_kb(-5) == "-0.0 MB"  # shown as the device said it, not hidden


def test_text_of_anything_never_raises() -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError

    assert as_text(Unprintable()) == "<unprintable Unprintable>"
    assert as_text(b"\xff") == "\ufffd" and as_text(None) == ""
    assert clean_text("a\x00b\r\nc\x1b[2J\ud800\uffff\td") == "ab\nc[2J\ufffd\td"
    assert terminal_text("a\nb\x9b\u202ec") == "a bc"
    assert clean_text("x" * 100, 40) == "x" * 17 + "… [83 more characters]"
    assert len(clean_text("x" * 10**6, 2000)) <= 2000
