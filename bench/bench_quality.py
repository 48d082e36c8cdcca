"""Quality/size/speed of every quantization recipe, measured in one run (make bench-quality).

Models: all-MiniLM-L6-v2 (AVA-ONX-384-BASE), paraphrase-MiniLM-L3-v2 (AVA-ONX-384-FAST), and
all-mpnet-base-v2 (AVA-ONX-768-QUAL) when `make models-large` has built it. Variants: FP32, the
chapter's INT8 recipe (per-tensor), the default INT8 (arm64 preset: per-channel), FP16.
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
    "FP16 <= 51%, mean cosine >= 0.9999"
)


def main() -> None:
    registry = load_registry()
    bases = [
        b
        for b in ("AVA-ONX-384-BASE", "AVA-ONX-384-FAST", "AVA-ONX-768-QUAL")
        if not registry.get(b).large or registry.get(b).original_path.is_file()
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
    print(f"targets: {TARGETS}; took {time.time() - started:.0f} s")
    out = ROOT / "bench" / "results"
    write_json_atomic(out / "quality.json", {"rows": rows, "targets": TARGETS})
    write_text_atomic(out / "quality.md", table + "\n")


if __name__ == "__main__":
    main()
