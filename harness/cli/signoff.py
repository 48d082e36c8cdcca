"""`deploy-test` and `lab`: the sign-off on one device or many."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, TextColumn, TimeElapsedColumn

from harness.cli import options as opt
from harness.cli.output import console, out, say

if TYPE_CHECKING:
    from harness.signoff.options import DeployOptions


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

    with virtual_devices_for(devices, progress=say) as serials:
        if not serials:
            serials = attached_serials(options.servers)
            say(f"devices: {', '.join(serials) or 'none attached'}")
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
        say(f"{name}: {path}")
    if not run.passed:
        failing = [d.serial for d in run.devices if not d.passed]
        raise GateFailure(f"sign-off failed on {', '.join(failing) or 'host gates'}: see {written.get('html')}")


def deploy_test_command(
    device: Annotated[list[str] | None, typer.Option("--device", "-d", help=opt.DEVICE_HELP)] = None,
    models: opt.Models = None,
    adb_server: opt.AdbServers = None,
    mode: opt.Mode = opt.DEFAULT_MODE,
    iterations: opt.Iterations = opt.DEFAULT_ITERATIONS,
    warmup: opt.Warmup = opt.DEFAULT_WARMUP,
    threads: opt.Threads = opt.DEFAULT_THREADS,
    preset: opt.Preset = None,
    min_parity_cosine: opt.MinParityCosine = opt.DEFAULT_MIN_PARITY_COSINE,
    latency_budget_ms: opt.LatencyBudgetMs = opt.DEFAULT_LATENCY_BUDGET_MS,
    reports_dir: opt.ReportsDir = opt.DEFAULT_REPORTS_DIR,
    host_eval_limit: opt.HostEvalLimit = None,
    app_package: opt.AppPackage = opt.DEFAULT_APP,
    test_package: opt.TestPackage = opt.DEFAULT_TEST,
    runner: opt.Runner = opt.DEFAULT_RUNNER_CLASS,
    reference: opt.Reference = opt.DEFAULT_REFERENCE,
) -> None:
    """Quantize (cached) -> host eval (cached) -> push -> am instrument -> pull -> compare -> report.

    Exit code 0 only when every gate passes on every device; reports go to reports/<run-id>/
    (signoff.json, junit.xml, signoff.html, manifest.json)."""
    options = dict(locals())  # first: every parameter and nothing else
    import os

    from harness.settings import ENV_SERIAL

    devices = options.pop("device") or ([os.environ[ENV_SERIAL]] if os.environ.get(ENV_SERIAL) else [])
    if not devices:
        from harness.errors import InputError

        raise InputError(f"no device: pass --device SERIAL (or 'virtual'), or set {ENV_SERIAL}")
    _run_signoff(devices, _deploy_options(**options))


def lab_command(
    device: Annotated[
        list[str] | None, typer.Option("--device", "-d", help=opt.DEVICE_HELP + " Default: every attached device.")
    ] = None,
    models: opt.Models = None,
    adb_server: opt.AdbServers = None,
    mode: opt.Mode = opt.DEFAULT_MODE,
    iterations: opt.Iterations = opt.DEFAULT_ITERATIONS,
    warmup: opt.Warmup = opt.DEFAULT_WARMUP,
    threads: opt.Threads = opt.DEFAULT_THREADS,
    preset: opt.Preset = None,
    min_parity_cosine: opt.MinParityCosine = opt.DEFAULT_MIN_PARITY_COSINE,
    latency_budget_ms: opt.LatencyBudgetMs = opt.DEFAULT_LATENCY_BUDGET_MS,
    reports_dir: opt.ReportsDir = opt.DEFAULT_REPORTS_DIR,
    host_eval_limit: opt.HostEvalLimit = None,
    app_package: opt.AppPackage = opt.DEFAULT_APP,
    test_package: opt.TestPackage = opt.DEFAULT_TEST,
    runner: opt.Runner = opt.DEFAULT_RUNNER_CLASS,
    reference: opt.Reference = opt.DEFAULT_REFERENCE,
) -> None:
    """Device lab: the sign-off on many devices in parallel; one failing device never stops the others."""
    options = dict(locals())
    _run_signoff(options.pop("device") or [], _deploy_options(**options))
