"""Quality/size/speed of every quantization recipe, measured in one run (make bench-quality).

Models: all-MiniLM-L6-v2 (AVA-ONX-384-BASE), paraphrase-MiniLM-L3-v2 (AVA-ONX-384-FAST), and
all-mpnet-base-v2 (AVA-ONX-768-QUAL) when `make models-large` has built it. Variants: FP32, the
chapter's INT8 recipe (per-tensor), the default INT8 (arm64 preset: per-channel), FP16; for
MiniLM-L6 also `tune`'s INT8 and INT4 choices and Optimum's arm64 config replicated with ORT.
`bench/bench_quality.py AVA-ONX-384-BASE` benches one model.
Latency is per sentence (batch of one), each variant interleaved text by text with its FP32
original in the same process, and quoted only as a ratio."""

from __future__ import annotations

import time
from dataclasses import replace

from harness.evaluation.evaluate import EmbeddingCache, evaluate
from harness.fileio import write_json_atomic, write_text_atomic
from harness.models.quantize import PRESETS, quantize_file
from harness.models.registry import load_registry
from harness.models.store import ensure_model_file
from harness.settings import MODELS_DIR
from harness.settings import PROJECT_ROOT as ROOT

TARGETS = (
    "default INT8 <= 26% of FP32 size, mean cosine >= 0.99, Spearman retention >= 99.5%; "
    "FP16 <= 51%, mean cosine >= 0.9999; MiniLM-L6 tuned INT8 <= 28%, mean/min cosine >= 0.999/0.998, "
    "retention >= 99.8%, latency < FP32; tuned INT4 <= 21%, ranking retention >= 99.5%"
)
TUNED_BASE = "AVA-ONX-384-BASE"  # the tuned rows (issue 15) are MiniLM-L6's


def tuned_variants(registry) -> list[tuple[str, object, object]]:
    """MiniLM-L6's tuned INT8 (mixed-index gates) and INT4 (same-index gates) from `tune` (cached
    per candidate: cheap after bench/bench_tune.py or an earlier run), and Optimum's arm64
    config replicated with ORT (dynamic, per-channel S8 weights, MatMul/Add only)."""
    from harness.models.recipes import Method, Recipe, apply_recipe
    from harness.reference.arm64 import Arm64Runtime
    from harness.tuning.tune import Target, tune

    base = registry.get(TUNED_BASE)
    fp32 = ensure_model_file(base, registry, progress=print)
    folder = MODELS_DIR / "quantized" / "bench"
    optimum = Recipe("optimum-arm64", Method.DYNAMIC, per_channel=True, op_types=("MatMul", "Add"))
    optimum_path = folder / f"{TUNED_BASE}-INT8-optimum-arm64.onnx"
    if not optimum_path.is_file():
        apply_recipe(fp32, optimum_path, optimum, spec=base)
    runtime = Arm64Runtime.locate()
    variants = [("INT8 Optimum arm64 (replicated)", registry.get(f"{TUNED_BASE}-INT8"), optimum_path)]
    for target, profile in ((Target.INT8, "mixed-index"), (Target.INT4, "same-index")):
        result = tune(
            base, fp32, target=target, profile=profile, output_dir=folder / target.value, arm64_runtime=runtime,
            progress=lambda m: print(f"  tune: {m}", flush=True),
        )  # fmt: skip
        label = f"{target.value.upper()} tuned ({result.chosen.recipe.name}, {profile})"
        variants.append((label, registry.get(f"{TUNED_BASE}-{target.value.upper()}"), result.path))
    return variants


def checks(rows: list[dict]) -> list[str]:
    """The issue's acceptance figures for the tuned rows, each line saying whether it holds."""
    by = {r["variant"].split(" (")[0]: r for r in rows if r["model"] == "all-MiniLM-L6-v2"}
    lines = []
    if "INT8 tuned" in by:
        r = by["INT8 tuned"]
        lines += [
            f"INT8 tuned size {r['size_ratio']:.1%} <= 28%: {r['size_ratio'] <= 0.28}",
            f"INT8 tuned mean/min cosine {r['mean_cosine']:.4f}/{r['min_cosine']:.4f} >= 0.999/0.998: "
            f"{r['mean_cosine'] >= 0.999 and r['min_cosine'] >= 0.998}",
            f"INT8 tuned STS retention {r['spearman_retention']:.2%} >= 99.8%: {r['spearman_retention'] >= 0.998}",
            f"INT8 tuned latency {r['latency_ratio']:.2f}x FP32 < 1: {r['latency_ratio'] < 1.0}",
        ]
    if "INT4 tuned" in by:
        r = by["INT4 tuned"]
        lines += [
            f"INT4 tuned size {r['size_ratio']:.1%} <= 21%: {r['size_ratio'] <= 0.21}",
            f"INT4 tuned STS retention {r['spearman_retention']:.2%} >= 99.5%: {r['spearman_retention'] >= 0.995}",
        ]
    return lines


def main() -> None:
    import sys

    registry = load_registry()
    only = sys.argv[1:]  # model IDs to bench (default: every built one)
    bases = [
        b
        for b in ("AVA-ONX-384-BASE", "AVA-ONX-384-FAST", "AVA-ONX-768-QUAL")
        if (not registry.get(b).large or registry.get(b).original_path.is_file()) and (not only or b in only)
    ]
    rows = []
    started = time.time()
    for base_id in bases:
        base = registry.get(base_id)
        fp32 = ensure_model_file(base, registry, progress=print)
        chapter_spec = replace(registry.get(f"{base_id}-INT8"), id=f"{base_id}-INT8-chapter")
        chapter_path = MODELS_DIR / "quantized" / "bench" / f"{base_id}-INT8-chapter.onnx"
        if not chapter_path.is_file():
            quantize_file(fp32, chapter_path, PRESETS["chapter"], spec=chapter_spec)
        variants = [
            ("FP32", base, fp32),
            ("INT8 chapter (per-tensor)", chapter_spec, chapter_path),
            ("INT8 default (per-channel)", registry.get(f"{base_id}-INT8"), None),
            ("FP16", registry.get(f"{base_id}-FP16"), None),
        ]
        if base_id == TUNED_BASE:
            variants += tuned_variants(registry)
        for label, spec, path in variants:
            path = path or ensure_model_file(spec, registry, progress=print)
            print(f"evaluating {base.original} {label} ...", flush=True)
            report = evaluate(
                spec,
                base,
                candidate_path=path,
                baseline_path=fp32,
                latency_texts=64,
                cache=EmbeddingCache(),
                progress=lambda m: print(f"  {m}", flush=True),
            )
            xquad = report.retrieval["xquad_en"]
            rows.append(
                {
                    "model": base.original,
                    "variant": label,
                    "size_mb": report.size_bytes / 1e6,
                    "size_ratio": report.size_ratio,
                    "mean_cosine": report.cosine_vs_baseline["mean"],
                    "min_cosine": report.cosine_vs_baseline["min"],
                    "spearman": report.sts["spearman"],
                    "spearman_retention": report.sts["retention"],
                    "top1_retention": xquad["top1_retention"],
                    "top5_retention": xquad["top5_retention"],
                    "ndcg10_retention": xquad["ndcg10_retention"],
                    "latency_ratio": report.latency_ms["p50"] / report.latency_ms["baseline_p50"],
                    "chapter_tests_passed": all(c.passed for c in report.chapter_tests),
                }
            )
    header = (
        "| model | variant | size | size vs FP32 | cosine mean / min | STS-B Spearman (retention) | "
        "XQuAD top-1 / top-5 / nDCG@10 retention | host latency / FP32 (lower is faster) |"
    )
    lines = [header, "|" + "---|" * 8]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['variant']} | {r['size_mb']:.1f} MB | {r['size_ratio']:.1%} | "
            f"{r['mean_cosine']:.4f} / {r['min_cosine']:.4f} | {r['spearman']:.4f} ({r['spearman_retention']:.2%}) | "
            f"{r['top1_retention']:.1%} / {r['top5_retention']:.1%} / {r['ndcg10_retention']:.1%} | "
            f"{r['latency_ratio']:.2f}x |"
        )
    table = "\n".join(lines)
    print(table)
    verdicts = checks(rows)
    print("\n".join(verdicts))
    print(f"targets: {TARGETS}; took {time.time() - started:.0f} s")
    out = ROOT / "bench" / "results"
    write_json_atomic(out / "quality.json", {"rows": rows, "targets": TARGETS, "checks": verdicts})
    write_text_atomic(out / "quality.md", table + "\n\n" + "\n".join(f"- {v}" for v in verdicts) + "\n")


if __name__ == "__main__":
    main()
