"""`eval`: a variant's quality against its FP32 original, on the host."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.output import out, say


def eval_command(
    model_id: Annotated[str, typer.Argument(help="AVA model ID, e.g. AVA-ONX-384-BASE-INT8.")],
    baseline: Annotated[str | None, typer.Option(help="Baseline ID (default: the FP32 original of MODEL_ID).")] = None,
    preset: Annotated[str | None, typer.Option(help="INT8 recipe if the variant must be quantized first.")] = None,
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
        int | None, typer.Option(help="Use only the first N STS pairs and retrieval queries (quick look).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the full report as JSON here.")] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="Write a release manifest (chapter 28A ModelConfig with measured quality) here.")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="ONNX Runtime intra-op threads.")] = None,
) -> None:
    """Measure a variant against its FP32 original: chapter 28A tests 1-4, cosine vs FP32,
    STS-B Spearman retention, XQuAD-en retrieval retention, size and host latency.
    Exit code 1 when a quality gate fails."""
    from harness.errors import GateFailure
    from harness.evaluation.datasets import XQUAD_EN, load_beir, load_squad_retrieval, load_sts_csv
    from harness.evaluation.evaluate import evaluate
    from harness.fileio import write_json_atomic
    from harness.models.registry import load_registry
    from harness.models.store import ensure_model_file
    from harness.reports.terminal import print_eval_tables

    registry = load_registry()
    spec = registry.get(model_id)
    base_spec = registry.get(baseline or spec.base_id)
    sts_pairs = load_sts_csv(sts) if sts else None
    retrieval = [load_beir(d) for d in beir] if beir else None
    if limit:
        from harness.evaluation.datasets import STSB_TEST

        sts_pairs = (sts_pairs or load_sts_csv(STSB_TEST))[:limit]
        retrieval = [r.head(limit) for r in (retrieval or [load_squad_retrieval(XQUAD_EN, "xquad_en")])]
    ensure_model_file(base_spec, registry, progress=say)
    ensure_model_file(spec, registry, preset=preset, progress=say)
    report = evaluate(spec, base_spec, sts_pairs=sts_pairs, retrieval_sets=retrieval, threads=threads, progress=say)
    print_eval_tables(out, [report])
    if json_out:
        write_json_atomic(json_out, report.to_dict())
        say(f"report written to {json_out}")
    if manifest:
        from harness.reports.manifest import write_manifest

        write_manifest(manifest, [(spec, report)])
        say(f"release manifest written to {manifest}")
    if not report.passed:
        failed = [c.name for c in report.chapter_tests + report.gates if not c.passed]
        raise GateFailure(f"{model_id}: failed {', '.join(failed)}")
