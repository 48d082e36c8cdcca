"""The baseline comparison's decisions (harness.signoff.baseline), on hand-made runs: devices
matched by model and ABI, each regression gate at its threshold, rows for what only one run
has, the gates landing on the run's models, and the baseline files a run cannot be compared with."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness import regression_gates as rg
from harness.errors import HarnessError, InputError
from harness.gates import Gate
from harness.regression_gates import RegressionGates
from harness.reports.diff import diff_runs
from harness.reports.history import find_runs, load_baseline, render_history, resolve_run, update_latest
from harness.reports.writers import write_reports
from harness.signoff.baseline import (
    Baseline,
    apply_baseline,
    check_baseline,
    compare_runs,
    decode_embeddings,
    device_key,
    embeddings_file,
    encode_embeddings,
    pair_devices,
)
from harness.signoff.results import DeviceRun, HostModel, ModelOnDevice, SignoffRun

MODEL = "AVA-ONX-384-FAST-INT8"
PIXEL = {"ro.product.manufacturer": "Google", "ro.product.model": "Pixel 8", "ro.product.cpu.abi": "arm64-v8a"}
TAB = {"ro.product.manufacturer": "Samsung", "ro.product.model": "Tab S9", "ro.product.cpu.abi": "arm64-v8a"}
TEXTS = ["one", "two", "three", "four"]


def _device(serial: str, props: dict, *, sha: str = "a" * 64, p50: float = 10.0, emulator: bool = False) -> dict:
    model = {"model_id": MODEL, "sha256": sha, "latency_ms": {"p50": p50}, "parity": {"min_cosine": 0.9999}}
    return {"serial": serial, "props": props, "health": {"emulator": emulator}, "models": [model], "artifacts": {}}


def _run(*devices: dict, sha: str = "a" * 64, size: int = 1000, sts: float = 0.999, pairs: int = 40) -> dict:
    quality = {"sts_retention": sts, "xquad_top1_retention": 1.0, "sts_pairs": pairs, "xquad_queries": 40}
    host = {"model_id": MODEL, "sha256": sha, "size_bytes": size, "quality": quality, "preset": "arm64"}
    return {
        "run_id": "r",
        "texts": TEXTS,
        "models": [host],
        "devices": list(devices),
        "settings": {"app_package": "com.augmentalis.ava"},
    }


def _vectors(seed: int, noise: float = 0.0) -> np.ndarray:
    base = np.random.default_rng(0).normal(size=(len(TEXTS), 8))
    return base + noise * np.random.default_rng(seed).normal(size=base.shape)


def _compare(here: dict, there: dict, vh=None, vt=None, **kwargs: Any) -> dict[tuple[str, str], dict]:
    result = compare_runs(
        here,
        there,
        here_vectors=lambda i, m: vh,
        there_vectors=lambda i, m: vt,
        gates=RegressionGates(),
        **kwargs,
    )
    return {(r["where"], r["figure"]): r for r in result["rows"]} | {("passed", ""): {"passed": result["passed"]}}


def test_devices_pair_by_model_and_abi_not_serial():
    here = [_device("new-serial", TAB), _device("serial-2", PIXEL)]
    there = [_device("old-serial", PIXEL), _device("x", {"ro.product.model": "Gone"})]
    assert pair_devices(here, there) == [(0, None), (1, 0), (None, 1)]
    assert device_key(here[1]) == "Google Pixel 8 (arm64-v8a)"
    # two phones of one model pair up in order
    assert pair_devices([_device("a", PIXEL), _device("b", PIXEL)], [_device("c", PIXEL), _device("d", PIXEL)]) == [
        (0, 0),
        (1, 1),
    ]


def test_same_file_same_figures_passes_and_cosine_is_shown_not_gated():
    v = _vectors(1)
    rows = _compare(_run(_device("s1", PIXEL)), _run(_device("s0", PIXEL)), v, v)
    cosine = rows[("Google Pixel 8 (arm64-v8a)", "embedding_cosine_mean")]
    assert cosine["this_run"] == pytest.approx(1.0) and not cosine["gated"] and cosine["passed"]
    assert rows[("host", "size_bytes")]["passed"] and rows[("host", "size_bytes")]["change"] == 0
    assert rows[("passed", "")]["passed"] is True


def test_a_changed_file_whose_vectors_drift_fails_the_cosine_gate():
    here = _run(_device("s1", PIXEL, sha="b" * 64), sha="b" * 64)
    rows = _compare(here, _run(_device("s0", PIXEL)), _vectors(1, noise=0.5), _vectors(1))
    cosine = rows[("Google Pixel 8 (arm64-v8a)", "embedding_cosine_mean")]
    assert cosine["gated"] and cosine["passed"] is False and cosine["value"] < rg.RegressionGates().min_embedding_cosine
    assert rows[("passed", "")]["passed"] is False
    # a tiny drift passes
    rows = _compare(here, _run(_device("s0", PIXEL)), _vectors(1, noise=0.001), _vectors(1))
    assert rows[("Google Pixel 8 (arm64-v8a)", "embedding_cosine_mean")]["passed"] is True


def test_cosine_uses_only_texts_both_runs_embedded():
    here, there = _run(_device("s1", PIXEL, sha="b" * 64)), _run(_device("s0", PIXEL))
    there["texts"] = ["four", "zero", "one"]
    v = _vectors(1)
    vt = np.stack([v[3], -v[0], v[0]])  # "zero" points the other way: it must not be compared
    row = _compare(here, there, v, vt)[("Google Pixel 8 (arm64-v8a)", "embedding_cosine_mean")]
    assert row["this_run"] == pytest.approx(1.0) and "2 texts" in row["why"]


@pytest.mark.parametrize(("size", "passed"), [(1049, True), (1050, True), (1051, False)])
def test_size_ratio_gate_at_its_threshold(size, passed):
    rows = _compare(_run(size=size), _run(size=1000))
    assert rows[("host", "size_bytes")]["passed"] is passed and rows[("host", "size_bytes")]["gate"] == rg.SIZE_RATIO


@pytest.mark.parametrize(("sts", "passed"), [(0.9941, True), (0.9930, False), (1.02, True)])
def test_retention_drop_gate(sts, passed):
    row = _compare(_run(sts=sts), _run(sts=0.999))[("host", "sts_retention")]
    assert row["gated"] and row["passed"] is passed


def test_retention_on_different_item_counts_is_shown_not_gated():
    row = _compare(_run(sts=0.5, pairs=37), _run(sts=0.999, pairs=40))[("host", "sts_retention")]
    assert not row["gated"] and row["passed"] is True and "37 vs 40" in row["why"]


def test_latency_ratio_is_gated_on_phones_only():
    phone = _compare(_run(_device("s1", PIXEL, p50=13.0)), _run(_device("s0", PIXEL, p50=10.0)))
    row = phone[("Google Pixel 8 (arm64-v8a)", "latency_p50_ms")]
    assert row["gated"] and row["passed"] is False and row["value"] == pytest.approx(1.3)
    emu = _compare(_run(_device("s1", PIXEL, p50=13.0, emulator=True)), _run(_device("s0", PIXEL, p50=10.0)))
    row = emu[("Google Pixel 8 (arm64-v8a)", "latency_p50_ms")]
    assert not row["gated"] and row["passed"] is True and "emulated" in row["why"]
    forced = _compare(
        _run(_device("s1", PIXEL, p50=13.0, emulator=True)),
        _run(_device("s0", PIXEL, p50=10.0)),
        gate_latency_on_emulators=True,
    )
    assert forced[("Google Pixel 8 (arm64-v8a)", "latency_p50_ms")]["passed"] is False


def test_a_model_or_device_in_one_run_only_is_a_row_never_an_error():
    here = _run(_device("s1", PIXEL), _device("s2", TAB))
    there = _run(_device("s0", PIXEL))
    there["models"].append({"model_id": "AVA-ONX-384-BASE-INT8", "quality": {}})
    there["devices"][0]["models"].append({"model_id": "AVA-ONX-384-BASE-INT8"})
    result = compare_runs(
        here, there, here_vectors=lambda i, m: None, there_vectors=lambda i, m: None, gates=RegressionGates()
    )
    notes = {(r["where"], r["model_id"], r["why"]) for r in result["rows"] if r["figure"] in ("model", "device")}
    assert ("host", "AVA-ONX-384-BASE-INT8", "only in the baseline") in notes
    assert ("Google Pixel 8 (arm64-v8a)", "AVA-ONX-384-BASE-INT8", "only in the baseline") in notes
    assert any(w.startswith("Samsung Tab S9") and "only in this run" in why for w, _, why in notes)
    missing = next(r for r in result["rows"] if r["figure"] == "embedding_cosine_mean")
    assert missing["passed"] is None and "no device vectors" in missing["why"]
    assert result["passed"] is True


def test_check_baseline_refuses_another_model_set_or_app_package(tmp_path):
    path = tmp_path / "signoff.json"
    with pytest.raises(InputError, match=r"signoff.json: the baseline ran another model set"):
        check_baseline(_run(), path, ["AVA-ONX-384-BASE-INT8"], "com.augmentalis.ava")
    with pytest.raises(InputError, match=r"signoff.json: the baseline ran app package com.augmentalis.ava, this run"):
        check_baseline(_run(), path, [MODEL], "com.other.app")
    check_baseline(_run(), path, [MODEL, "AVA-ONX-384-BASE-INT8"], "com.augmentalis.ava")  # one in common: fine


def test_embeddings_round_trip_small_and_a_bad_file_is_an_input_error():
    v = _vectors(3).astype(np.float32)
    data = encode_embeddings(v)
    assert np.allclose(decode_embeddings(data, "x"), v, atol=1e-2)
    with pytest.raises(InputError, match=r"bad\.npz: not an embeddings file"):
        decode_embeddings(b"not a zip", "bad.npz")


def _signoff_run(serial: str, sha: str, vectors: np.ndarray, run_id: str = "run-b", day: int = 2) -> SignoffRun:
    model = ModelOnDevice(MODEL, "INT8", sha, 1000, latency_ms={"p50": 5.0}, gates=[Gate("parity_min_cosine", True)])
    device = DeviceRun(serial, props=dict(PIXEL), health={"emulator": True}, status="passed", models=[model])
    device.artifact_data[embeddings_file(MODEL)] = encode_embeddings(vectors)
    host = HostModel(MODEL, "INT8", sha, 1000, 4000, {"sts_retention": 0.99, "sts_pairs": 40}, [Gate("host_x", True)])
    created = f"2026-01-{day:02d}T00:00:00+00:00"
    run = SignoffRun(run_id, created, "0", "1", TEXTS, [host], [device])
    run.settings = {"app_package": "com.augmentalis.ava"}
    return run


def _write_baseline(tmp_path: Path, vectors: np.ndarray, run_id: str = "run-a", day: int = 1) -> Path:
    """A run written by the real report writers (its vectors kept as the device's artifact)."""
    return write_reports(_signoff_run("old", "a" * 64, vectors, run_id, day), tmp_path / run_id).directory


def test_apply_baseline_puts_failed_regression_gates_on_the_run(tmp_path):
    run_dir = _write_baseline(tmp_path, _vectors(1))
    baseline = load_baseline(str(run_dir), tmp_path, RegressionGates())
    run = _signoff_run("new", "b" * 64, _vectors(1, noise=0.5))
    comparison = apply_baseline(run, baseline)
    assert run.baseline is comparison and comparison["passed"] is False and comparison["run_id"] == "run-a"
    (device,) = run.devices
    failed = [g.name for g in device.models[0].gates if not g.passed]
    assert failed == [rg.EMBEDDING_COSINE] and device.status == "failed" and int(run.exit_code) == 1
    assert any(g.name == rg.SIZE_RATIO and g.passed for g in run.models[0].gates)
    assert "run-a" in json.dumps(run.to_dict()["baseline"])
    # the same vectors again: passes
    run = _signoff_run("new", "b" * 64, _vectors(1))
    assert apply_baseline(run, baseline)["passed"] is True and run.passed


@pytest.mark.unvalidated_reports  # holds a broken signoff.json on purpose
def test_resolve_latest_and_the_latest_link(tmp_path):
    with pytest.raises(InputError, match="no earlier run"):
        resolve_run("latest", tmp_path)
    _write_baseline(tmp_path, _vectors(1))
    newer = _write_baseline(tmp_path, _vectors(1), "run-b", day=9)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "signoff.json").write_text("{")
    assert resolve_run("latest", tmp_path) == newer / "signoff.json"
    link = update_latest(tmp_path)
    assert link is not None and link.is_symlink() and os.readlink(link) == "run-b"
    assert update_latest(tmp_path) == link and os.readlink(link) == "run-b"  # replaced in place
    assert not list(tmp_path.glob(".latest*"))  # no temporary link left
    runs, unreadable = find_runs(tmp_path)
    assert [r.run_id for r in runs] == ["run-a", "run-b"] and len(unreadable) == 1 and "junk" in unreadable[0]
    page = render_history(runs, unreadable)
    assert page.count("<svg") >= 3 and 'href="run-a/signoff.html"' in page and "not read:" in page


@pytest.mark.unvalidated_reports  # a newer schema than the schemas/ on purpose
def test_a_newer_schema_baseline_is_refused_naming_the_file(tmp_path):
    run_dir = _write_baseline(tmp_path, _vectors(1))
    doc = json.loads((run_dir / "signoff.json").read_text()) | {"schema_version": 99}
    (run_dir / "signoff.json").write_text(json.dumps(doc))
    with pytest.raises(HarnessError, match=r"signoff.json: schema_version 99 is newer"):
        load_baseline(str(run_dir), tmp_path, RegressionGates())


def test_diff_names_changed_figures_and_models_in_one_run_only():
    a = _run(_device("s0", PIXEL))
    b = _run(_device("s1", PIXEL, p50=12.0), size=1100)
    b["devices"][0]["models"].append({"model_id": "NEW-INT8"})
    diff = diff_runs(a, b)
    changed = {(c["where"], c["figure"]): c for c in diff["changes"]}
    assert changed[("host", "size_bytes")]["change"] == 100
    assert changed[("Google Pixel 8 (arm64-v8a)", "latency_ms.p50")]["b"] == 12.0
    assert not any(c["figure"] == "sha256" for c in diff["changes"])  # unchanged: not listed
    assert {"where": "Google Pixel 8 (arm64-v8a)", "model_id": "NEW-INT8", "note": "model only in RUN_B"} in diff[
        "notes"
    ]


def test_regression_thresholds_are_checked():
    with pytest.raises(InputError, match="--baseline-max-size-ratio"):
        RegressionGates(max_size_ratio=0.5)
    with pytest.raises(InputError, match="--baseline-min-cosine"):
        RegressionGates(min_embedding_cosine=float("nan"))
    assert Baseline(Path("x/signoff.json"), {}).directory == Path("x")


@pytest.mark.parametrize(
    "garbage",
    [
        {"models": [None, 3, {"model_id": ["x"]}], "devices": [None, {"props": [1], "models": "no"}]},
        {"models": "x", "devices": {"a": 1}, "texts": [None, 5, {}]},
        {"models": [{"model_id": MODEL, "quality": [], "size_bytes": "big"}], "devices": [{"health": "?"}]},
    ],
)
def test_a_hostile_baseline_document_never_crashes_the_comparison(garbage, tmp_path):
    here = _run(_device("s1", PIXEL))
    result = compare_runs(
        here, garbage, here_vectors=lambda i, m: _vectors(1), there_vectors=lambda i, m: None, gates=RegressionGates()
    )
    assert isinstance(result["rows"], list) and result["passed"] in (True, False)
    baseline = Baseline(
        tmp_path / "run" / "signoff.json", {"devices": [{"artifacts": {embeddings_file(MODEL): "../x"}}]}
    )
    (tmp_path / "x").write_bytes(encode_embeddings(_vectors(1)))
    assert baseline.vectors(0, MODEL) is None  # outside the baseline's directory: never read


def test_a_comparison_that_raises_is_recorded_not_raised(tmp_path, monkeypatch):
    import harness.signoff.baseline as module

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(module, "compare_runs", broken)
    run = _signoff_run("new", "b" * 64, _vectors(1))
    comparison = apply_baseline(run, Baseline(tmp_path / "signoff.json", {"run_id": "run-a"}))
    assert comparison["error"] == "the comparison failed: ZeroDivisionError: boom" and comparison["rows"] == []
    written = write_reports(run, tmp_path / "out")
    assert "not compared (the comparison failed" in written["html"].read_text()
