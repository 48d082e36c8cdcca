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
