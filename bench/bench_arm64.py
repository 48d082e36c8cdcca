"""ARM64 reference embeddings under qemu-user: cost, and how far x86-64 host ORT is from it.

1. Time to compute the ARM64 reference of 32 short sentences for AVA-ONX-384-BASE INT8 (4 batches
   of 8), cold (fresh cache: one emulated process) and cached (no emulator).
2. Divergence x86-64 vs arm64 ORT (cosine of the pooled, L2-normalised vectors) per precision
   FP32 / INT8 / FP16 for AVA-ONX-384-BASE and AVA-ONX-384-FAST, on the same 32 sentences, in
   padded batches of 8 and unpadded one by one.
Writes bench/results/arm64.json and prints a markdown table. Needs `make arm64-runtime`.
Usage: bench/bench_arm64.py [--cpu MODEL]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from harness.fileio import sha256_file
from harness.reference import arm64
from harness.reference.arm64 import Arm64Runtime, reference_embeddings, run_embeddings
from harness.settings import PROJECT_ROOT as ROOT

SENTENCES = [
    "A man is playing a guitar.",
    "The weather is sunny today.",
    "ok",
    "Where is the nearest train station?",
    "Quantized models must rank alike.",
    "I forgot my password again.",
    "The meeting moved to Thursday.",
    "Turn off the lights in the kitchen.",
    "She bought fresh bread this morning.",
    "How do I reset the router?",
    "Cats sleep most of the day.",
    "The invoice is overdue.",
    "Play some relaxing music.",
    "My flight was delayed by two hours.",
    "Embeddings map text to vectors.",
    "Call mom tomorrow at noon.",
    "The battery drains too fast.",
    "What time does the pharmacy close?",
    "A child is riding a bicycle.",
    "Set an alarm for seven.",
    "The soup needs more salt.",
    "Send the report to the team.",
    "It might snow tonight.",
    "The museum is free on Sundays.",
    "Translate this sentence into French.",
    "The dog chased the ball.",
    "Book a table for two.",
    "Prices went up again.",
    "Read me the latest news.",
    "The train leaves at 8:15.",
    "Thanks, that was helpful!",
    "Is this seat taken?",
]
MODELS = {
    "AVA-ONX-384-BASE": {
        "tokenizer": "models/originals/all-MiniLM-L6-v2/tokenizer.json",
        "inputs": ("input_ids", "attention_mask", "token_type_ids"),
        "output": "sentence_embedding",
        "files": {
            "FP32": "models/originals/all-MiniLM-L6-v2.onnx",
            "INT8": "models/quantized/AVA-ONX-384-BASE-INT8.onnx",
            "FP16": "models/quantized/AVA-ONX-384-BASE-FP16.onnx",
        },
    },
    "AVA-ONX-384-FAST": {
        "tokenizer": "models/originals/paraphrase-MiniLM-L3-v2/tokenizer.json",
        "inputs": ("input_ids", "attention_mask"),
        "output": "461",  # mean-pooled, unnormalised
        "files": {
            "FP32": "models/originals/paraphrase-MiniLM-L3-v2.onnx",
            "INT8": "models/quantized/AVA-ONX-384-FAST-INT8.onnx",
            "FP16": "models/quantized/AVA-ONX-384-FAST-FP16.onnx",
        },
    },
}
BATCH = 8


def tokenize(tokenizer_path: Path, names: tuple[str, ...], texts: list[str], batch: int) -> list[dict[str, np.ndarray]]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    batches = []
    for start in range(0, len(texts), batch):
        encoded = tokenizer.encode_batch(texts[start : start + batch])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        arrays = {
            "input_ids": ids,
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.zeros_like(ids),
        }
        batches.append({name: arrays[name] for name in names})
    return batches


def host_outputs(model: Path, batches: list[dict[str, np.ndarray]], output: str) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    return [session.run([output], feeds)[0] for feeds in batches]


def normalised(outputs: list[np.ndarray]) -> np.ndarray:
    vectors = np.concatenate(outputs).astype(np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", help="qemu CPU model (default: the runtime's, cortex-a76)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/arm64.json")
    args = parser.parse_args()
    runtime = Arm64Runtime.locate()
    if runtime is None:
        print(arm64.NOT_SET_UP, file=sys.stderr)
        return 2
    if args.cpu:
        runtime = runtime.with_cpu(args.cpu)
    for spec in MODELS.values():
        for path in spec["files"].values():
            if not (ROOT / path).is_file():
                print(
                    f"{path} missing: run `make models` and `ava-harness quantize` (see the docstring)", file=sys.stderr
                )
                return 2

    # 1. cold / cached reference for BASE INT8
    base = MODELS["AVA-ONX-384-BASE"]
    base_batches = tokenize(ROOT / base["tokenizer"], base["inputs"], SENTENCES, BATCH)
    int8 = ROOT / base["files"]["INT8"]
    sha256_file(int8)  # hash once outside the timings (cached per process)
    with tempfile.TemporaryDirectory(prefix="ava-arm64-bench-") as cache:
        launches = arm64.STATS.launches
        started = time.perf_counter()
        cold = reference_embeddings(int8, base_batches, base["output"], Path(cache), runtime=runtime)
        cold_s = time.perf_counter() - started
        runner = dict(arm64.STATS.last_run.get("seconds", {}))
        started = time.perf_counter()
        cached = reference_embeddings(int8, base_batches, base["output"], Path(cache), runtime=runtime)
        cached_s = time.perf_counter() - started
        assert arm64.STATS.launches == launches + 1, "the cached call launched the emulator"
        assert all(np.array_equal(a, b) for a, b in zip(cold, cached, strict=True))
    timing = {
        "sentences": len(SENTENCES),
        "batch": BATCH,
        "cold_s": round(cold_s, 2),
        "cached_s": round(cached_s, 4),
        "cold_runner_s": {k: round(v, 2) for k, v in runner.items()},
    }

    # 2. divergence table
    rows = []
    for model_id, spec in MODELS.items():
        padded = tokenize(ROOT / spec["tokenizer"], spec["inputs"], SENTENCES, BATCH)
        single = tokenize(ROOT / spec["tokenizer"], spec["inputs"], SENTENCES, 1)
        fp32_host = normalised(host_outputs(ROOT / spec["files"]["FP32"], padded, spec["output"]))
        for precision, rel in spec["files"].items():
            path = ROOT / rel
            row: dict[str, object] = {"model": model_id, "precision": precision}
            for label, batches in (("padded", padded), ("single", single)):
                started = time.perf_counter()
                arm = normalised(run_embeddings(path, batches, spec["output"], runtime=runtime))
                seconds = time.perf_counter() - started
                host = normalised(host_outputs(path, batches, spec["output"]))
                cos = (arm * host).sum(axis=1)
                row[f"{label}_mean_cos"] = float(cos.mean())
                row[f"{label}_min_cos"] = float(cos.min())
                row[f"{label}_max_abs"] = float(np.abs(arm - host).max())
                row[f"{label}_arm64_s"] = round(seconds, 1)
                if label == "padded":
                    row["arm64_vs_fp32_x86_min_cos"] = float((arm * fp32_host).sum(axis=1).min())
                    row["x86_vs_fp32_x86_min_cos"] = float((host * fp32_host).sum(axis=1).min())
            rows.append(row)
            print(f"  {model_id} {precision}: done", file=sys.stderr)

    result = {
        "host": {"machine": platform.machine(), "processor": platform.processor() or platform.machine()},
        "runtime": {
            "onnxruntime": runtime.onnxruntime_version,
            "numpy": runtime.numpy_version,
            "qemu": runtime.qemu_version,
            "cpu": runtime.cpu,
            "abi": arm64.ABI,
        },
        "reference_base_int8": timing,
        "divergence": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    print(
        f"\nARM64 reference, AVA-ONX-384-BASE INT8, {len(SENTENCES)} sentences (batches of {BATCH}), "
        f"ORT {runtime.onnxruntime_version} under {runtime.qemu_version} -cpu {runtime.cpu}:"
    )
    print(f"cold {timing['cold_s']} s (runner: {timing['cold_runner_s']}), cached {timing['cached_s']} s\n")
    print(
        "| model | precision | x86 vs arm64 mean cos (batch 8) | min cos (batch 8) | max abs (batch 8) "
        "| min cos (batch 1) | arm64 vs x86 FP32 min cos | x86 vs x86 FP32 min cos |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['precision']} | {r['padded_mean_cos']:.6f} | {r['padded_min_cos']:.6f} "
            f"| {r['padded_max_abs']:.2e} | {r['single_min_cos']:.6f} | {r['arm64_vs_fp32_x86_min_cos']:.5f} "
            f"| {r['x86_vs_fp32_x86_min_cos']:.5f} |"
        )
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
