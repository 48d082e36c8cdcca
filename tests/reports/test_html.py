"""signoff.html: content checks, and the page rendered in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.reports.writers import write_reports
from tests.helpers import render_in_chromium, screenshot_colours, screenshot_pixels


def test_html_has_table_plots_and_verdict(written: dict[str, Path]) -> None:
    page = written["html"].read_text()
    # One device went offline: no verdict, and the banner says which and why.
    assert "<title>Sign-off 20250114-093012-7f3a — NO VERDICT</title>" in page
    headline = page[page.index('id="headline">') : page.index("</p>", page.index('id="headline">'))]
    assert "NO VERDICT: 1 of 3 devices could not be judged (emulator-5556: adb: device" in headline
    assert "also 1 gate failed on 1 device" in headline
    failed = page[page.index('id="failed-gates"') : page.index("</section>", page.index('id="failed-gates"'))]
    assert failed.count('class="failed-gate"') == 1 and "Failed gates (1)" in failed
    # device, model, gate, the value, what it needed (operator and threshold), why
    row = re.sub(r"\s+", " ", failed[failed.index('class="failed-gate"') :])
    assert re.search(
        r'<td class="mono">[^<]+</td><td class="mono">AVA-ONX-[^<]+</td><td class="mono">parity_min_cosine</td>'
        r' <td class="num">0\.99862</td><td class="num">&gt;= 0\.999</td>',
        row,
    ), row
    assert page.index('id="failed-gates"') < page.index("<h2>Plots</h2>") < page.index("<svg")
    assert page.count('class="matrix-row"') == 2
    assert page.count("<svg") >= 2 and 'class="plot latency"' in page and 'class="plot cosine-hist"' in page
    assert "0.998620" in page  # the failing cosine, in the matrix cell
    # the failing cell names its failed gate; passing cells name none
    cells = re.findall(r'<td class="cell (cell-\w+)">(.*?)</td>', page, re.S)
    failing = [body for kind, body in cells if kind == "cell-fail"]
    assert len(failing) == 1 and re.search(r'failed: <span class="mono">parity_min_cosine</span>', failing[0])
    assert all("failed-names" not in body for kind, body in cells if kind != "cell-fail")
    assert "went offline" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page


def _has_box_red(png: Path) -> bool:
    """The failed-gates box's own background (#fbe1de, no other element has it) in the top 900
    pixel rows of the page."""
    return bool((screenshot_pixels(png)[:900] == 0xFBE1DE).any())


def test_html_renders_in_headless_chromium(written: dict[str, Path], tmp_path: Path) -> None:
    rendered, png = render_in_chromium(written["html"], tmp_path)
    assert rendered.count('class="matrix-row"') == 2
    assert rendered.count("<svg") >= 5  # four cosine histograms and the latency plot
    assert rendered.count("<circle") == 4 * 40  # every latency sample drawn
    assert 'id="verdict">NO VERDICT<' in rendered
    assert png.stat().st_size > 10_000
    # A failing run: the failed-gates box is in the rendered DOM above the plots, and drawn.
    box = rendered.index('id="failed-gates"')
    assert box < rendered.index('id="matrix"') < rendered.index("<h2>Plots</h2>") < rendered.index("<svg")
    assert "parity_min_cosine" in rendered[box : rendered.index("</section>", box)]
    assert screenshot_colours(png) >= 8, "the screenshot is blank"
    assert _has_box_red(png), "no failed-gates box red in the top of the screenshot"
    if os.environ.get("AVA_KEEP_SCREENSHOT"):
        shutil.copy(png, os.environ["AVA_KEEP_SCREENSHOT"])


def test_hostile_strings_are_escaped_and_cleaned_in_the_page_and_junit(tmp_path: Path) -> None:
    from .conftest import make_run
    from .hostile import STRINGS

    run = make_run()
    galaxy, offline = run.devices[1], run.devices[2]
    hostile = [s for s in STRINGS if isinstance(s, str)]
    galaxy.props["ro.product.model"] = "<script>alert(1)</script>"
    galaxy.models[0].model_id = "[/bold]</td><img src=x onerror=alert(2)>"
    offline.error = " ".join(s[:100] for s in hostile)
    offline.health = {s[:50]: s for s in hostile}
    written = write_reports(run, tmp_path)
    page = written["html"].read_text(encoding="utf-8")
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "[/bold]&lt;/td&gt;&lt;img" in page
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]", page)
    assert "{{ 7*7 }}" in page  # data is never a template
    junit = written["junit"].read_text(encoding="utf-8")
    ET.fromstring(junit.encode())
    assert "\x1b" not in junit


def test_instrumentation_tests_are_a_collapsed_table_not_a_repr() -> None:
    from harness.android.instrument_results import InstrumentationRun, TestResult, TestStatus
    from harness.reports.html_page import render_html
    from tests.reports.conftest import make_run

    run = make_run()
    cls = "com.augmentalis.ava.harness.EmbeddingSignoffTest"
    model = "AVA-ONX-384-FAST-INT8"
    session = InstrumentationRun(
        tests=[
            TestResult(cls, f"modelLoads[{model}]", TestStatus.PASSED, metrics={"ava.loadMs": "39.400"}),
            TestResult(
                cls, f"latency[{model}]", TestStatus.FAILED, stack="AssertionError: <slow>\n\tat x", started_order=1
            ),
        ],
        expected_count=2,
    )
    run.devices[0].instrumentation = session.to_dict()
    page = render_html(run)
    device = page[page.index("<h2>Devices</h2>") :]
    details = device[device.index('<details class="instrumentation-tests">') : device.index("</details>")]
    assert "<summary>2 tests: 1 passed, 1 not passed</summary>" in details
    rows = re.findall(r'<tr class="(gate-\w+)"><td class="mono" title="([^"]+)">([^<]+)</td><td>(\w+)</td>', details)
    assert rows == [
        ("gate-pass", cls, f"modelLoads[{model}]", "passed"),
        ("gate-fail", cls, f"latency[{model}]", "failed"),
    ]
    assert "ava.loadMs=39.400" in details
    assert '<pre class="stack">AssertionError: &lt;slow&gt;' in details and "<slow>" not in details
    # the session's own figures stay one row each; no Python repr of the test list anywhere
    assert "instrumentation: summary</th><td>FAILED: 2/2 tests" in device
    assert "{&#39;class_name&#39;" not in page and "[{" not in device and "instrumentation: tests" not in device


def test_device_identity_model_file_and_gate_bounds_are_shown() -> None:
    from harness.reports.formatting import fmt_size
    from harness.reports.html_page import render_html
    from tests.reports.conftest import BASE, SHA, make_run

    run = make_run()
    run.devices[0].props |= {
        "ro.product.manufacturer": "Google",
        "ro.soc.model": "Tensor G2",
        "ro.build.fingerprint": "google/panther/panther:14/UQ1A.240205.004/11269751:user/release-keys",
    }
    page = render_html(run)
    devices = page[page.index("<h2>Devices</h2>") :]
    pixel = devices[: devices.index('<div class="device">', devices.index('<div class="device">') + 1)]
    for label, value in (
        ("model", "Pixel 7"),
        ("manufacturer", "Google"),
        ("hardware", "Tensor G2"),
        ("fingerprint", "google/panther/panther:14/UQ1A.240205.004/11269751:user/release-keys"),
        ("abi", "arm64-v8a"),
        ("sdk", "34"),
    ):
        assert f"<tr><th>{label}</th><td>{value}</td></tr>" in pixel, label
    results = page[page.index("<h2>Device results</h2>") : page.index("<h2>Host quality")]
    assert f'<span class="mono sha">{SHA[BASE]}</span> <span class="size">23.0 MB</span>' in results
    # gate tables: each value with its unit, what it needed with operator and unit
    gates = re.sub(r"\s+", " ", results)
    assert re.search(r'parity_min_cosine</td>.*?<td class="num">0\.99\d*</td><td class="num">&gt;= 0\.999</td>', gates)
    assert re.search(r'latency_p50_ms</td>.*?<td class="num">[0-9.]+ ms</td><td class="num">&lt;= 250 ms</td>', gates)
    host = re.sub(r"\s+", " ", page[page.index('id="host-gates"') :])
    assert re.search(r'min_mean_cosine</td>.*?<td class="num">0\.99231</td><td class="num">&gt;= 0\.985</td>', host)
    assert "<th>Threshold</th>" not in page
    assert [fmt_size(v) for v in (512, 12_300, 22_972_370, 1_234_000_000, None)] == [
        "512 B",
        "12.3 kB",
        "23.0 MB",
        "1.23 GB",
        "—",
    ]


def test_the_five_worst_texts_per_model_by_parity_and_by_fp32_cosine() -> None:
    from harness.reports.html_page import render_html
    from tests.reports.conftest import make_run

    run = make_run()
    model = run.devices[1].models[1]  # the failing one
    n = len(run.texts)
    model.parity_cosines = [0.9999 - 0.00001 * ((i * 7) % n) for i in range(n)]
    model.fp32_cosines = [0.99 + 0.0001 * i for i in range(n)]
    model.fp32_cosines[20] = float("nan")  # never a worst case: not a cosine
    page = render_html(run)
    section = page[page.index('id="worst-texts"') : page.index("</div>\n</div>", page.index('id="worst-texts"'))]
    box = section[section.index(f"{run.devices[1].serial} · {model.model_id}") :]
    box = box[: box.index('<div class="plot-box worst">')] if '<div class="plot-box worst">' in box else box
    tables = re.findall(r"<caption>([^<]+)</caption>.*?<tbody>(.*?)</tbody>", box, re.S)
    assert [t[0] for t in tables] == ["Lowest parity cosine (device vs reference)", "Lowest cosine vs host FP32"]
    parity_rows = re.findall(
        r'<tr><td class="num">(\d+)</td><td>([^<]*)</td><td class="num">([0-9.]+)</td></tr>', tables[0][1]
    )
    expected = sorted(range(n), key=lambda i: model.parity_cosines[i])[:5]
    assert [(int(a), b) for a, b, _ in parity_rows] == [(i + 1, run.texts[i]) for i in expected]
    assert [float(c) for _, _, c in parity_rows] == sorted(float(c) for _, _, c in parity_rows)
    fp32_rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td>', tables[1][1])
    assert [int(a) for a, _ in fp32_rows] == [1, 2, 3, 4, 5]
    assert page.index('id="worst-texts"') > page.index("<h2>Plots</h2>")


def test_host_quality_headers_are_words_and_health_sizes_human() -> None:
    from harness.reports.html_page import render_html
    from harness.signoff.results import DeviceRun, HostModel, SignoffRun

    quality = {"mean_cosine_vs_fp32": 0.993, "sts_retention": 0.9989}
    health = {"free_bytes": 3_500_000_000, "battery_celsius": 31.0}
    run = SignoffRun(
        "run-1", "2026-11-29T00:00:00+00:00", "0", "1.32.0", ["t"],
        models=[HostModel("M-INT8", "INT8", "a" * 64, 1, 4, quality=quality)],
        devices=[DeviceRun("s1", status="error", error="x", health=health)],
    )  # fmt: skip
    page = render_html(run)
    assert "Cosine vs FP32, mean" in page and "STS-B retention" in page
    assert ">mean_cosine_vs_fp32<" not in page
    assert "0.993000" in page and "99.9%" in page
    assert "3.50 GB" in page and "31.0 °C" in page and "3500000000" not in page
