"""Chapter 28A.6, the product chapter's four sign-off tests: their texts, documents and thresholds.

The one home of these facts. The host evaluation, the device comparison and the device side
(through `request.json`) all read them from here.
"""

from __future__ import annotations

from types import MappingProxyType

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
