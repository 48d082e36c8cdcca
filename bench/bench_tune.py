"""What `ava-harness tune` costs on all-MiniLM-L6-v2 (AVA-ONX-384-BASE), cold and cached.

Runs the INT8 search (mixed-index gates) twice in one process against a private, empty cache:
the first run quantizes and measures every candidate (and the per-node sensitivity when dynamic
INT8 needs exclusions); the second finds every candidate's figures in the cache and only writes
the chosen file again. Quoted as wall time and as the ratio cold / cached.
Usage: bench/bench_tune.py [--limit N] (N STS-B pairs / XQuAD questions; default: full sets)."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from harness.fileio import write_json_atomic
from harness.models.registry import load_registry
from harness.models.store import ensure_model_file
from harness.reference.arm64 import Arm64Runtime
from harness.settings import PROJECT_ROOT
from harness.tuning.sensitivity import EvalSet
from harness.tuning.tune import Target, pareto_rows, tune


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    registry = load_registry()
    base = registry.get("AVA-ONX-384-BASE")
    fp32 = ensure_model_file(base, registry, progress=print)
    runtime = Arm64Runtime.locate()
    screen = EvalSet.default(args.limit, retrieval=False, latency_texts=0)
    full = EvalSet.default(args.limit)
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ava-bench-tune-") as work:
        for run in ("cold", "cached"):
            started = time.perf_counter()
            result = tune(
                base, fp32, target=Target.INT8, profile="mixed-index", screen=screen, full=full,
                output_dir=Path(work) / "out", cache_dir=Path(work) / "cache", arm64_runtime=runtime,
                progress=lambda m, run=run: print(f"  {run}: {m}", flush=True),
            )  # fmt: skip
            timings[run] = time.perf_counter() - started
            print(f"{run}: {timings[run]:.0f} s, chose {result.chosen.recipe.name} ({result.chosen.size_ratio:.1%})")
    rows = pareto_rows(result.candidates)
    summary = {
        "model": base.original,
        "limit": args.limit,
        "arm64_re_measure": runtime is not None,
        "candidates": len(rows),
        "cold_seconds": timings["cold"],
        "cached_seconds": timings["cached"],
        "cold_over_cached": timings["cold"] / timings["cached"],
        "chosen": result.chosen.recipe.name,
        "rows": rows,
    }
    print(
        f"tune {base.id} --target int8: {len(rows)} candidates; cold {timings['cold']:.0f} s, cached "
        f"{timings['cached']:.0f} s ({summary['cold_over_cached']:.1f}x faster); "
        f"ARM64 re-measure: {runtime is not None}"
    )
    write_json_atomic(PROJECT_ROOT / "bench" / "results" / "tune.json", summary)


if __name__ == "__main__":
    main()
