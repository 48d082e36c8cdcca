"""The inline SVG plots: cosine histogram and latency."""

from __future__ import annotations

from harness.reports.svg import cosine_histogram_svg, latency_svg


def test_cosine_histogram_bins_on_the_data_range() -> None:
    values = [0.99991, 0.99993, 0.99995, 0.99996, 0.99999, 1.0]
    svg = str(cosine_histogram_svg(values, threshold=0.999, title="t"))
    assert svg.count("<rect") >= 4  # fixed 0..1 bins would have put every text in one bar
    assert "0.99995" in svg and "(all above)" in svg
    assert cosine_histogram_svg([]) is None
    assert str(cosine_histogram_svg([1.0, 1.0])).count("<rect") == 1


def test_latency_plot_draws_samples_percentiles_and_budget() -> None:
    svg = str(
        latency_svg(
            [
                ("emulator-5554", "M-INT8", [10.0, 12.0, float("nan"), 11.0], {}, 50.0),
                ("emulator-5556", "M-INT8", [], {"p50": 20.0, "p90": 30.0}, None),
                ("emulator-5558", "M-INT8", [], {}, None),
            ]
        )
    )
    assert svg.count("<circle") == 3  # one dot per finite sample; the NaN is dropped
    assert "p50 11.0 · n=3" in svg
    assert ">p50<" in svg and ">p90<" in svg  # a row with only percentiles gets markers
    assert "no latency samples" in svg
    assert "red dashes: p50 budget" in svg


def test_latency_plot_none_without_data_and_far_budget_noted() -> None:
    assert latency_svg([("emulator-5554", "M", [float("nan")], {}, None)]) is None
    svg = str(latency_svg([("emulator-5554", "M", [10.0], {}, 5000.0)]))
    assert "p50 budget 5000 ms is off this scale" in svg


def test_plots_skip_what_cannot_be_drawn_and_say_so() -> None:
    svg = str(cosine_histogram_svg([0.9999, 1.0, 1e308, -1e308, float("nan"), 10**400, "x"], threshold=10**400))
    assert "5 values (not finite or outside −1…1) not drawn" in svg and "n=2" in svg
    rows = [("s", "M", [10.0, -1.0, 1.7e308, 20.0], {"p50": 1e300}, float("inf"))]
    svg = str(latency_svg(rows))  # type: ignore[arg-type]
    assert "3 values (not finite, negative or over 10⁷ ms) not drawn" in svg and "n=2" in svg


def test_latency_dots_are_bounded() -> None:
    svg = str(latency_svg([("s", "M", [float(i) for i in range(10_000)], {}, 250.0)]))
    assert svg.count("<circle") == 400 and "n=10000" in svg
    assert "dots: 400 per row on 1 row(s) with more samples" in svg


def test_plots_take_junk_containers() -> None:
    assert cosine_histogram_svg(None) is None  # type: ignore[arg-type]
    assert latency_svg([("s", "M", None, None, None)]) is None  # type: ignore[list-item]
