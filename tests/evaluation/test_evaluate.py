"""Evaluation metrics on hand-checked cases, and a real (subset) evaluation of INT8 vs FP32."""

from __future__ import annotations

import json

import pytest

from harness.evaluation.datasets import STSB_TEST, XQUAD_EN, load_squad_retrieval, load_sts_csv
from harness.evaluation.evaluate import EmbeddingCache, evaluate
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def int8_report(registry, model_file, tmp_path_factory):
    model_file("AVA-ONX-384-BASE-INT8")
    sts = load_sts_csv(STSB_TEST)[:300]
    xquad = load_squad_retrieval(XQUAD_EN, "xquad_en").head(200)
    cache = EmbeddingCache(tmp_path_factory.mktemp("cache"))
    return evaluate(
        registry.get("AVA-ONX-384-BASE-INT8"),
        registry.get("AVA-ONX-384-BASE"),
        sts_pairs=sts,
        retrieval_sets=[xquad],
        latency_texts=8,
        cache=cache,
    )


@pytest.mark.slow  # a real evaluation of real models
def test_int8_passes_the_chapter_tests_and_its_gates(int8_report):
    assert [c.name for c in int8_report.chapter_tests] == [
        "test1_loads_with_dimension",
        "test2_embeddings_valid",
        "test3_cosine_vs_fp32",
        "test4_rag_ranking",
    ]
    assert all(c.passed for c in int8_report.chapter_tests), int8_report.chapter_tests
    assert int8_report.gates and all(g.passed for g in int8_report.gates), int8_report.gates
    assert 0.98 < int8_report.cosine_vs_baseline["mean"] < 0.9999  # INT8 really differs from FP32
    assert int8_report.size_ratio < 0.26
    assert int8_report.sts["pairs"] == 300 and int8_report.retrieval["xquad_en"]["queries"] == 200
    assert int8_report.latency_ms["p50"] > 0 and int8_report.latency_ms["speedup_p50"] > 0


@pytest.mark.slow  # a real evaluation of real models
def test_a_wrong_model_fails_the_gates(registry, model_file, tmp_path):
    """The gates can fail: paraphrase-MiniLM-L3-v2 posing as all-MiniLM-L6-v2's INT8."""
    model_file("AVA-ONX-384-BASE")
    spec = registry.get("AVA-ONX-384-BASE")
    wrong = spec.__class__(
        **{
            **spec.__dict__,
            "id": "WRONG-INT8",
            "variant": "INT8",
            "inputs": ("input_ids", "attention_mask"),
            "output": "461",
            "normalize": True,
        }
    )
    report = evaluate(
        wrong,
        spec,
        candidate_path=model_file("AVA-ONX-384-FAST"),
        sts_pairs=load_sts_csv(STSB_TEST)[:50],
        retrieval_sets=[],
        latency_texts=0,
        cache=EmbeddingCache(tmp_path),
    )
    assert not report.passed
    assert any(g.name == "mean_cosine" and not g.passed for g in report.gates)


@pytest.mark.slow  # a real evaluation of real models
def test_fp32_against_itself_is_identical(registry, model_file, tmp_path):
    model_file("AVA-ONX-384-FAST")
    spec = registry.get("AVA-ONX-384-FAST")
    report = evaluate(
        spec,
        spec,
        sts_pairs=load_sts_csv(STSB_TEST)[:40],
        retrieval_sets=[],
        latency_texts=0,
        cache=EmbeddingCache(tmp_path),
    )
    assert report.cosine_vs_baseline["min"] > 0.99999 and report.sts["retention"] == pytest.approx(1.0)


@pytest.mark.slow  # a real evaluation of real models
def test_cli_eval_prints_quality_and_size_tables(model_file, tmp_path):
    model_file("AVA-ONX-384-BASE-INT8")
    out = tmp_path / "eval.json"
    result = run_cli("eval", "AVA-ONX-384-BASE-INT8", "--limit", "60", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "Quality Impact" in result.stdout and "Size Reduction" in result.stdout
    assert "AVA-ONX-384-BASE-INT8" in result.stdout
    data = json.loads(out.read_text())
    assert data["passed"] is True and data["sts"]["pairs"] == 60 and data["size_ratio"] < 0.26
