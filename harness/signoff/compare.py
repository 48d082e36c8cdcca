"""Device vs host: per-text parity on the same model file, tokenizer agreement, quality of what
ran on the device against host FP32 (cosine, retrieval, chapter tests), latency, and the gates."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from harness.android.contract import DeviceResult
from harness.evaluation import chapter
from harness.evaluation.datasets import STSB_TEST, XQUAD_EN, load_squad_retrieval, load_sts_csv
from harness.evaluation.metrics import RetrievalMetrics, cosine_rows, percentiles, retrieval_metrics
from harness.gates import Gate, ParityGates, QualityGates
from harness.signoff.results import ModelOnDevice


@dataclass(frozen=True)
class SignoffSet:
    """The texts the device embeds: chapter sentences, STS-B sentences and a mini retrieval set
    (XQuAD questions and their paragraphs), so quality on the device is measured, not assumed."""

    texts: tuple[str, ...]
    query_rows: tuple[int, ...]
    doc_rows: tuple[int, ...]
    qrels: tuple[int, ...]  # for each query row: the index (into doc_rows) of its paragraph


@cache
def default_signoff_set(sts_sentences: int = 16, paragraphs: int = 8, questions_per_paragraph: int = 2) -> SignoffSet:
    texts: list[str] = [chapter.SIMILARITY_TEXT, chapter.TEST_TEXT]
    for pair in load_sts_csv(STSB_TEST)[: sts_sentences // 2]:
        texts += [pair.sentence1, pair.sentence2]
    xquad = load_squad_retrieval(XQUAD_EN)
    doc_ids = list(xquad.corpus)[:: max(1, len(xquad.corpus) // paragraphs)][:paragraphs]
    doc_rows, query_rows, qrels = [], [], []
    for doc_index, doc_id in enumerate(doc_ids):
        doc_rows.append(len(texts))
        texts.append(xquad.corpus[doc_id])
        questions = [q for q, rel in xquad.qrels.items() if doc_id in rel][:questions_per_paragraph]
        for question in questions:
            query_rows.append(len(texts))
            texts.append(xquad.queries[question])
            qrels.append(doc_index)
    return SignoffSet(tuple(texts), tuple(query_rows), tuple(doc_rows), tuple(qrels))


def compare_model(
    result: ModelOnDevice,
    *,
    device_embeddings: np.ndarray | None,
    host_embeddings: np.ndarray,
    host_fp32_embeddings: np.ndarray,
    device_e2e_embeddings: np.ndarray | None,
    device_token_ids: list[list[int]] | None,
    host_token_ids: list[list[int]],
    device_result: DeviceResult,
    signoff: SignoffSet,
    parity: ParityGates,
    quality: QualityGates,
    strict: bool = True,
    x86_embeddings: np.ndarray | None = None,
    expect_end_to_end: bool = False,
    emulated: bool = False,
) -> ModelOnDevice:
    """Fill `result` with the comparisons and gates. `host_embeddings` is the reference named by
    `result.reference`; `strict=False` reports its parity without failing (cross-architecture
    INT8); `x86_embeddings`, when the reference is another architecture's, adds the divergence
    from the x86 host as a reported figure. `expect_end_to_end`: the run asked the device to
    tokenize too, so missing end-to-end output fails. `emulated`: the device is an emulator, whose
    latency is shown but gated only with `parity.gate_latency_on_emulators`."""
    gates: list[Gate] = []
    not_finite = _non_finite_count(device_embeddings)
    if not_finite:
        gates.append(Gate("parity_min_cosine", False, None, parity.min_parity_cosine, _not_finite_detail(not_finite)))
    elif device_embeddings is not None:
        cos = cosine_rows(device_embeddings, host_embeddings)
        result.parity_cosines = [float(c) for c in cos]
        result.parity = {
            "min_cosine": float(cos.min()),
            "mean_cosine": float(cos.mean()),
            "max_abs_diff": float(np.abs(device_embeddings - host_embeddings).max()),
        }
        gates.append(
            _cosine_gate("parity_min_cosine", result.parity["min_cosine"], parity, strict, f"vs {result.reference}")
        )
        if x86_embeddings is not None:
            x86 = cosine_rows(device_embeddings, x86_embeddings)
            result.parity.update({"x86_min_cosine": float(x86.min()), "x86_mean_cosine": float(x86.mean())})
            gates.append(
                Gate(
                    "x86_divergence_min_cosine",
                    True,
                    float(x86.min()),
                    None,
                    f"device vs x86 host kernels, mean {float(x86.mean()):.6f} (reported)",
                )
            )
        to_fp32 = cosine_rows(device_embeddings, host_fp32_embeddings)
        result.fp32_cosines = [float(c) for c in to_fp32]
        result.vs_fp32 = {
            "mean_cosine": float(to_fp32.mean()),
            "min_cosine": float(to_fp32.min()),
            "p5_cosine": float(np.percentile(to_fp32, 5)),
        }
        gates.append(
            Gate(
                "fp32_mean_cosine",
                result.vs_fp32["mean_cosine"] >= quality.min_mean_cosine,
                result.vs_fp32["mean_cosine"],
                quality.min_mean_cosine,
                "what ran on the device vs host FP32",
            )
        )
        if quality.min_worst_cosine > 0:
            gates.append(
                Gate(
                    "fp32_min_cosine",
                    result.vs_fp32["min_cosine"] >= quality.min_worst_cosine,
                    result.vs_fp32["min_cosine"],
                    quality.min_worst_cosine,
                    "the worst text, device vs host FP32",
                )
            )
        gates.append(
            Gate(
                "fp32_test3_cosine",
                float(to_fp32[0]) > chapter.MIN_COSINE,
                float(to_fp32[0]),
                chapter.MIN_COSINE,
                "chapter 28A test 3 on the device's vector",
            )
        )
        result.chapter_tests["test3_cosine_vs_fp32"] = float(to_fp32[0]) > chapter.MIN_COSINE
        got = _mini_retrieval(device_embeddings, signoff)
        ref = _mini_retrieval(host_fp32_embeddings, signoff)
        result.vs_fp32.update(
            {
                "top1": got.top1,
                "fp32_top1": ref.top1,
                "ndcg10": got.ndcg10,
                "fp32_ndcg10": ref.ndcg10,
                "top1_retention": got.top1 / ref.top1 if ref.top1 else 0.0,
            }
        )
        gates.append(
            Gate(
                "retrieval_top1_retention",
                result.vs_fp32["top1_retention"] >= parity.min_retrieval_top1_retention,
                result.vs_fp32["top1_retention"],
                parity.min_retrieval_top1_retention,
                f"{len(signoff.query_rows)} XQuAD questions x {len(signoff.doc_rows)} paragraphs",
            )
        )
    else:
        gates.append(Gate("parity_min_cosine", False, None, parity.min_parity_cosine, "the device wrote no embeddings"))
    gates += _end_to_end_gates(
        result,
        device_e2e_embeddings,
        device_token_ids,
        host_embeddings,
        host_token_ids,
        parity,
        strict,
        expect_end_to_end,
    )

    for name, passed in device_result.chapter_tests.items():
        result.chapter_tests[name] = bool(passed)
        gates.append(Gate(f"device_{name}", bool(passed), bool(passed), True))
    for error in device_result.errors:
        gates.append(Gate("device_check", False, error, None))

    samples = result.latency_samples_ms
    result.latency_ms = percentiles(samples)
    for key, value in (("load_ms", device_result.load_ms), ("cold_ms", device_result.cold_ms)):
        if value is not None:
            result.latency_ms[key] = value
    if samples:
        within_budget = result.latency_ms["p50"] <= parity.max_latency_p50_ms
        gated = not emulated or parity.gate_latency_on_emulators
        gates.append(
            Gate(
                "latency_p50_ms",
                within_budget or not gated,
                result.latency_ms["p50"],
                parity.max_latency_p50_ms,
                "budget per text"
                if gated
                else "measured on an emulated device: shown, not gated (--gate-latency-on-emulators gates it)",
            )
        )
    else:
        gates.append(Gate("latency_p50_ms", False, None, parity.max_latency_p50_ms, "no latency samples"))
    result.gates = gates
    return result


def _end_to_end_gates(
    result: ModelOnDevice,
    device_e2e_embeddings: np.ndarray | None,
    device_token_ids: list[list[int]] | None,
    host_embeddings: np.ndarray,
    host_token_ids: list[list[int]],
    parity: ParityGates,
    strict: bool,
    expected: bool,
) -> list[Gate]:
    """The device tokenized the texts itself: same token ids as the host, and the same vectors."""
    gates: list[Gate] = []
    if device_token_ids is None:
        if expected:
            gates.append(
                Gate("e2e_token_agreement", False, None, parity.min_token_agreement, "the device wrote no token ids")
            )
    else:
        same = [a == b for a, b in zip(device_token_ids, host_token_ids, strict=False)]
        agreement = sum(same) / len(host_token_ids) if host_token_ids else 0.0
        result.end_to_end = {"token_agreement": agreement, "texts": len(host_token_ids)}
        first_diff = next((i for i, s in enumerate(same) if not s), None)
        gates.append(
            Gate(
                "e2e_token_agreement",
                agreement >= parity.min_token_agreement,
                agreement,
                parity.min_token_agreement,
                "" if first_diff is None else f"first difference at text #{first_diff + 1}",
            )
        )
    not_finite = _non_finite_count(device_e2e_embeddings)
    if not_finite:
        gates.append(Gate("e2e_min_cosine", False, None, parity.min_parity_cosine, _not_finite_detail(not_finite)))
    elif device_e2e_embeddings is not None:
        cos = cosine_rows(device_e2e_embeddings, host_embeddings)
        result.end_to_end.update({"min_cosine": float(cos.min()), "mean_cosine": float(cos.mean())})
        what = f"device-tokenized vectors vs {result.reference}"
        gates.append(_cosine_gate("e2e_min_cosine", result.end_to_end["min_cosine"], parity, strict, what))
    elif expected:
        gates.append(
            Gate("e2e_min_cosine", False, None, parity.min_parity_cosine, "the device wrote no end-to-end embeddings")
        )
    return gates


def _cosine_gate(name: str, min_cosine: float, parity: ParityGates, strict: bool, what: str) -> Gate:
    """Device vs reference min cosine: gated when `strict`, otherwise reported (cross-architecture INT8)."""
    within = min_cosine >= parity.min_parity_cosine
    note = "" if strict else " (reported, not gated: INT8 kernels differ by CPU architecture)"
    return Gate(name, within or not strict, min_cosine, parity.min_parity_cosine, f"{what}{note}")


def _non_finite_count(vectors: np.ndarray | None) -> int:
    return 0 if vectors is None else int(np.size(vectors) - np.count_nonzero(np.isfinite(vectors)))


def _not_finite_detail(count: int) -> str:
    return f"the device's vectors hold {count} non-finite values (NaN or inf)"


def _mini_retrieval(vectors: np.ndarray, signoff: SignoffSet) -> RetrievalMetrics:
    queries = vectors[list(signoff.query_rows)]
    docs = vectors[list(signoff.doc_rows)]
    doc_ids = [str(i) for i in range(len(signoff.doc_rows))]
    query_ids = [str(i) for i in range(len(signoff.query_rows))]
    qrels = {str(i): {str(d): 1} for i, d in enumerate(signoff.qrels)}
    return retrieval_metrics(queries, docs, doc_ids, query_ids, qrels)
