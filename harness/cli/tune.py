"""`sensitivity` and `tune`: per-node quantization sensitivity and the recipe search (thin)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.output import out, say
from harness.errors import InputError
from harness.gates import DEFAULT_GATE_PROFILE, GATE_PROFILES, parse_gate_profile

GateProfileName = enum.StrEnum("GateProfileName", {name: name for name in GATE_PROFILES})  # type: ignore[misc]
TargetName = enum.StrEnum("TargetName", {name: name for name in ("int8", "int4", "smallest")})  # type: ignore[misc]

GateProfileOption = Annotated[
    GateProfileName,
    typer.Option(
        parser=parse_gate_profile,
        help="same-index: queries and documents embedded on the device by this model (ranking retention gates,"
        " cosine reported); mixed-index: documents embedded by FP32 elsewhere (cosine-to-FP32 gates).",
    ),
]
LimitOption = Annotated[
    int | None, typer.Option(min=1, help="Measure on the first N STS-B pairs / XQuAD questions only (quicker).")
]


def _base(model_id: str):
    from harness.models.registry import load_registry
    from harness.models.store import ensure_model_file

    registry = load_registry()
    spec = registry.get(model_id)
    if spec.is_quantized:
        raise InputError(f"{model_id}: give the FP32 model ID ({spec.base_id}); tune and sensitivity start from it")
    return spec, ensure_model_file(spec, registry, progress=say)


def _fmt(value: object, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def sensitivity_command(
    model_id: Annotated[str, typer.Argument(help="FP32 model ID, e.g. AVA-ONX-384-BASE.")],
    recipe: Annotated[
        str, typer.Option(help="dynamic (INT8, as the arm64 preset), w8 (weight-only INT8) or w4 (weight-only INT4).")
    ] = "dynamic",
    group: Annotated[
        str, typer.Option(help="node: one quantizable node at a time; layer: one layer's nodes.")
    ] = "node",
    limit: LimitOption = 200,
    top: Annotated[int, typer.Option(min=1, help="Rows printed (all are saved).")] = 15,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the ranked table here.")] = None,
) -> None:
    """Quantize one node (or layer) at a time, measure the drop against FP32 on STS-B sentences,
    print the ranked table and save it under models/cache/sensitivity (cached by model sha256 and
    recipe: a second run measures nothing again)."""
    from harness.fileio import write_json_atomic
    from harness.models.recipes import DEFAULT_DYNAMIC, WEIGHT_ONLY_INT4, WEIGHT_ONLY_INT8
    from harness.tuning.sensitivity import EvalSet, sensitivity

    chosen = {"dynamic": DEFAULT_DYNAMIC, "w8": WEIGHT_ONLY_INT8, "w4": WEIGHT_ONLY_INT4}.get(recipe)
    if chosen is None:
        raise InputError(f"--recipe {recipe}: use dynamic, w8 or w4")
    spec, base_path = _base(model_id)
    evalset = EvalSet.default(limit, retrieval=False, latency_texts=0)
    rows = sensitivity(spec, base_path, chosen, evalset, group=group, progress=say)
    out.print(f"{model_id}: sensitivity to {chosen.name} on {len(evalset.sentences())} STS-B sentences, worst first")
    out.print(f"{'rank':>4}  {'node':<60} {'1-mean cos':>10} {'min cos':>8} {'STS ret.':>8}")
    for rank, row in enumerate(rows[:top], start=1):
        if "error" in row:
            out.print(f"{rank:>4}  {row['label'][:60]:<60} {row['error'][:40]}", markup=False)
            continue
        out.print(
            f"{rank:>4}  {row['label'][:60]:<60} {row['drop']:>10.6f} {row['min_cosine']:>8.5f} "
            f"{row['spearman_retention']:>8.2%}",
            markup=False,
        )
    if json_out:
        write_json_atomic(json_out, {"model": model_id, "recipe": chosen.describe(), "rows": rows})
        say(f"table written to {json_out}")


def tune_command(
    model_id: Annotated[str, typer.Argument(help="FP32 model ID, e.g. AVA-ONX-384-BASE.")],
    target: Annotated[TargetName, typer.Option(help="int8: INT8-class size; int4; smallest: any.")] = TargetName.int8,  # type: ignore[attr-defined]
    max_size_ratio: Annotated[
        float | None, typer.Option(help="Largest size vs FP32 (default: int8 0.35, int4 0.25, smallest 0.5).")
    ] = None,
    max_latency_ratio: Annotated[
        float | None,
        typer.Option(help="Largest host latency vs FP32 (default: int8 1.0, i.e. faster than FP32; others ungated)."),
    ] = None,
    gate_profile: GateProfileOption = DEFAULT_GATE_PROFILE,  # type: ignore[assignment]
    limit: LimitOption = None,
    arm64: Annotated[
        bool | None,
        typer.Option(
            help="Re-measure the chosen recipe under the aarch64 ORT (default: when `make arm64-runtime` ran)."
        ),
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option(help="Where <ID>-INT8.onnx / <ID>-INT4.onnx go (default: models/quantized).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the explored table here.")] = None,
) -> None:
    """Search quantization recipes for the smallest model passing every gate of the profile and
    write it as <ID>-INT8 (or <ID>-INT4) with its recipe in the .quant.json; prints the Pareto
    table explored. Exit 1 when no recipe meets the target (the best explored one is named)."""
    from harness.errors import GateFailure
    from harness.fileio import write_json_atomic
    from harness.reference.arm64 import Arm64Runtime, require_runtime
    from harness.tuning.sensitivity import EvalSet
    from harness.tuning.tune import pareto_rows, tune

    spec, base_path = _base(model_id)
    runtime = require_runtime() if arm64 else (Arm64Runtime.locate() if arm64 is None else None)
    screen = EvalSet.default(limit, retrieval=False, latency_texts=0)
    full = EvalSet.default(limit)
    result = None
    try:
        result = tune(
            spec,
            base_path,
            target=str(target),
            profile=str(gate_profile),
            max_size_ratio=max_size_ratio,
            max_latency_ratio=-1.0 if max_latency_ratio is None else max_latency_ratio,
            screen=screen,
            full=full,
            output_dir=output_dir,
            arm64_runtime=runtime,
            progress=say,
        )
    except GateFailure as failure:
        result = getattr(failure, "result", None)
        raise
    finally:
        if result is not None:
            rows = pareto_rows(result.candidates)
            _print_table(rows)
            if json_out:
                write_json_atomic(json_out, {"model": model_id, "profile": str(gate_profile), "rows": rows})
    assert result is not None and result.path is not None
    chosen = result.chosen
    assert chosen is not None
    if chosen.arm64:
        arm = (
            f"re-measured on ARM64 (mean/min cosine {chosen.arm64['mean_cosine']:.4f}/{chosen.arm64['min_cosine']:.4f})"
        )
    else:
        arm = "not re-measured on ARM64 " + ("(--no-arm64)" if arm64 is False else "(run `make arm64-runtime`)")
    out.print(
        f"{model_id}: chose {chosen.recipe.name}: {chosen.size_ratio:.1%} of FP32, {arm}; "
        f"written {result.path} (recipe in {result.path.with_suffix('.quant.json').name})",
        markup=False,
    )


def _print_table(rows: list[dict]) -> None:
    out.print(
        f"{'recipe':<34} {'size':>6} {'mean cos':>9} {'p5 cos':>8} {'min cos':>8} {'STS ret':>8} "
        f"{'top1 ret':>8} {'latency':>7}  stage   result",
        markup=False,
    )
    for r in rows:
        verdict = "PASS" if r["passed"] else "fail: " + ", ".join(r["failed"])[:40]
        out.print(
            f"{r['recipe'][:34]:<34} {_fmt(r['size_ratio'], '.1%'):>6} {_fmt(r['mean_cosine'], '.5f'):>9} "
            f"{_fmt(r['p5_cosine'], '.5f'):>8} {_fmt(r['min_cosine'], '.5f'):>8} "
            f"{_fmt(r['spearman_retention'], '.2%'):>8} {_fmt(r['top1_retention'], '.1%'):>8} "
            f"{_fmt(r['latency_ratio'], '.2f'):>7}  {r['stage']:<7} {verdict}{' *' if r['pareto'] else ''}",
            markup=False,
        )
    out.print("* on the Pareto front (no smaller candidate has a higher mean cosine)", markup=False)
