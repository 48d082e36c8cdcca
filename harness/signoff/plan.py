"""The host's half of a sign-off, done once for every device: model files (quantized, cached), host
evaluation (cached), the sign-off texts' token ids and the host's reference embeddings."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from harness.errors import InputError
from harness.evaluation.embed import TOKENIZATION_REVISION, Embedder
from harness.evaluation.evaluate import EvalReport, evaluate
from harness.fileio import sha256_file, write_json_atomic
from harness.gates import Gate
from harness.models.compatibility import ModelNeeds, check_model_for_device, recorded_recipe
from harness.models.registry import ModelSpec, Registry
from harness.models.store import ensure_model_file, model_preset
from harness.settings import CACHE_DIR
from harness.signoff.compare import SignoffSet, default_signoff_set
from harness.signoff.options import DeployOptions, Progress
from harness.signoff.results import HostModel


@dataclass
class PlannedModel:
    spec: ModelSpec
    path: Path
    sha256: str
    tokenizer_path: Path
    token_ids: list[list[int]]
    host_embeddings: np.ndarray  # the same file, on the host, same token ids
    host_fp32_embeddings: np.ndarray
    host: HostModel
    feeds: list[dict[str, np.ndarray]] = field(default_factory=list)  # per text, batch of one
    needs: ModelNeeds | None = None  # what the file needs from ONNX Runtime (harness.models.compatibility)


@dataclass
class HostPlan:
    run_id: str
    signoff: SignoffSet
    models: list[PlannedModel]
    _arm64: dict[str, np.ndarray] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def arm64_reference(self, model: PlannedModel) -> np.ndarray:
        """What aarch64 ONNX Runtime kernels compute for the sign-off texts (batch of one each),
        computed once per run (devices share it) and cached on disk by model and inputs."""
        with self._lock:
            if model.spec.id not in self._arm64:
                from harness.evaluation.embed import pool
                from harness.reference.arm64 import reference_embeddings

                raw = reference_embeddings(model.path, model.feeds, model.spec.output)
                self._arm64[model.spec.id] = np.concatenate(
                    [
                        pool(out, feeds["attention_mask"], model.spec.pooling, model.spec.normalize)
                        for out, feeds in zip(raw, model.feeds, strict=True)
                    ]
                )
            return self._arm64[model.spec.id]


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _host_eval_cached(
    spec: ModelSpec, base: ModelSpec, path: Path, base_path: Path, limit: int | None, say: Callable[[str], None]
) -> dict:
    """Host evaluation (STS-B, XQuAD-en, chapter tests), cached by both files' sha256."""
    # The report holds the gates' verdicts, so the gates (a --gate-profile's or the registry's) key it too.
    gates = hashlib.sha256(repr(spec.gate).encode()).hexdigest()[:8]
    key = f"{sha256_file(path)[:16]}-{sha256_file(base_path)[:16]}-{limit or 'full'}-{gates}-t{TOKENIZATION_REVISION}"
    cache = CACHE_DIR / "eval" / f"{key}.json"
    if cache.is_file():
        say(f"{spec.id}: host evaluation: cached ({cache.name})")
        return json.loads(cache.read_text())
    from harness.evaluation.datasets import STSB_TEST, XQUAD_EN, load_squad_retrieval, load_sts_csv

    sts = load_sts_csv(STSB_TEST)
    retrieval = [load_squad_retrieval(XQUAD_EN, "xquad_en")]
    if limit:
        sts, retrieval = sts[:limit], [r.head(limit) for r in retrieval]
    say(f"{spec.id}: host evaluation: {len(sts)} STS pairs, {sum(len(r.queries) for r in retrieval)} questions")
    report: EvalReport = evaluate(
        spec,
        base,
        candidate_path=path,
        baseline_path=base_path,
        sts_pairs=sts,
        retrieval_sets=retrieval,
        latency_texts=0,
        progress=lambda step: say(f"{spec.id}: host evaluation: {step}"),
    )
    data = report.to_dict()
    write_json_atomic(cache, data)
    return data


def host_model(
    spec: ModelSpec, sha: str, size: int, report: dict, preset: str | None, path: Path | str = ""
) -> HostModel:
    """A host evaluation (EvalReport.to_dict()) as the sign-off's HostModel: its quality figures and
    gates; the eval command's manifest builds its entries through this too (one shape)."""
    retrieval = report.get("retrieval", {}).get("xquad_en", {})
    quality = {
        "mean_cosine_vs_fp32": report["cosine_vs_baseline"].get("mean"),
        "p5_cosine_vs_fp32": report["cosine_vs_baseline"].get("p5"),
        "sts_spearman": report["sts"].get("spearman"),
        "sts_retention": report["sts"].get("retention"),
        "xquad_top1": retrieval.get("top1"),
        "xquad_top1_retention": retrieval.get("top1_retention"),
        "xquad_ndcg10_retention": retrieval.get("ndcg10_retention"),
        "sts_pairs": report["sts"].get("pairs"),
        "xquad_queries": retrieval.get("queries"),
    }
    gates = [Gate(f"host_{g['name']}", g["passed"], g["value"], g["threshold"]) for g in report["gates"]]
    gates += [Gate(f"host_{c['name']}", c["passed"], c["value"], c["threshold"]) for c in report["chapter_tests"]]
    where = str(Path(path).resolve()) if path else ""
    return HostModel(spec.id, spec.variant, sha, size, report["baseline_size_bytes"], quality, gates, preset, where)


def prepare_host(options: DeployOptions, registry: Registry, progress: Progress) -> HostPlan:
    if not options.model_ids:
        raise InputError("no models given (MODELS=...)")
    say = lambda message: progress("host", message)  # noqa: E731
    signoff = default_signoff_set()
    planned: list[PlannedModel] = []
    for model_id in dict.fromkeys(options.model_ids):
        spec = registry.get(model_id).with_gate_profile(options.gate_profile)
        base = registry.get(spec.base_id)
        path = ensure_model_file(spec, registry, preset=options.preset, progress=say)
        # Before the host evaluation and any push: a device runtime too old for the file's ops is one line.
        needs = check_model_for_device(path, spec.id, options.device_ort_version)
        base_path = ensure_model_file(base, registry, progress=say)
        report = _host_eval_cached(spec, base, path, base_path, options.host_eval_limit, say)
        # Batch of one, as the app's embed(text) runs: dynamic INT8 quantizes activations with one
        # scale per tensor, so padding and batch-mates change a text's INT8 embedding (cosine ~0.99).
        embedder = Embedder(spec, path, threads=options.settings.threads, batch_size=1)
        token_ids = embedder.tokenize(list(signoff.texts)).ids
        host_embeddings = embedder.embed_token_ids(token_ids)
        fp32 = Embedder(base, base_path, threads=options.settings.threads, batch_size=1).embed_token_ids(token_ids)
        sha = sha256_file(path)
        planned.append(
            PlannedModel(
                spec,
                path,
                sha,
                spec.tokenizer_path,
                token_ids,
                host_embeddings,
                fp32,
                host_model(spec, sha, path.stat().st_size, report, model_preset(spec, options.preset), path),
                [embedder.feeds_for([ids]) for ids in token_ids],
                needs=needs,
            )
        )
        planned[-1].host.recipe = recorded_recipe(path) or {}
        planned[-1].host.min_onnxruntime = needs.min_onnxruntime
    return HostPlan(options.run_id or new_run_id(), signoff, planned)
