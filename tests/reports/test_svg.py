"""The inline SVG plots."""

from __future__ import annotations

from harness.reports.svg import cosine_histogram_svg


def test_cosine_histogram_bins_on_the_data_range() -> None:
    values = [0.99991, 0.99993, 0.99995, 0.99996, 0.99999, 1.0]
    svg = str(cosine_histogram_svg(values, threshold=0.999, title="t"))
    assert svg.count("<rect") >= 4  # fixed 0..1 bins would have put every text in one bar
    assert "0.99995" in svg and "(all above)" in svg
    assert cosine_histogram_svg([]) is None
    assert str(cosine_histogram_svg([1.0, 1.0])).count("<rect") == 1
