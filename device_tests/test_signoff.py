"""Release sign-off gates per device and model (chapter 28A tests 1-4 on the device, parity
with the host, tokenizer agreement, latency budget)."""

from __future__ import annotations

import pytest

from harness.signoff.results import ModelOnDevice, SignoffRun


def _gate(result: ModelOnDevice, name: str):  # -> Gate
    gate = next((g for g in result.gates if g.name == name), None)
    if gate is None:
        pytest.fail(f"{result.model_id}: gate {name} was not measured", pytrace=False)
    return gate


def _check(result: ModelOnDevice, name: str) -> None:
    gate = _gate(result, name)
    assert gate.passed, f"{result.model_id} {name}: {gate.value} vs {gate.threshold} {gate.detail}"


def test_chapter1_model_loads_with_its_dimension(result: ModelOnDevice) -> None:
    _check(result, "device_test1_loads_with_dimension")


def test_chapter2_embeddings_are_valid(result: ModelOnDevice) -> None:
    _check(result, "device_test2_embeddings_valid")


def test_chapter3_cosine_vs_fp32(result: ModelOnDevice) -> None:
    _check(result, "fp32_test3_cosine")
    _check(result, "fp32_mean_cosine")


def test_chapter4_rag_ranking(result: ModelOnDevice) -> None:
    _check(result, "device_test4_rag_ranking")


def test_parity_with_host(result: ModelOnDevice) -> None:
    _check(result, "parity_min_cosine")


def test_end_to_end_tokenizer_agreement(result: ModelOnDevice, signoff: SignoffRun) -> None:
    if signoff.settings.get("mode") == "model_parity":
        pytest.skip("--mode model_parity: the device was not asked to tokenize")
    _check(result, "e2e_token_agreement")
    _check(result, "e2e_min_cosine")


def test_retrieval_on_device_vs_fp32(result: ModelOnDevice) -> None:
    _check(result, "retrieval_top1_retention")


def test_latency_budget(result: ModelOnDevice) -> None:
    _check(result, "latency_p50_ms")
