"""Sign-off reports: JSON, JUnit, HTML (rendered in headless Chromium), manifest, terminal summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from harness.reports.html_page import render_html
from harness.reports.json_report import summarize
from harness.reports.junit import render_junit
from harness.reports.manifest import build_signoff_manifest
from harness.reports.svg import cosine_histogram_svg
from harness.reports.terminal import print_summary
from harness.reports.writers import write_reports
from harness.signoff.results import DeviceRun, Gate, HostModel, ModelOnDevice, SignoffRun

BASE = "AVA-ONX-384-BASE-INT8"
FAST = "AVA-ONX-384-FAST-INT8"
SHA = {BASE: "3f6a1c0e" * 8, FAST: "9b27d4e1" * 8}
SIZE = {BASE: 22_972_370, FAST: 17_381_904}
FAILING_SERIAL = "192.168.1.20:5555"
EVIL = "<script>alert(1)</script>"
CHROMIUM = "/usr/bin/chromium"


def _model_on_device(model_id: str, rng: np.random.Generator, *, p50: float, worst_cosine: float | None = None):
    cosines = (1.0 - np.abs(rng.normal(0.0, 4e-5, size=34))).clip(max=1.0)
    if worst_cosine is not None:
        cosines[7] = worst_cosine
    samples = list(np.round(rng.lognormal(np.log(p50), 0.08, size=40), 2))
    m = ModelOnDevice(
        model_id=model_id,
        variant="INT8",
        sha256=SHA[model_id],
        size_bytes=SIZE[model_id],
        pushed=True,
        parity={"min_cosine": float(cosines.min()), "mean_cosine": float(cosines.mean()), "max_abs_diff": 0.00071},
        end_to_end={"token_agreement": 1.0, "texts": 34.0, "min_cosine": float(cosines.min()), "mean_cosine": 0.99997},
        vs_fp32={
            "mean_cosine": 0.99213,
            "min_cosine": 0.97804,
            "p5_cosine": 0.98391,
            "top1": 0.875,
            "fp32_top1": 0.875,
            "top1_retention": 1.0,
        },
        latency_ms={
            "p50": float(np.percentile(samples, 50)),
            "p90": float(np.percentile(samples, 90)),
            "p99": float(np.percentile(samples, 99)),
            "n": 40.0,
            "load_ms": 412.0,
            "cold_ms": p50 * 3.1,
        },
        latency_samples_ms=[float(s) for s in samples],
        parity_cosines=[float(c) for c in cosines],
        peak_memory_kb=148_220,
        ort_version="1.19.2",
        execution_provider="CPUExecutionProvider",
        chapter_tests={"test1_dimension": True, "test2_normalized": True},
    )
    m.gates = [
        Gate("parity_min_cosine", m.parity["min_cosine"] >= 0.999, m.parity["min_cosine"], 0.999, "vs x86_64 host"),
        Gate("fp32_mean_cosine", True, 0.99213, 0.985, "what ran on the device vs host FP32"),
        Gate("e2e_token_agreement", True, 1.0, 1.0, ""),
        Gate("latency_p50_ms", m.latency_ms["p50"] <= 250.0, m.latency_ms["p50"], 250.0, "budget per text"),
    ]
    return m


def make_run() -> SignoffRun:
    rng = np.random.default_rng(28)
    hosts = [
        HostModel(
            model_id,
            "INT8",
            SHA[model_id],
            SIZE[model_id],
            90_868_376,
            quality={
                "sts_retention": retention,
                "mean_cosine": cosine,
                "retrieval": {"xquad_en": {"top1_retention": 0.982, "ndcg10_retention": 0.991}},
            },
            gates=[Gate("min_spearman_retention", True, retention, 0.99), Gate("min_mean_cosine", True, cosine, 0.985)],
        )
        for model_id, retention, cosine in ((BASE, 0.99612, 0.99231), (FAST, 0.99307, 0.98877))
    ]
    pixel = DeviceRun(
        serial="emulator-5554",
        server="127.0.0.1:5037",
        props={
            "ro.product.model": "Pixel 7",
            "ro.product.cpu.abi": "arm64-v8a",
            "ro.build.version.sdk": "34",
            "ro.build.version.release": "14",
        },
        health={"battery_level": 87, "thermal_status": "none", "free_storage_mb": 10_482},
        status="passed",
        stage="done",
        models=[_model_on_device(BASE, rng, p50=38.0), _model_on_device(FAST, rng, p50=21.0)],
        instrumentation={"status_counts": {"passed": 6, "failed": 0}},
        seconds=74.2,
    )
    galaxy = DeviceRun(
        serial=FAILING_SERIAL,
        server="127.0.0.1:5037",
        props={
            "ro.product.model": "SM-A525F",
            "ro.product.cpu.abi": "arm64-v8a",
            "ro.build.version.sdk": "33",
            "ro.build.version.release": "13",
        },
        health={"battery_level": 41, "thermal_status": "light"},
        status="failed",
        stage="done",
        models=[_model_on_device(BASE, rng, p50=71.0), _model_on_device(FAST, rng, p50=44.0, worst_cosine=0.99862)],
        seconds=121.9,
    )
    offline = DeviceRun(
        serial="emulator-5556",
        server="127.0.0.1:5037",
        props={"ro.product.model": "sdk_gphone64_x86_64", "ro.product.cpu.abi": "x86_64"},
        status="error",
        error="adb: device 'emulator-5556' went offline while pushing AVA-ONX-384-BASE-INT8.onnx",
        stage="push",
        seconds=3.4,
    )
    return SignoffRun(
        run_id="20250114-093012-7f3a",
        created_at="2025-01-14T09:30:12+00:00",
        harness_version="0.1.0",
        onnxruntime_version="1.19.2",
        texts=[f"text {i}" for i in range(34)],
        models=hosts,
        devices=[pixel, galaxy, offline],
        settings={"mode": "both", "parity": {"min_parity_cosine": 0.999}},
    )


@pytest.fixture
def run() -> SignoffRun:
    return make_run()


@pytest.fixture
def written(run: SignoffRun, tmp_path: Path) -> dict[str, Path]:
    return write_reports(run, tmp_path / "reports" / run.run_id)


def test_write_reports_writes_four_complete_files(written: dict[str, Path], run: SignoffRun) -> None:
    assert set(written) == {"json", "junit", "html", "manifest"}
    folder = written["json"].parent
    assert folder.name == run.run_id
    assert sorted(p.name for p in folder.iterdir()) == ["junit.xml", "manifest.json", "signoff.html", "signoff.json"]


def test_signoff_json_round_trips_with_summary(written: dict[str, Path], run: SignoffRun) -> None:
    data = json.loads(written["json"].read_text())
    summary = data.pop("summary")
    assert data == json.loads(json.dumps(run.to_dict()))
    assert data["passed"] is False
    assert summary["devices"] == {"total": 3, "passed": 1, "failed": 1, "error": 1, "other": 0}
    assert summary["models"]["on_device"] == 4 and summary["models"]["on_device_failed"] == 1
    assert summary["gates"]["failed"] == 1 and summary["gates"]["host_failed"] == 0
    assert summary["gates"]["total"] == 4 * 4 + 4


def test_junit_counts_the_failing_gate_and_the_device_error(written: dict[str, Path]) -> None:
    root = ET.parse(written["junit"]).getroot()
    assert root.tag == "testsuites"
    assert (root.get("failures"), root.get("errors"), root.get("tests")) == ("1", "1", str(4 * 4 + 4 + 1))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {
        "host",
        "emulator-5554 (Pixel 7)",
        f"{FAILING_SERIAL} (SM-A525F)",
        "emulator-5556 (sdk_gphone64_x86_64)",
    }
    assert suites["host"].get("failures") == "0" and len(suites["host"].findall("testcase")) == 4

    failed = suites[f"{FAILING_SERIAL} (SM-A525F)"]
    failures = [c for c in failed.iter("testcase") if c.find("failure") is not None]
    assert [(c.get("name"), c.get("classname")) for c in failures] == [
        (f"{FAST}.parity_min_cosine", "ava_harness.192_168_1_20_5555")
    ]
    message = failures[0].find("failure").get("message")
    assert "0.99862" in message and "threshold 0.999" in message

    errored = suites["emulator-5556 (sdk_gphone64_x86_64)"]
    cases = errored.findall("testcase")
    assert len(cases) == 1 and "went offline" in cases[0].find("error").get("message")
    assert all(c.find("failure") is None and c.find("error") is None for c in suites["emulator-5554 (Pixel 7)"])


def test_manifest_has_model_configs_and_devices(written: dict[str, Path]) -> None:
    manifest = json.loads(written["manifest"].read_text())
    assert manifest["runId"] == "20250114-093012-7f3a" and manifest["passed"] is False
    assert manifest["harnessVersion"] == "0.1.0" and manifest["onnxruntimeVersion"] == "1.19.2"
    base = manifest["models"][0]
    assert {
        k: base[k]
        for k in ("id", "path", "sha256", "isQuantized", "quantizationType", "baselineQuality", "quantizedQuality")
    } == {
        "id": BASE,
        "path": f"models/{BASE}.onnx",
        "sha256": SHA[BASE],
        "isQuantized": True,
        "quantizationType": "INT8",
        "baselineQuality": 1.0,
        "quantizedQuality": 0.99612,
    }
    assert [d["serial"] for d in base["devices"]] == ["emulator-5554", FAILING_SERIAL]
    assert all(d["sha256Matches"] for d in base["devices"])
    assert manifest["models"][1]["devices"][1]["failedGates"] == ["parity_min_cosine"]
    assert manifest["devices"][0] == {
        "serial": "emulator-5554",
        "model": "Pixel 7",
        "abi": "arm64-v8a",
        "sdk": "34",
        "release": "14",
        "status": "passed",
        "passed": True,
        "error": None,
        "stage": "done",
        "ortVersions": ["1.19.2"],
    }
    assert manifest["devices"][2]["status"] == "error"


def test_html_has_table_plots_and_verdict(written: dict[str, Path]) -> None:
    page = written["html"].read_text()
    assert "<title>Sign-off 20250114-093012-7f3a — FAIL</title>" in page
    assert page.count('class="matrix-row"') == 2
    assert page.count("<svg") >= 2 and 'class="plot latency"' in page and 'class="plot cosine-hist"' in page
    assert "0.998620" in page  # the failing cosine, in the matrix cell
    assert "went offline" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page


def test_everything_escapes_hostile_strings(run: SignoffRun, tmp_path: Path) -> None:
    run.devices[0].props["ro.product.model"] = EVIL
    run.devices[2].error = 'push failed: <img src=x onerror="alert(2)"> & more'
    run.models[0].quality["<b>key</b>"] = EVIL
    paths = write_reports(run, tmp_path)
    page = paths["html"].read_text()
    assert EVIL not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    root = ET.parse(paths["junit"]).getroot()
    assert any(s.get("name") == f"emulator-5554 ({EVIL})" for s in root.iter("testsuite"))
    assert json.loads(paths["manifest"].read_text())["devices"][0]["model"] == EVIL


def test_partial_data_zero_devices_nan_and_empty_lists(tmp_path: Path) -> None:
    empty = SignoffRun("r-empty", "2025-01-14T00:00:00+00:00", "0.1.0", "1.19.2", texts=[])
    paths = write_reports(empty, tmp_path / "empty")
    root = ET.parse(paths["junit"]).getroot()
    assert root.get("errors") == "1"  # no devices must not read as green
    assert "No devices ran" in paths["html"].read_text()
    assert json.loads(paths["json"].read_text())["summary"]["devices"]["total"] == 0

    broken = make_run()
    broken.models[1].quality = {"sts_retention": float("nan")}
    broken.models[1].gates = []
    m = broken.devices[1].models[0]
    m.latency_samples_ms, m.latency_ms, m.parity_cosines = [], {}, [float("nan")]
    m.parity = {"min_cosine": float("nan")}
    m.gates = [Gate("parity_min_cosine", False, None, 0.999, "the device wrote no embeddings")]
    broken.devices[1].models[1].gates = []
    broken.devices[2].error = "\x1b[31mFATAL\x1b[0m device said \x00 nothing"
    broken.devices.append(DeviceRun(serial="pending-1"))
    paths = write_reports(broken, tmp_path / "broken")
    json.loads(paths["json"].read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    manifest = json.loads(paths["manifest"].read_text())
    assert manifest["models"][1]["quantizedQuality"] is None
    root = ET.parse(paths["junit"]).getroot()
    names = {c.get("name"): c for c in root.iter("testcase")}
    assert names[f"{FAST}.gates"].find("error") is not None  # a model with no gates is not a pass
    assert int(root.get("errors")) == 4  # error device, pending device, two models without gates
    page = paths["html"].read_text()
    assert "no latency samples" in page
    errors = page[page.index('id="errors"') : page.index("Models × devices")]
    assert "pending-1" in errors and "FATAL" in errors  # an unfinished device is listed with the errors
    print_summary(broken, Console(record=True, width=200, file=open(os.devnull, "w")))  # noqa: SIM115


def test_print_summary_table_errors_and_verdict(run: SignoffRun) -> None:
    console = Console(record=True, width=220, color_system="truecolor", file=open(os.devnull, "w"))  # noqa: SIM115
    print_summary(run, console)
    styled = console.export_text(clear=False, styles=True)
    text = console.export_text()
    for expected in (
        "emulator-5554 (Pixel 7)",
        FAILING_SERIAL,
        "0.998620",
        "100.0%",
        "parity_min_cosine",
        "emulator-5556 [push]: adb: device 'emulator-5556' went offline",
        "412.0",
    ):
        assert expected in text, expected
    assert text.rstrip().splitlines()[-1].startswith("FAIL: 1/3 devices passed, 1 of 20 gates failed")
    error_line = next(line for line in styled.splitlines() if "went offline" in line)
    assert error_line.startswith("\x1b[31m")  # the device error is red

    passing = make_run()
    passing.devices = passing.devices[:1]
    console = Console(record=True, width=220, file=open(os.devnull, "w"))  # noqa: SIM115
    print_summary(passing, console)
    assert console.export_text().rstrip().splitlines()[-1].startswith("PASS: 1/1 devices passed")


def test_cosine_histogram_bins_on_the_data_range() -> None:
    values = [0.99991, 0.99993, 0.99995, 0.99996, 0.99999, 1.0]
    svg = str(cosine_histogram_svg(values, threshold=0.999, title="t"))
    assert svg.count("<rect") >= 4  # fixed 0..1 bins would have put every text in one bar
    assert "0.99995" in svg and "(all above)" in svg
    assert cosine_histogram_svg([]) is None
    assert str(cosine_histogram_svg([1.0, 1.0])).count("<rect") == 1


def test_summary_and_renderers_agree(run: SignoffRun) -> None:
    assert summarize(run)["passed"] is run.passed is False
    assert build_signoff_manifest(run)["summary"] == summarize(run)
    assert render_junit(run).startswith("<?xml")
    assert render_html(run).rstrip().endswith("</html>")


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.Popen[bytes]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    return subprocess.Popen([binary, *flags, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_html_renders_in_headless_chromium(written: dict[str, Path], tmp_path: Path) -> None:
    if os.environ.get("AVA_SKIP_BROWSER") == "1":
        pytest.skip("AVA_SKIP_BROWSER=1")
    binary = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if binary is None:
        pytest.fail(
            f"{CHROMIUM} is not installed: run `make install` (it apt-get installs chromium), "
            "or set AVA_SKIP_BROWSER=1 to skip the browser check"
        )
    url = written["html"].resolve().as_uri()
    png = tmp_path / "signoff.png"
    # Both at once: each Chromium start costs a second or two, and the test must stay quick.
    shot = _chromium(binary, tmp_path / "profile-shot", f"--screenshot={png}", "--window-size=1280,2000", url)
    dom = _chromium(binary, tmp_path / "profile-dom", "--dump-dom", url)
    try:
        dom_out, dom_err = dom.communicate(timeout=40)
        _, shot_err = shot.communicate(timeout=40)
    finally:
        for proc in (shot, dom):
            if proc.poll() is None:
                proc.kill()
    assert dom.returncode == 0, dom_err.decode(errors="replace")[-2000:]
    assert shot.returncode == 0, shot_err.decode(errors="replace")[-2000:]
    rendered = dom_out.decode()
    assert rendered.count('class="matrix-row"') == 2
    assert rendered.count("<svg") >= 5  # four cosine histograms and the latency plot
    assert rendered.count("<circle") == 4 * 40  # every latency sample drawn
    assert 'id="verdict">FAIL<' in rendered
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000
    if os.environ.get("AVA_KEEP_SCREENSHOT"):
        shutil.copy(png, os.environ["AVA_KEEP_SCREENSHOT"])
