"""Per-node quantization sensitivity, and the measurement that `tune` shares with it.

`measure` runs the host evaluation (cosine to FP32 per text, STS-B Spearman, retrieval, latency)
of one candidate file against FP32 and returns flat figures; `profile_gates` holds them against a
gate profile. `sensitivity` quantizes one quantizable node (or one layer's nodes) at a time with
a recipe, measures the drop, and ranks: cached by model sha256 + recipe + evaluation set, one
entry per node as it is measured, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from harness.errors import InputError
from harness.evaluation.datasets import STSB_TEST, XQUAD_EN, RetrievalSet, StsPair, load_squad_retrieval, load_sts_csv
from harness.evaluation.embed import Embedder
from harness.evaluation.evaluate import EmbeddingCache, evaluate
from harness.fileio import sha256_file, write_json_atomic
from harness.gates import Gate, GateProfile
from harness.models.recipes import Method, Recipe, apply_recipe, quantizable_nodes
from harness.models.registry import ModelSpec
from harness.settings import CACHE_DIR

Progress = Callable[[str], None]
SENSITIVITY_DIR = CACHE_DIR / "sensitivity"
LAYER = re.compile(r"layers?[./_](\d+)")


@dataclass(frozen=True)
class EvalSet:
    """The texts a candidate is measured on (STS-B pairs, retrieval sets) and how many sentences
    time the host latency (0: not timed)."""

    sts_pairs: tuple[StsPair, ...]
    retrieval: tuple[RetrievalSet, ...] = ()
    latency_texts: int = 0

    @classmethod
    def default(cls, limit: int | None = None, *, retrieval: bool = True, latency_texts: int = 48) -> EvalSet:
        """STS-B test and XQuAD-en; `limit` keeps the first N pairs and N questions."""
        pairs = load_sts_csv(STSB_TEST)
        sets = [load_squad_retrieval(XQUAD_EN, "xquad_en")] if retrieval else []
        if limit:
            pairs, sets = pairs[:limit], [s.head(limit) for s in sets]
        return cls(tuple(pairs), tuple(sets), latency_texts)

    def sentences(self) -> list[str]:
        return sorted({p.sentence1 for p in self.sts_pairs} | {p.sentence2 for p in self.sts_pairs})

    def key(self) -> str:
        digest = hashlib.sha256(f"latency {self.latency_texts}\n".encode())
        for pair in self.sts_pairs:
            digest.update(f"{pair.sentence1}\0{pair.sentence2}\0{pair.score}\n".encode())
        for dataset in self.retrieval:
            digest.update(
                json.dumps([dataset.name, dataset.corpus, dataset.queries, dataset.qrels], sort_keys=True).encode()
            )
        return digest.hexdigest()[:16]


class _BaselineOnlyCache(EmbeddingCache):
    """Caches the FP32 baseline's embeddings only: a candidate's are never needed twice (its
    figures are cached instead), and hundreds of them would fill the disk."""

    def __init__(self, baseline_sha: str) -> None:
        super().__init__()
        self.baseline_sha = baseline_sha

    def get_or_compute(self, embedder, model_sha, texts, progress=None):  # type: ignore[override]
        if model_sha == self.baseline_sha:
            return super().get_or_compute(embedder, model_sha, texts, progress)
        return embedder.embed(texts, progress=progress).vectors


def measure(spec: ModelSpec, path: Path, base_path: Path, evalset: EvalSet) -> dict[str, float | bool]:
    """Flat figures of `path` against the FP32 file (batch of one, as the app embeds)."""
    variant = replace(spec, id=f"{spec.base_id}-candidate", variant="INT8") if not spec.is_quantized else spec
    base_spec = replace(spec, id=spec.base_id, variant="FP32")
    report = evaluate(
        variant,
        base_spec,
        candidate_path=path,
        baseline_path=base_path,
        sts_pairs=list(evalset.sts_pairs),
        retrieval_sets=list(evalset.retrieval),
        latency_texts=evalset.latency_texts,
        cache=_BaselineOnlyCache(sha256_file(base_path)),
        preset="candidate",
    )
    figures: dict[str, float | bool] = {
        "size_bytes": report.size_bytes,
        "size_ratio": report.size_ratio,
        "mean_cosine": report.cosine_vs_baseline.get("mean", float("nan")),
        "p5_cosine": report.cosine_vs_baseline.get("p5", float("nan")),
        "min_cosine": report.cosine_vs_baseline.get("min", float("nan")),
        "spearman_retention": report.sts.get("retention", float("nan")),
        "chapter_tests_passed": all(c.passed for c in report.chapter_tests),
    }
    for name, metrics in report.retrieval.items():
        figures[f"{name}_top1_retention"] = metrics["top1_retention"]
        figures[f"{name}_ndcg10_retention"] = metrics["ndcg10_retention"]
    if report.latency_ms:
        figures["latency_ratio"] = report.latency_ms["p50"] / report.latency_ms["baseline_p50"]
    return figures


def profile_gates(figures: dict, profile: GateProfile) -> list[Gate]:
    """The profile's gates (thresholds above 0) held against `figures` from `measure`."""
    quality = profile.quality
    checks = [
        ("mean_cosine", quality.min_mean_cosine),
        ("p5_cosine", quality.min_p5_cosine),
        ("min_cosine", quality.min_worst_cosine),
        ("spearman_retention", quality.min_spearman_retention),
    ]
    checks += [(k, quality.min_top1_retention) for k in figures if k.endswith("_top1_retention")]
    checks += [(k, quality.min_ndcg10_retention) for k in figures if k.endswith("_ndcg10_retention")]
    gates = []
    for name, threshold in checks:
        value = figures.get(name)
        if threshold > 0 and value is not None:
            gates.append(Gate(name, bool(np.isfinite(value) and value >= threshold), float(value), threshold))
    if profile.chapter_tests:
        gates.append(Gate("chapter_tests", bool(figures.get("chapter_tests_passed", False)), None, None))
    return gates


def node_groups(model_path: Path, group: str = "node") -> list[tuple[str, list[str], str]]:
    """(label, node names, op type) for each unit sensitivity quantizes alone: every quantizable
    node, or (`group="layer"`) the nodes of one numbered layer together."""
    import onnx

    if group not in ("node", "layer"):
        raise InputError(f"--group {group}: use node or layer")
    nodes = quantizable_nodes(onnx.load(str(model_path), load_external_data=False))
    if not nodes:
        raise InputError(f"{model_path}: no quantizable nodes (no MatMul or Gather with a constant 2-D weight)")
    if group == "node":
        return [(str(n["name"]), [str(n["name"])], str(n["op_type"])) for n in nodes]
    groups: dict[str, list[str]] = {}
    for node in nodes:
        found = LAYER.search(str(node["name"]))
        label = f"layer {found.group(1)}" if found else str(node["name"])
        groups.setdefault(label, []).append(str(node["name"]))
    return [(label, names, "group") for label, names in groups.items()]


def _alone(recipe: Recipe, names: Sequence[str], every: Sequence[str], gathers: set[str]) -> Recipe:
    """`recipe` applied to `names` only: every other quantizable node kept in FP32 (a weight-only
    recipe quantizes embeddings only when the unit holds the embedding Gather)."""
    keep = tuple(n for n in every if n not in names)
    if recipe.method is Method.WEIGHT_ONLY and not gathers.intersection(names):
        recipe = replace(recipe, embeddings="fp32")
    return replace(recipe, name=f"{recipe.name}-alone", nodes_to_exclude=keep, int8_nodes=())


def sensitivity(
    spec: ModelSpec,
    base_path: Path,
    recipe: Recipe,
    evalset: EvalSet,
    *,
    group: str = "node",
    cache_dir: Path = SENSITIVITY_DIR,
    progress: Progress = lambda _m: None,
) -> list[dict]:
    """Rows ranked most sensitive first: label, nodes, op type, figures, `drop` = 1 - mean cosine."""
    import onnx

    units = node_groups(base_path, group)
    every = [name for _, names, _ in units for name in names]
    model = onnx.load(str(base_path), load_external_data=False)
    gathers = {str(n["name"]) for n in quantizable_nodes(model) if n["op_type"] == "Gather"}
    key = hashlib.sha256(
        f"{sha256_file(base_path)}|{recipe.key()}|{evalset.key()}|{group}|{spec.output}|{spec.pooling}".encode()
    ).hexdigest()[:24]
    cache_path = Path(cache_dir) / f"{spec.base_id}-{key}.json"
    done: dict[str, dict] = {}
    if cache_path.is_file():
        try:
            done = json.loads(cache_path.read_text())["rows"]
        except (OSError, ValueError, KeyError, TypeError):
            done = {}
    base_vectors = None if len(done) >= len(units) else embed_subset(spec, base_path, evalset.sentences())
    with tempfile.TemporaryDirectory(prefix="ava-sensitivity-") as work:
        for index, (label, names, op_type) in enumerate(units, start=1):
            if label in done:
                continue
            progress(f"sensitivity {index}/{len(units)}: {label}")
            target = Path(work) / "candidate.onnx"
            try:
                apply_recipe(base_path, target, _alone(recipe, names, every, gathers), spec=spec)
            except InputError as err:  # a node the recipe cannot quantize on its own: say so, go on
                done[label] = {"nodes": names, "op_type": op_type, "error": str(err)}
                continue
            figures = quick_figures(spec, target, base_path, base_vectors, evalset)
            done[label] = {"nodes": names, "op_type": op_type, **figures, "drop": 1.0 - float(figures["mean_cosine"])}
            write_json_atomic(
                cache_path, {"model_sha256": sha256_file(base_path), "recipe": recipe.describe(), "rows": done}
            )
    rows = [{"label": label, **row} for label, row in done.items() if label in {u[0] for u in units}]
    return sorted(rows, key=lambda r: (-r.get("drop", -1.0), r.get("min_cosine", 1.0)))


def quick_figures(spec: ModelSpec, path: Path, base_path: Path, base_vectors, evalset: EvalSet) -> dict:
    """What sensitivity ranks by, and no more: cosine to FP32 and STS Spearman retention of
    `path` on the evaluation sentences (FP32 vectors computed once by the caller)."""
    from harness.evaluation.metrics import cosine_rows, spearman

    sentences = evalset.sentences()
    vectors = embed_subset(spec, path, sentences)
    cos = cosine_rows(vectors, base_vectors)
    index = {text: i for i, text in enumerate(sentences)}
    left = [index[p.sentence1] for p in evalset.sts_pairs]
    right = [index[p.sentence2] for p in evalset.sts_pairs]
    gold = [p.score for p in evalset.sts_pairs]
    rho = spearman(cosine_rows(vectors[left], vectors[right]), gold)
    rho_fp32 = spearman(cosine_rows(base_vectors[left], base_vectors[right]), gold)
    return {
        "size_ratio": Path(path).stat().st_size / Path(base_path).stat().st_size,
        "mean_cosine": float(cos.mean()),
        "p5_cosine": float(np.percentile(cos, 5)),
        "min_cosine": float(cos.min()),
        "spearman_retention": rho / rho_fp32 if rho_fp32 else 0.0,
    }


def embed_subset(spec: ModelSpec, path: Path, texts: Sequence[str]) -> np.ndarray:
    """Embeddings of `texts` by `path`, one text at a time (as the app does)."""
    return Embedder(spec, path, batch_size=1).embed(list(texts)).vectors


def arm64_figures(
    spec: ModelSpec,
    path: Path,
    base_path: Path,
    pairs: Sequence,
    runtime: object,
    cache_dir: Path = CACHE_DIR / "tune" / "arm64",
) -> dict:
    """Cosine to host FP32 and Spearman retention of `path` run by the aarch64 ORT on `pairs`."""
    from harness.evaluation.embed import Embedder, pool
    from harness.evaluation.metrics import cosine_rows, spearman
    from harness.reference.arm64 import reference_embeddings

    embedder = Embedder(spec, base_path, batch_size=1)
    sentences = sorted({p.sentence1 for p in pairs} | {p.sentence2 for p in pairs})
    ids = embedder.tokenize(sentences).ids
    feeds = [embedder.feeds_for([tokens]) for tokens in ids]
    outputs = reference_embeddings(path, feeds, spec.output, cache_dir, runtime=runtime)  # type: ignore[arg-type]
    arm = np.vstack(
        [pool(out, f["attention_mask"], spec.pooling, spec.normalize) for out, f in zip(outputs, feeds, strict=True)]
    )
    fp32 = embedder.embed_token_ids(ids)
    cos = cosine_rows(arm, fp32)
    index = {s: i for i, s in enumerate(sentences)}
    left, right = [index[p.sentence1] for p in pairs], [index[p.sentence2] for p in pairs]
    gold = [p.score for p in pairs]
    rho_fp32 = spearman(cosine_rows(fp32[left], fp32[right]), gold)
    rho_arm = spearman(cosine_rows(arm[left], arm[right]), gold)
    # The same file on the host, same texts: what the ARM64 retention on a small subset is held to.
    host = Embedder(spec, path, batch_size=1).embed_token_ids(ids)
    rho_host = spearman(cosine_rows(host[left], host[right]), gold)
    return {
        "host_spearman_retention": rho_host / rho_fp32 if rho_fp32 else 0.0,
        "vs_host_min_cosine": float(cosine_rows(arm, host).min()),
        "texts": len(sentences),
        "mean_cosine": float(cos.mean()),
        "p5_cosine": float(np.percentile(cos, 5)),
        "min_cosine": float(cos.min()),
        "spearman_retention": rho_arm / rho_fp32 if rho_fp32 else 0.0,
        "chapter_tests_passed": True,
    }
