"""request.json of the device contract (v3): its version and the chapter 28A thresholds it carries."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

CONTRACT = "ava-harness-device/4"
# The profiled pass (request "profile": true) runs texts[0] this many times at most.
PROFILE_RUNS_MAX = 10


class RequestError(ValueError):
    """A field of request.json is missing or malformed."""


@dataclass(frozen=True)
class Chapter:
    """request.json's "chapter": the thresholds of chapter 28A.6's tests 2 and 4 (contract v2)."""

    norm_range: tuple[float, float]  # test 2: every L2 norm strictly inside
    documents: dict[str, str]  # test 4: id -> text, in the request's order (ties keep it)
    query: str
    expected_first: str  # this document must rank first ...
    never_first: str  # ... and this one must not

    def embeddings_valid(self, array: np.ndarray) -> bool:
        """Chapter test 2: every value finite and every row's L2 norm in the open range."""
        norms = np.linalg.norm(array, axis=1)
        low, high = self.norm_range
        return bool(np.all(np.isfinite(array))) and bool(np.all((norms > low) & (norms < high)))

    def ranking_passes(self, ranking: list[str]) -> bool:
        return bool(ranking) and ranking[0] == self.expected_first and ranking[0] != self.never_first


def parse_chapter(request: dict[str, Any], source: str = "request.json") -> Chapter:
    """Validates request.json's "chapter"; RequestError names the field that is wrong."""
    where = f"{source}.chapter"

    def child(obj: dict[str, Any], key: str, at: str) -> Any:
        if obj.get(key) is None:
            raise RequestError(f'{at}: missing "{key}"')
        return obj[key]

    def text(obj: dict[str, Any], key: str, at: str) -> str:
        value = child(obj, key, at)
        if not isinstance(value, str):
            raise RequestError(f'{at}: "{key}" must be a string')
        return value

    chapter = child(request, "chapter", source)
    if not isinstance(chapter, dict):
        raise RequestError(f'{source}: "chapter" must be an object')
    bounds = child(chapter, "normRange", where)
    if (
        not isinstance(bounds, list)
        or len(bounds) != 2
        or not all(isinstance(b, int | float) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)
        or not 0 <= bounds[0] < bounds[1]
    ):
        raise RequestError(f'{where}: "normRange" must be [low, high], finite numbers with 0 <= low < high')
    rag = child(chapter, "rag", where)
    if not isinstance(rag, dict):
        raise RequestError(f'{where}: "rag" must be an object')
    at = f"{where}.rag"
    documents = child(rag, "documents", at)
    if not isinstance(documents, dict) or not documents or not all(isinstance(v, str) for v in documents.values()):
        raise RequestError(f'{at}: "documents" must be a non-empty object of strings')
    query = text(rag, "query", at)
    expected, never = text(rag, "expectedFirst", at), text(rag, "neverFirst", at)
    for key, value in (("expectedFirst", expected), ("neverFirst", never)):
        if value not in documents:
            raise RequestError(f'{at}: "{key}" "{value}" is not a document id')
    if expected == never:
        raise RequestError(f'{at}: "expectedFirst" and "neverFirst" are the same document "{expected}"')
    return Chapter((float(bounds[0]), float(bounds[1])), dict(documents), query, expected, never)
