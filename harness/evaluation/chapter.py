"""Chapter 28A.6, the product chapter's four sign-off tests: their texts, documents and thresholds.

The one home of these facts. The host evaluation, the device comparison and the device side
(through `request.json`) all read them from here.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from harness.evaluation.embed import Embedder
from harness.evaluation.metrics import cosine_rows
from harness.gates import Gate

# Test 2: a vector is valid when every value is finite and its L2 norm lies strictly inside this range.
TEST_TEXT = "Test document"
NORM_RANGE: tuple[float, float] = (0.5, 2.0)

# Test 3: the quantized model's vector of this sentence against the FP32 model's.
SIMILARITY_TEXT = "Artificial intelligence is transforming the world"
MIN_COSINE = 0.95

# Test 4: the query must rank document 1 (AI) first and document 3 (weather) not first.
RAG_DOCUMENTS = MappingProxyType(
    {"1": "AI transforms industries", "2": "ML improves predictions", "3": "Weather is sunny"}
)
RAG_QUERY = "artificial intelligence"
RAG_EXPECTED_FIRST = "1"
RAG_NEVER_FIRST = "3"


def norm_in_range(norm: float) -> bool:
    return NORM_RANGE[0] < norm < NORM_RANGE[1]


def rag_ranking_passes(ranking: list[str]) -> bool:
    return bool(ranking) and ranking[0] == RAG_EXPECTED_FIRST and ranking[0] != RAG_NEVER_FIRST


def run_tests(candidate: Embedder, baseline: Embedder) -> list[Gate]:
    """Chapter 28A.6 tests 1-4 on the host."""
    results = [
        Gate(
            "test1_loads_with_dimension",
            candidate.session is not None and _output_dim(candidate) == candidate.spec.dimension,
            _output_dim(candidate),
            candidate.spec.dimension,
        )
    ]
    vector = candidate.embed([TEST_TEXT]).vectors[0]
    norm = float(np.linalg.norm(vector))
    finite = bool(np.all(np.isfinite(vector)))
    results.append(
        Gate(
            "test2_embeddings_valid",
            finite and vector.shape[0] == candidate.spec.dimension and norm_in_range(norm),
            round(norm, 6),
            f"finite, dim {candidate.spec.dimension}, {NORM_RANGE[0]} < L2 norm < {NORM_RANGE[1]}",
        )
    )
    pair = np.stack([candidate.embed([SIMILARITY_TEXT]).vectors[0], baseline.embed([SIMILARITY_TEXT]).vectors[0]])
    cosine = float(cosine_rows(pair[:1], pair[1:])[0])
    results.append(Gate("test3_cosine_vs_fp32", cosine > MIN_COSINE, round(cosine, 6), MIN_COSINE))
    ranking = rag_ranking(candidate)
    results.append(
        Gate(
            "test4_rag_ranking",
            rag_ranking_passes(ranking),
            ",".join(ranking),
            f"doc {RAG_EXPECTED_FIRST} first, doc {RAG_NEVER_FIRST} not first",
        )
    )
    return results


def rag_ranking(embedder: Embedder) -> list[str]:
    doc_ids = list(RAG_DOCUMENTS)
    docs = embedder.embed([RAG_DOCUMENTS[d] for d in doc_ids]).vectors
    query = embedder.embed([RAG_QUERY]).vectors
    scores = cosine_rows(np.repeat(query, len(docs), axis=0), docs)
    return [doc_ids[i] for i in np.argsort(-scores, kind="stable")]


def _output_dim(embedder: Embedder) -> int:
    return int(embedder.embed(["dimension probe"]).vectors.shape[1])
