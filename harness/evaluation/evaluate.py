"""Host evaluation of a model variant against its FP32 baseline: chapter 28A's four tests,
cosine agreement, STS-B Spearman, retrieval (XQuAD-en or a BEIR set), size and latency."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from harness.evaluation.datasets import STSB_TEST, XQUAD_EN, RetrievalSet, StsPair, load_squad_retrieval, load_sts_csv
from harness.evaluation.embed import Embedder, cosine_rows
from harness.fileio import sha256_file
from harness.gates import Gate, QualityGates
from harness.models.registry import ModelSpec
from harness.settings import CACHE_DIR

Progress = Callable[[str], None]

# Chapter 28A.6, tests 2-4, verbatim.
CHAPTER_TEST_TEXT = "Test document"
CHAPTER_SIMILARITY_TEXT = "Artificial intelligence is transforming the world"
CHAPTER_RAG_DOCS = {"1": "AI transforms industries", "2": "ML improves predictions", "3": "Weather is sunny"}
CHAPTER_RAG_QUERY = "artificial intelligence"
CHAPTER_NORM_RANGE = (0.5, 2.0)
CHAPTER_MIN_COSINE = 0.95


@dataclass
class RetrievalMetrics:
    top1: float
    top5: float
    mrr10: float
    ndcg10: float
    queries: int
    documents: int


@dataclass
class EvalReport:
    model_id: str
    baseline_id: str
    variant: str
    model_path: str
    model_sha256: str
    size_bytes: int
    baseline_size_bytes: int
    chapter_tests: list[Gate] = field(default_factory=list)
    cosine_vs_baseline: dict[str, float] = field(default_factory=dict)
    sts: dict[str, float] = field(default_factory=dict)
    retrieval: dict[str, dict[str, float]] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    truncated_texts: int = 0
    gates: list[Gate] = field(default_factory=list)

    @property
    def size_ratio(self) -> float:
        return self.size_bytes / self.baseline_size_bytes if self.baseline_size_bytes else 1.0

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.chapter_tests) and all(g.passed for g in self.gates)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["size_ratio"] = self.size_ratio
        data["passed"] = self.passed
        return data


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


class EmbeddingCache:
    """Baseline embeddings keyed by (model sha256, texts hash, pooling): FP32 runs are reused."""

    def __init__(self, directory: Path = CACHE_DIR / "embeddings") -> None:
        self.directory = directory

    def get_or_compute(self, embedder: Embedder, model_sha: str, texts: Sequence[str]) -> np.ndarray:
        key = hashlib.sha256()
        key.update(model_sha.encode())
        spec = embedder.spec
        key.update(f"{spec.output}|{spec.pooling}|{spec.normalize}|{spec.max_length}|{embedder.batch_size}".encode())
        for text in texts:
            key.update(text.encode("utf-8") + b"\0")
        path = self.directory / f"{key.hexdigest()[:32]}.npy"
        if path.is_file():
            cached = np.load(path)
            if cached.shape == (len(texts), embedder.spec.dimension):
                return cached
        vectors = embedder.embed(texts).vectors
        from harness.fileio import atomic_output

        with atomic_output(path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, vectors)
        return vectors


def chapter_tests(candidate: Embedder, baseline: Embedder, min_cosine: float) -> list[Gate]:
    """Chapter 28A.6 tests 1-4 on the host."""
    results = [
        Gate(
            "test1_loads_with_dimension",
            candidate.session is not None and _output_dim(candidate) == candidate.spec.dimension,
            _output_dim(candidate),
            candidate.spec.dimension,
        )
    ]
    vector = candidate.embed([CHAPTER_TEST_TEXT]).vectors[0]
    norm = float(np.linalg.norm(vector))
    finite = bool(np.all(np.isfinite(vector)))
    results.append(
        Gate(
            "test2_embeddings_valid",
            finite
            and vector.shape[0] == candidate.spec.dimension
            and CHAPTER_NORM_RANGE[0] < norm < CHAPTER_NORM_RANGE[1],
            round(norm, 6),
            f"finite, dim {candidate.spec.dimension}, {CHAPTER_NORM_RANGE[0]} < L2 norm < {CHAPTER_NORM_RANGE[1]}",
        )
    )
    pair = np.stack(
        [candidate.embed([CHAPTER_SIMILARITY_TEXT]).vectors[0], baseline.embed([CHAPTER_SIMILARITY_TEXT]).vectors[0]]
    )
    cosine = float(cosine_rows(pair[:1], pair[1:])[0])
    results.append(Gate("test3_cosine_vs_fp32", cosine > min_cosine, round(cosine, 6), min_cosine))
    ranking = rag_ranking(candidate)
    results.append(
        Gate(
            "test4_rag_ranking",
            ranking[0] == "1" and ranking[0] != "3",
            ",".join(ranking),
            "doc 1 (AI) first, doc 3 (weather) not first",
        )
    )
    return results


def rag_ranking(embedder: Embedder) -> list[str]:
    doc_ids = list(CHAPTER_RAG_DOCS)
    docs = embedder.embed([CHAPTER_RAG_DOCS[d] for d in doc_ids]).vectors
    query = embedder.embed([CHAPTER_RAG_QUERY]).vectors
    scores = cosine_rows(np.repeat(query, len(docs), axis=0), docs)
    return [doc_ids[i] for i in np.argsort(-scores, kind="stable")]


def _output_dim(embedder: Embedder) -> int:
    return int(embedder.embed(["dimension probe"]).vectors.shape[1])


def measure_latency(
    embedders: dict[str, Embedder], texts: Sequence[str], rounds: int = 2
) -> dict[str, dict[str, float]]:
    """Per-sentence latency (batch of 1), models interleaved text by text so machine noise hits
    every model alike; returns p50/p95 in ms per model."""
    samples: dict[str, list[float]] = {name: [] for name in embedders}
    tokenized = {name: e.tokenize(texts).ids for name, e in embedders.items()}
    for name, embedder in embedders.items():  # warm-up
        embedder.embed_token_ids(tokenized[name][:2])
    for _ in range(rounds):
        for index in range(len(texts)):
            for name, embedder in embedders.items():
                started = time.perf_counter()
                embedder.embed_token_ids([tokenized[name][index]])
                samples[name].append((time.perf_counter() - started) * 1000.0)
    return {
        name: {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)), "n": len(values)}
        for name, values in samples.items()
    }


def gate_results(report: EvalReport, gates: QualityGates) -> list[Gate]:
    checks = [
        ("mean_cosine", report.cosine_vs_baseline.get("mean"), gates.min_mean_cosine),
        ("p5_cosine", report.cosine_vs_baseline.get("p5"), gates.min_p5_cosine),
        ("spearman_retention", report.sts.get("retention"), gates.min_spearman_retention),
    ]
    for name, metrics in report.retrieval.items():
        checks.append((f"{name}_top1_retention", metrics.get("top1_retention"), gates.min_top1_retention))
        checks.append((f"{name}_ndcg10_retention", metrics.get("ndcg10_retention"), gates.min_ndcg10_retention))
    return [
        Gate(name, value is not None and value >= threshold, value, threshold)
        for name, value, threshold in checks
        if value is not None
    ]


def evaluate(
    candidate_spec: ModelSpec,
    baseline_spec: ModelSpec,
    *,
    candidate_path: Path | None = None,
    baseline_path: Path | None = None,
    sts_pairs: list[StsPair] | None = None,
    retrieval_sets: list[RetrievalSet] | None = None,
    latency_texts: int = 48,
    threads: int | None = None,
    progress: Progress = lambda _msg: None,
    cache: EmbeddingCache | None = None,
    batch_size: int = 1,
) -> EvalReport:
    cache = cache or EmbeddingCache()
    # The candidate runs one text at a time, as the app's embed(text) does: dynamic INT8 scales
    # activations per tensor, so batching with padding shifts INT8 results (FP32 is unaffected).
    candidate = Embedder(candidate_spec, candidate_path, threads=threads, batch_size=batch_size)
    baseline = Embedder(baseline_spec, baseline_path, threads=threads)
    candidate_sha = sha256_file(candidate.model_path)
    baseline_sha = sha256_file(baseline.model_path)
    report = EvalReport(
        model_id=candidate_spec.id,
        baseline_id=baseline_spec.id,
        variant=candidate_spec.variant,
        model_path=str(candidate.model_path),
        model_sha256=candidate_sha,
        size_bytes=candidate.model_path.stat().st_size,
        baseline_size_bytes=baseline.model_path.stat().st_size,
    )
    progress("chapter 28A tests 1-4")
    report.chapter_tests = chapter_tests(candidate, baseline, CHAPTER_MIN_COSINE)

    sts_pairs = load_sts_csv(STSB_TEST) if sts_pairs is None else sts_pairs
    retrieval_sets = [load_squad_retrieval(XQUAD_EN, "xquad_en")] if retrieval_sets is None else retrieval_sets

    def embed_both(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        cand = cache.get_or_compute(candidate, candidate_sha, texts)
        base = cache.get_or_compute(baseline, baseline_sha, texts)
        return cand, base

    if sts_pairs:
        progress(f"STS: {len(sts_pairs)} pairs")
        sentences = sorted({p.sentence1 for p in sts_pairs} | {p.sentence2 for p in sts_pairs})
        index = {s: i for i, s in enumerate(sentences)}
        cand, base = embed_both(sentences)
        report.truncated_texts += int(candidate.tokenize(sentences).truncated.sum())
        cos = cosine_rows(cand, base)
        report.cosine_vs_baseline = {
            "mean": float(cos.mean()),
            "p5": float(np.percentile(cos, 5)),
            "min": float(cos.min()),
            "n": len(sentences),
        }
        gold = [p.score for p in sts_pairs]
        left = [index[p.sentence1] for p in sts_pairs]
        right = [index[p.sentence2] for p in sts_pairs]
        rho_candidate = spearman(cosine_rows(cand[left], cand[right]), gold)
        rho_baseline = spearman(cosine_rows(base[left], base[right]), gold)
        report.sts = {
            "pairs": len(sts_pairs),
            "spearman": rho_candidate,
            "baseline_spearman": rho_baseline,
            "retention": rho_candidate / rho_baseline if rho_baseline else 0.0,
        }

    for dataset in retrieval_sets:
        progress(f"retrieval {dataset.name}: {len(dataset.queries)} queries x {len(dataset.corpus)} documents")
        doc_ids, query_ids = list(dataset.corpus), list(dataset.queries)
        docs = [dataset.corpus[d] for d in doc_ids]
        queries = [dataset.queries[q] for q in query_ids]
        cand_docs, base_docs = embed_both(docs)
        cand_queries, base_queries = embed_both(queries)
        report.truncated_texts += int(candidate.tokenize(docs).truncated.sum())
        got = retrieval_metrics(cand_queries, cand_docs, doc_ids, query_ids, dataset.qrels)
        ref = retrieval_metrics(base_queries, base_docs, doc_ids, query_ids, dataset.qrels)
        entry: dict[str, float] = {"queries": got.queries, "documents": got.documents}
        for metric in ("top1", "top5", "mrr10", "ndcg10"):
            value, reference = getattr(got, metric), getattr(ref, metric)
            entry[metric] = value
            entry[f"baseline_{metric}"] = reference
            entry[f"{metric}_retention"] = value / reference if reference else 0.0
        report.retrieval[dataset.name] = entry

    if latency_texts > 0:
        progress(f"host latency: {latency_texts} sentences, interleaved with the baseline")
        sample = [p.sentence1 for p in (sts_pairs or [])][:latency_texts] or [CHAPTER_SIMILARITY_TEXT]
        timings = measure_latency({"candidate": candidate, "baseline": baseline}, sample)
        report.latency_ms = {
            "p50": timings["candidate"]["p50"],
            "p95": timings["candidate"]["p95"],
            "baseline_p50": timings["baseline"]["p50"],
            "baseline_p95": timings["baseline"]["p95"],
            "speedup_p50": timings["baseline"]["p50"] / timings["candidate"]["p50"],
        }

    report.gates = gate_results(report, candidate_spec.gate)
    return report
