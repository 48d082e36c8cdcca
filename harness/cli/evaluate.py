"""`eval`: a variant's quality against its FP32 original, on the host."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.output import console, out, say
from harness.errors import InputError
from harness.models.quantize import PresetName, parse_preset

STDOUT = "-"


def at_least(minimum: int, option: str) -> Callable[[object], int]:
    """A Typer `parser=` for an integer option that must be >= `minimum`: a bad value is one
    InputError line (exit 2) before any work, not Click's usage box."""

    def parse(value: object) -> int:
        try:
            number = int(str(value), 10) if not isinstance(value, int) else value
        except ValueError:
            raise InputError(f"{option} {value}: not a whole number") from None
        if number < minimum:
            raise InputError(f"{option} {number}: must be >= {minimum}")
        return number

    return parse


def check_eval_outputs(json_out: Path | None, manifest: Path | None) -> None:
    """Where eval writes, checked before it evaluates: `--json -` is stdout; otherwise each path
    must be a file atomic_output can create (see harness.fileio.check_output_file)."""
    from harness.fileio import check_output_file

    if manifest is not None and str(manifest) == STDOUT:
        raise InputError("--manifest -: give a file name (only --json can go to stdout)")
    if json_out is not None and str(json_out) != STDOUT:
        check_output_file(json_out, "--json")
    if manifest is not None:
        check_output_file(manifest, "--manifest")
    if json_out is not None and manifest is not None and json_out.resolve() == manifest.resolve():
        raise InputError(f"--json and --manifest are both {manifest}: give two files")


def eval_command(
    model_id: Annotated[str, typer.Argument(help="AVA model ID, e.g. AVA-ONX-384-BASE-INT8.")],
    baseline: Annotated[str | None, typer.Option(help="Baseline ID (default: the FP32 original of MODEL_ID).")] = None,
    preset: Annotated[
        PresetName | None,
        typer.Option(
            parser=parse_preset,
            help="Recipe to quantize the variant with (default: the mode's default, kept in <ID>.onnx, the file"
            " the app loads); another preset is kept in models/quantized/<ID>@<preset>.onnx.",
        ),
    ] = None,
    sts: Annotated[
        Path | None, typer.Option(help="Your own STS CSV (sentence1,sentence2,score) instead of STS-B test.")
    ] = None,
    beir: Annotated[
        list[Path] | None,
        typer.Option(
            help="A BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv); repeatable. Replaces XQuAD-en."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            parser=at_least(1, "--limit"), min=1, help="Use only the first N STS pairs and retrieval queries."
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full report as JSON here ('-': stdout, nothing else).")
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="Write a release manifest (chapter 28A ModelConfig with measured quality) here.")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(parser=at_least(1, "--threads"), min=1, help="ONNX Runtime intra-op threads.")
    ] = None,
) -> None:
    """Measure a variant against its FP32 original: chapter 28A tests 1-4, cosine vs FP32,
    STS-B Spearman retention, XQuAD-en retrieval retention, size and host latency.
    Exit code 1 when a quality gate fails."""
    from harness.errors import GateFailure
    from harness.evaluation.datasets import XQUAD_EN, load_beir, load_squad_retrieval, load_sts_csv
    from harness.evaluation.evaluate import evaluate
    from harness.fileio import dumps_json, write_json_atomic
    from harness.models.registry import load_registry
    from harness.models.store import ensure_model_file, model_preset
    from harness.reports.terminal import print_eval_tables

    # Everything the user gave is checked first; only then is anything built, quantized or run.
    check_eval_outputs(json_out, manifest)
    to_stdout = json_out is not None and str(json_out) == STDOUT
    registry = load_registry()
    spec = registry.get(model_id)
    base_spec = registry.get(baseline or spec.base_id)
    if preset is not None and not spec.is_quantized:
        raise InputError(f"--preset {preset}: {model_id} is an FP32 model; a preset applies to -INT8 or -FP16 IDs")
    preset_name = model_preset(spec, preset)  # a preset of the other mode is an error here
    sts_pairs = load_sts_csv(sts) if sts else None
    retrieval = [load_beir(d) for d in beir] if beir else None
    if limit is not None:
        from harness.evaluation.datasets import STSB_TEST

        sts_pairs = (sts_pairs or load_sts_csv(STSB_TEST))[:limit]
        retrieval = [r.head(limit) for r in (retrieval or [load_squad_retrieval(XQUAD_EN, "xquad_en")])]

    base_path = ensure_model_file(base_spec, registry, progress=say)
    path = ensure_model_file(spec, registry, preset=preset, progress=say)
    report = evaluate(
        spec,
        base_spec,
        candidate_path=path,
        baseline_path=base_path,
        sts_pairs=sts_pairs,
        retrieval_sets=retrieval,
        threads=threads,
        progress=say,
        preset=preset_name,
    )
    # With `--json -` stdout carries the JSON only; the tables go to stderr with the progress.
    print_eval_tables(console if to_stdout else out, [report])
    if to_stdout:
        sys.stdout.write(dumps_json(report.to_dict()))
        sys.stdout.flush()
    elif json_out:
        write_json_atomic(json_out, report.to_dict())
        say(f"report written to {json_out}")
    if manifest:
        from harness.reports.manifest import write_manifest

        write_manifest(manifest, [(spec, report)])
        say(f"release manifest written to {manifest}")
    if not report.passed:
        failed = [c.name for c in report.chapter_tests + report.gates if not c.passed]
        raise GateFailure(f"{model_id}: failed {', '.join(failed)}")
