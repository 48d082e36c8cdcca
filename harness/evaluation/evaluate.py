"""Host evaluation of a model variant against its FP32 baseline: chapter 28A's four tests,
cosine agreement, STS-B Spearman, retrieval (XQuAD-en or a BEIR set), size and latency."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from harness.evaluation import chapter
from harness.evaluation.datasets import STSB_TEST, XQUAD_EN, RetrievalSet, StsPair, load_squad_retrieval, load_sts_csv
from harness.evaluation.embed import TOKENIZATION_REVISION, Embedder
from harness.evaluation.metrics import cosine_rows, retrieval_metrics, spearman
from harness.fileio import sha256_file
from harness.gates import Gate, QualityGates
from harness.models.registry import ModelSpec
from harness.models.store import recorded_preset
from harness.settings import CACHE_DIR

Progress = Callable[[str], None]


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
    # The quantization preset that produced the candidate file (None: FP32, or not known).
    preset: str | None = None

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


class EmbeddingCache:
    """Baseline embeddings keyed by (model sha256, texts hash, pooling): FP32 runs are reused."""

    def __init__(self, directory: Path = CACHE_DIR / "embeddings") -> None:
        self.directory = directory

    def get_or_compute(
        self,
        embedder: Embedder,
        model_sha: str,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        key = hashlib.sha256()
        key.update(model_sha.encode())
        key.update(f"tokenization {TOKENIZATION_REVISION}".encode())
        spec = embedder.spec
        key.update(f"{spec.output}|{spec.pooling}|{spec.normalize}|{spec.max_length}|{embedder.batch_size}".encode())
        for text in texts:
            key.update(text.encode("utf-8") + b"\0")
        path = self.directory / f"{key.hexdigest()[:32]}.npy"
        if path.is_file():
            cached = np.load(path)
            if cached.shape == (len(texts), embedder.spec.dimension):
                if progress is not None:
                    progress(len(texts))
                return cached
        vectors = embedder.embed(texts, progress=progress).vectors
        from harness.fileio import atomic_output

        with atomic_output(path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, vectors)
        return vectors


class _EmbeddingProgress:
    """'embedded N/M texts, ETA m:ss' for the whole evaluation, at most every REPORT_SECONDS (a CI
    log gets a readable trickle, a terminal an honest estimate); cached texts count as done."""

    REPORT_SECONDS = 5.0

    def __init__(self, total: int, say: Progress, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.say, self.clock = total, say, clock
        self.done = 0
        self.started = self.last = clock()

    def advance(self, count: int) -> None:
        self.done += count
        now = self.clock()
        if now - self.last < self.REPORT_SECONDS and self.done < self.total:
            return
        self.last = now
        rate = self.done / max(now - self.started, 1e-9)
        left = max(self.total - self.done, 0) / rate if rate > 0 else 0.0
        self.say(f"embedded {self.done}/{self.total} texts, ETA {int(left) // 60}:{int(left) % 60:02d}")


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
    if gates.min_worst_cosine > 0:  # only where a profile or the registry asks: most variants leave it off
        checks.append(("min_cosine", report.cosine_vs_baseline.get("min"), gates.min_worst_cosine))
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
    preset: str | None = None,
) -> EvalReport:
    """`preset` names the recipe behind the candidate file in the report; when None, the model
    store's record beside a quantized candidate says (harness.models.store.recorded_preset)."""
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
        preset=preset or (recorded_preset(candidate.model_path) if candidate_spec.is_quantized else None),
    )
    progress("chapter 28A tests 1-4")
    report.chapter_tests = chapter.run_tests(candidate, baseline)

    sts_pairs = load_sts_csv(STSB_TEST) if sts_pairs is None else sts_pairs
    retrieval_sets = [load_squad_retrieval(XQUAD_EN, "xquad_en")] if retrieval_sets is None else retrieval_sets

    sentence_count = len({p.sentence1 for p in sts_pairs} | {p.sentence2 for p in sts_pairs})
    texts_total = 2 * (sentence_count + sum(len(d.corpus) + len(d.queries) for d in retrieval_sets))
    embedded = _EmbeddingProgress(texts_total, progress)

    def embed_both(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        cand = cache.get_or_compute(candidate, candidate_sha, texts, embedded.advance)
        base = cache.get_or_compute(baseline, baseline_sha, texts, embedded.advance)
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
        sample = [p.sentence1 for p in (sts_pairs or [])][:latency_texts] or [chapter.SIMILARITY_TEXT]
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
