"""Figures of agreement and ranking: row-wise cosine, Spearman's rho, retrieval metrics, percentiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two [n, d] arrays, computed in float64."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    denom = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
    return (a64 * b64).sum(axis=1) / np.clip(denom, 1e-30, None)


def percentiles(samples: list[float]) -> dict[str, float | int]:
    if not samples:
        return {}
    values = np.asarray(samples, dtype=np.float64)
    # n is a count: an int in the reports, never 40.0.
    return {f"p{p}": float(np.percentile(values, p)) for p in (50, 90, 99)} | {"n": len(values)}


@dataclass
class RetrievalMetrics:
    top1: float
    top5: float
    mrr10: float
    ndcg10: float
    queries: int
    documents: int


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho with average ranks for ties (as scipy.stats.spearmanr)."""
    rx, ry = _average_ranks(np.asarray(x, dtype=np.float64)), _average_ranks(np.asarray(y, dtype=np.float64))
    rx -= rx.mean()
    ry -= ry.mean()
    denom = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denom) if denom else 0.0


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def retrieval_metrics(
    query_vectors: np.ndarray,
    doc_vectors: np.ndarray,
    doc_ids: Sequence[str],
    query_ids: Sequence[str],
    qrels: dict[str, dict[str, int]],
) -> RetrievalMetrics:
    scores = query_vectors.astype(np.float64) @ doc_vectors.astype(np.float64).T
    k = min(10, len(doc_ids))
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top1 = top5 = mrr = ndcg = 0.0
    for row, query_id in enumerate(query_ids):
        relevant = qrels[query_id]
        ranked = [doc_ids[i] for i in top[row]]
        hits = [relevant.get(doc, 0) for doc in ranked]
        top1 += 1.0 if hits[0] > 0 else 0.0
        top5 += 1.0 if any(h > 0 for h in hits[:5]) else 0.0
        first = next((i for i, h in enumerate(hits) if h > 0), None)
        mrr += 1.0 / (first + 1) if first is not None else 0.0
        dcg = sum((2**h - 1) / np.log2(i + 2) for i, h in enumerate(hits))
        ideal = sorted(relevant.values(), reverse=True)[:k]
        idcg = sum((2**h - 1) / np.log2(i + 2) for i, h in enumerate(ideal))
        ndcg += dcg / idcg if idcg else 0.0
    n = len(query_ids)
    return RetrievalMetrics(top1 / n, top5 / n, mrr / n, ndcg / n, n, len(doc_ids))
