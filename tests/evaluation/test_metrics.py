"""harness.evaluation.metrics: pure figures on hand-made numbers."""

from __future__ import annotations

import numpy as np
import pytest

from harness.evaluation.metrics import retrieval_metrics, spearman


def test_spearman_matches_hand_computed_values():
    assert spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(0.8207826816681233)  # scipy's value
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(0.8660254037844387)  # ties: average ranks


def test_retrieval_metrics_on_a_hand_made_ranking():
    docs = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    queries = np.array([[0.9, 0.1, 0], [0.6, 0.8, 0]], dtype=np.float32)  # q1 -> d0 first; q2 -> d1 first, d0 second
    qrels = {"q1": {"d0": 1}, "q2": {"d0": 1}}
    m = retrieval_metrics(queries, docs, ["d0", "d1", "d2"], ["q1", "q2"], qrels)
    assert m.top1 == 0.5 and m.top5 == 1.0
    assert m.mrr10 == pytest.approx((1 + 0.5) / 2)
    assert m.ndcg10 == pytest.approx((1 + 1 / np.log2(3)) / 2)


def test_embedding_progress_counts_every_text_and_estimates_what_is_left():
    from harness.evaluation.evaluate import _EmbeddingProgress

    now = [0.0]
    lines: list[str] = []
    progress = _EmbeddingProgress(100, lines.append, clock=lambda: now[0])
    now[0] = 1.0
    progress.advance(10)  # within the reporting interval: quiet
    assert lines == []
    now[0] = 10.0
    progress.advance(40)  # 50 texts in 10 s: 50 more take 10 s
    assert lines == ["embedded 50/100 texts, ETA 0:10"]
    now[0] = 11.0
    progress.advance(50)  # the last batch is always reported
    assert lines[-1] == "embedded 100/100 texts, ETA 0:00"
