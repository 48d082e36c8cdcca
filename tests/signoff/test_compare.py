"""compare_model: the device-vs-host gates as pure decisions on arrays (no models, no devices)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.android.contract import DeviceResult
from harness.evaluation import chapter
from harness.gates import ParityGates, QualityGates
from harness.signoff.compare import SignoffSet, compare_model
from harness.signoff.results import ModelOnDevice

# 2 chapter texts, 2 documents, 2 queries (query i belongs to document i)
SIGNOFF = SignoffSet(texts=("a", "b", "d0", "d1", "q0", "q1"), query_rows=(4, 5), doc_rows=(2, 3), qrels=(0, 1))


def _device_result(chapter_tests: dict[str, bool] | None = None, errors: tuple[str, ...] = ()) -> DeviceResult:
    return DeviceResult(
        model_id="M-INT8",
        sha256="0" * 64,
        load_ms=100.0,
        cold_ms=20.0,
        latency_ms=(10.0, 12.0, 11.0),
        peak_memory_kb=1000,
        ort_version="1.32.0",
        execution_provider="CPU",
        abi="x86_64",
        dimension=8,
        chapter_tests=chapter_tests if chapter_tests is not None else {"test1_loads_with_dimension": True},
        rag_ranking=("1", "2", "3"),
        errors=errors,
    )


RAW = _device_result()


def _vectors(seed: int = 0, rows: int = 6, dim: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(rows, dim)).astype(np.float32)
    vectors[4] = vectors[2] + 0.01  # each query next to its document
    vectors[5] = vectors[3] + 0.01
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _compare(device: np.ndarray | None, host: np.ndarray, *, strict: bool = True, **kwargs) -> ModelOnDevice:
    result = ModelOnDevice("M-INT8", "INT8", "0" * 64, 1, latency_samples_ms=[10.0, 12.0, 11.0])
    kwargs.setdefault("device_token_ids", [[1, 2]] * 6)
    return compare_model(
        result,
        device_embeddings=device,
        host_embeddings=host,
        host_fp32_embeddings=host,
        device_e2e_embeddings=kwargs.pop("device_e2e_embeddings", device),
        host_token_ids=[[1, 2]] * 6,
        device_result=kwargs.pop("device_result", RAW),
        signoff=SIGNOFF,
        parity=kwargs.pop("parity", ParityGates()),
        quality=kwargs.pop("quality", QualityGates(min_mean_cosine=0.99)),
        strict=strict,
        **kwargs,
    )


def _gate(result: ModelOnDevice, name: str):
    return next(g for g in result.gates if g.name == name)


def test_identical_vectors_pass_every_gate():
    host = _vectors()
    result = _compare(host.copy(), host)
    assert result.passed, [g for g in result.gates if not g.passed]
    assert result.parity["min_cosine"] == pytest.approx(1.0)
    assert _gate(result, "fp32_test3_cosine").threshold == chapter.MIN_COSINE


def test_parity_below_threshold_fails_when_strict():
    host = _vectors()
    device = host.copy()
    device[1] = _vectors(seed=7)[1]  # one text's vector is another's
    result = _compare(device, host)
    gate = _gate(result, "parity_min_cosine")
    assert not gate.passed and gate.value < 0.999
    assert not result.passed
    # per text, for the worst-cases tables: text 1 (0-based) is the one that moved, on both
    assert len(result.parity_cosines) == len(result.fp32_cosines) == 6
    assert int(np.argmin(result.parity_cosines)) == int(np.argmin(result.fp32_cosines)) == 1
    assert min(result.fp32_cosines) == pytest.approx(result.vs_fp32["min_cosine"])


def test_the_worst_text_is_gated_only_when_the_profile_asks():
    host = _vectors()
    device = host.copy()
    device[1] = _vectors(seed=7)[1]  # one text moved: the mean may pass, the worst text does not
    assert all(g.name != "fp32_min_cosine" for g in _compare(device, host, strict=False).gates)
    mixed = QualityGates(min_mean_cosine=0.0, min_worst_cosine=0.998)
    gate = _gate(_compare(device, host, strict=False, quality=mixed), "fp32_min_cosine")
    assert not gate.passed and gate.value == pytest.approx(min(host[i] @ device[i] for i in range(6)), abs=1e-6)
    assert _gate(_compare(host.copy(), host, quality=mixed), "fp32_min_cosine").passed


def test_parity_below_threshold_is_reported_not_gated_when_not_strict():
    host = _vectors()
    device = host.copy()
    device[1] = _vectors(seed=7)[1]
    gate = _gate(_compare(device, host, strict=False), "parity_min_cosine")
    assert gate.passed and gate.value < 0.999 and "reported, not gated" in gate.detail


def test_missing_embeddings_fail_the_parity_gate_with_a_reason():
    result = _compare(None, _vectors(), device_e2e_embeddings=None)
    gate = _gate(result, "parity_min_cosine")
    assert not gate.passed and gate.value is None and "no embeddings" in gate.detail
    assert not result.passed


def test_no_latency_samples_fail_the_latency_gate():
    host = _vectors()
    result = ModelOnDevice("M-INT8", "INT8", "0" * 64, 1)
    compare_model(
        result,
        device_embeddings=host,
        host_embeddings=host,
        host_fp32_embeddings=host,
        device_e2e_embeddings=None,
        device_token_ids=None,
        host_token_ids=[[1]] * 6,
        device_result=RAW,
        signoff=SIGNOFF,
        parity=ParityGates(),
        quality=QualityGates(),
    )
    gate = _gate(result, "latency_p50_ms")
    assert not gate.passed and gate.detail == "no latency samples"


def test_latency_over_budget_fails():
    host = _vectors()
    result = _compare(host, host, parity=ParityGates(max_latency_p50_ms=5.0))
    gate = _gate(result, "latency_p50_ms")
    assert not gate.passed and gate.value == pytest.approx(11.0)


def test_token_disagreement_names_the_first_differing_text():
    host = _vectors()
    ids = [[1, 2]] * 6
    ids[3] = [1, 3]
    gate = _gate(_compare(host, host, device_token_ids=ids), "e2e_token_agreement")
    assert not gate.passed and gate.value == pytest.approx(5 / 6) and "text #4" in gate.detail


def test_device_reported_errors_and_failed_chapter_tests_fail():
    host = _vectors()
    raw = _device_result({"test4_rag_ranking": False}, ("norm out of range",))
    result = _compare(host, host, device_result=raw)
    assert not _gate(result, "device_test4_rag_ranking").passed
    # a check's value is a boolean, not the text 'false' (report schema v2)
    check = _gate(result, "device_test4_rag_ranking")
    assert (check.value, check.threshold) == (False, True) and isinstance(check.value, bool)
    assert result.end_to_end["texts"] == 6 and isinstance(result.end_to_end["texts"], int)
    assert not _gate(result, "device_check").passed
    assert not result.passed


def test_x86_divergence_is_reported_beside_an_arm64_reference():
    host = _vectors()
    x86 = host.copy()
    x86[0] = _vectors(seed=3)[0]
    gate = _gate(_compare(host, host, x86_embeddings=x86), "x86_divergence_min_cosine")
    assert gate.passed and gate.value < 0.999 and gate.threshold is None


def test_nan_embeddings_fail_parity_with_a_reason():
    host = _vectors()
    device = host.copy()
    device[2, 3] = np.nan
    result = _compare(device, host)
    gate = _gate(result, "parity_min_cosine")
    assert not gate.passed and "1 non-finite" in gate.detail and not result.passed


def test_all_nan_end_to_end_embeddings_fail():
    host = _vectors()
    e2e = np.full_like(host, np.nan)
    result = _compare(host.copy(), host, device_e2e_embeddings=e2e)
    gate = _gate(result, "e2e_min_cosine")
    assert not gate.passed and "non-finite" in gate.detail and not result.passed


def test_end_to_end_vectors_far_from_the_reference_fail():
    host = _vectors()
    e2e = host.copy()
    e2e[0] = _vectors(seed=11)[0]
    gate = _gate(_compare(host.copy(), host, device_e2e_embeddings=e2e), "e2e_min_cosine")
    assert not gate.passed and gate.value < 0.999


def test_missing_end_to_end_output_fails_when_it_was_asked_for():
    host = _vectors()
    result = _compare(host.copy(), host, device_e2e_embeddings=None, device_token_ids=None, expect_end_to_end=True)
    assert not _gate(result, "e2e_min_cosine").passed
    assert not _gate(result, "e2e_token_agreement").passed
    assert not result.passed


def test_latency_on_an_emulator_is_shown_not_gated_unless_asked():
    host = _vectors()
    tight = ParityGates(max_latency_p50_ms=0.0001)
    shown = _gate(_compare(host, host, parity=tight, emulated=True), "latency_p50_ms")
    assert shown.passed and shown.value == pytest.approx(11.0) and "not gated" in shown.detail
    gated = ParityGates(max_latency_p50_ms=0.0001, gate_latency_on_emulators=True)
    assert not _gate(_compare(host, host, parity=gated, emulated=True), "latency_p50_ms").passed
    assert not _gate(_compare(host, host, parity=tight, emulated=False), "latency_p50_ms").passed
