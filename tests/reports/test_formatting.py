"""Report cells: a missing or non-finite figure prints as a dash, never as 'nan'."""

from __future__ import annotations

import numpy as np
import pytest

from harness.reports.formatting import as_finite, fmt_bytes, fmt_cos, fmt_ms, fmt_pct, fmt_value, gate_message
from harness.signoff.results import Gate


@pytest.mark.parametrize("value", [None, True, float("nan"), float("-inf"), "abc", [1]])
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
