"""`deploy-test` and `lab`: the sign-off on one device or many."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, TextColumn, TimeElapsedColumn

from harness.cli import options as opt
from harness.cli.output import console, is_quiet, out, print_error, safe, say

if TYPE_CHECKING:
    from harness.signoff.options import DeployOptions

log = logging.getLogger(__name__)


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
    gate_latency_on_emulators: bool,
    baseline: str | None = None,
    baseline_min_cosine: float = opt.DEFAULT_BASELINE_MIN_COSINE,
    baseline_max_sts_drop: float = opt.DEFAULT_BASELINE_MAX_STS_DROP,
    baseline_max_xquad_drop: float = opt.DEFAULT_BASELINE_MAX_XQUAD_DROP,
    baseline_max_latency_ratio: float = opt.DEFAULT_BASELINE_MAX_LATENCY_RATIO,
    baseline_max_size_ratio: float = opt.DEFAULT_BASELINE_MAX_SIZE_RATIO,
    **fields: Any,
) -> DeployOptions:
    from harness.android.adb import AdbServer
    from harness.android.contract import RunSettings
    from harness.gates import ParityGates
    from harness.regression_gates import RegressionGates
    from harness.signoff.options import DeployOptions

    regression = RegressionGates(
        baseline_min_cosine, baseline_max_sts_drop, baseline_max_xquad_drop, baseline_max_latency_ratio,
        baseline_max_size_ratio,
    )  # fmt: skip
    return DeployOptions(
        model_ids=_parse_models(models),
        servers=[AdbServer.parse(s) for s in adb_server or []],
        settings=RunSettings(mode=str(mode), threads=threads, warmup=warmup, iterations=iterations),
        parity=ParityGates(
            min_parity_cosine=min_parity_cosine,
            max_latency_p50_ms=latency_budget_ms,
            gate_latency_on_emulators=gate_latency_on_emulators,
        ),
        baseline=_baseline(baseline, fields.get("reports_dir", opt.DEFAULT_REPORTS_DIR), regression),
        **fields,
    )


def _baseline(argument: str | None, reports_dir: Path, gates: Any) -> Any:
    """`--baseline RUN` read (one-line error when it cannot be), None without one."""
    from harness.reports.history import load_baseline

    return None if argument is None else load_baseline(argument, reports_dir, gates)


def _run_signoff(devices: list[str], options: DeployOptions) -> None:
    """Everything was checked before this point; from here on the run always ends with its
    summary and the exit code of its verdict (see `ExitCode`), interrupted or not."""
    from harness.android.virtual import virtual_devices_for
    from harness.errors import InputError
    from harness.fileio import check_output_dir
    from harness.reports.terminal import print_summary
    from harness.reports.verdict import verdict_of
    from harness.reports.writers import ReportWriteError, write_reports
    from harness.signoff.interrupts import HostWorkInterrupted, describe, signals_interrupt
    from harness.signoff.pipeline import attached_serials, deploy_test

    for serial in devices:
        if not serial.strip():
            raise InputError(f"--device {serial!r}: an empty serial (omit --device to use every attached device)")
    check_output_dir(options.reports_dir, "--reports-dir")
    log.debug("options: %s", options)
    start = time.monotonic()
    with signals_interrupt():
        try:
            with virtual_devices_for(devices, progress=say) as serials:
                if not serials:
                    log.debug("adb devices on %s", ", ".join(map(str, options.servers)) or "the default server")
                    serials = attached_serials(options.servers)
                    say(f"devices: {', '.join(serials) or 'none attached'}")
                log.debug("devices %s ready after %.2f s", serials, time.monotonic() - start)
                bar_columns = (TextColumn("{task.description}"), TimeElapsedColumn())
                with Progress(*bar_columns, console=console, disable=is_quiet()) as bar:
                    tasks: dict[str, int] = {}
                    last: dict[str, float] = {}
                    steps: dict[str, str] = {}
                    said: dict[str, str] = {}

                    def progress(who: str, message: str) -> None:
                        now = time.monotonic()  # --verbose: each stage with the time since the last one
                        log.debug("%s: %s (+%.2f s)", who, message, now - last.get(who, start))
                        last[who] = now
                        if not console.is_terminal:  # a CI log: one timestamped line per step
                            step = message.split(":", 1)[0]
                            # A push reports per chunk: its first and its last line (size, MB/s) are enough.
                            chunk = message.startswith("push") and "(100%)" not in message
                            if (steps.get(who) != step or not chunk) and said.get(who) != message:
                                steps[who], said[who] = step, message
                                say(f"{time.strftime('%H:%M:%S')} {who} {message}")
                            return
                        if who not in tasks:
                            tasks[who] = bar.add_task(safe(who), total=None)
                        bar.update(tasks[who], description=f"[bold]{safe(who)}[/] {safe(message)}")

                    run = deploy_test(serials, options, progress)
                log.debug("sign-off %s: %.2f s on %d device(s)", run.run_id, time.monotonic() - start, len(serials))
        except KeyboardInterrupt as interrupt:
            raise HostWorkInterrupted(f"interrupted ({describe(interrupt)}) before any device ran") from None
    try:
        written: Mapping[str, Path] = write_reports(run, options.reports_dir / run.run_id)
    except ReportWriteError as err:  # the verdict stands; the files that could be written are kept
        print_error(err)
        written = err.files or {}
    if written:
        # reports/latest names the run just written: the newest, whatever its verdict.
        from harness.reports.history import link_latest

        link_latest(options.reports_dir, run.run_id)
    print_summary(run, out)
    for name, path in written.items():
        say(f"{name}: {path}")
    # The summary's headline says which verdict and why; its exit code is never lower than the run's.
    raise typer.Exit(int(verdict_of(run).exit_code))


def deploy_test_command(
    device: Annotated[list[str] | None, typer.Option("--device", "-d", help=opt.DEVICE_HELP)] = None,
    models: opt.Models = None,
    adb_server: opt.AdbServers = None,
    mode: opt.Mode = opt.DEFAULT_MODE,
    iterations: opt.Iterations = opt.DEFAULT_ITERATIONS,
    warmup: opt.Warmup = opt.DEFAULT_WARMUP,
    threads: opt.Threads = opt.DEFAULT_THREADS,
    preset: opt.Preset = None,
    gate_profile: opt.GateProfile = None,
    min_parity_cosine: opt.MinParityCosine = opt.DEFAULT_MIN_PARITY_COSINE,
    latency_budget_ms: opt.LatencyBudgetMs = opt.DEFAULT_LATENCY_BUDGET_MS,
    gate_latency_on_emulators: opt.GateLatencyOnEmulators = False,
    reports_dir: opt.ReportsDir = opt.DEFAULT_REPORTS_DIR,
    host_eval_limit: opt.HostEvalLimit = None,
    app_package: opt.AppPackage = opt.DEFAULT_APP,
    test_package: opt.TestPackage = opt.DEFAULT_TEST,
    runner: opt.Runner = opt.DEFAULT_RUNNER_CLASS,
    reference: opt.Reference = opt.DEFAULT_REFERENCE,
    device_ort_version: opt.DeviceOrtVersion = None,
    baseline: opt.BaselineRun = None,
    baseline_min_cosine: opt.BaselineMinCosine = opt.DEFAULT_BASELINE_MIN_COSINE,
    baseline_max_sts_drop: opt.BaselineMaxStsDrop = opt.DEFAULT_BASELINE_MAX_STS_DROP,
    baseline_max_xquad_drop: opt.BaselineMaxXquadDrop = opt.DEFAULT_BASELINE_MAX_XQUAD_DROP,
    baseline_max_latency_ratio: opt.BaselineMaxLatencyRatio = opt.DEFAULT_BASELINE_MAX_LATENCY_RATIO,
    baseline_max_size_ratio: opt.BaselineMaxSizeRatio = opt.DEFAULT_BASELINE_MAX_SIZE_RATIO,
    config: opt.ConfigFile = None,
) -> None:
    """Quantize (cached) -> host eval (cached) -> push -> am instrument -> pull -> compare -> report.

    Reports go to reports/<run-id>/ (signoff.json, junit.xml, signoff.html, manifest.json).
    Exit codes: 0 every gate passed on every device; 1 a quality gate failed; 2 a usage or input
    error (nothing ran); 3 a device or infrastructure error, or an interrupt, kept some verdict
    from being reached (3 wins over 1)."""
    options = dict(locals())  # first: every parameter and nothing else
    options.pop("config")  # already applied: the file's values are these parameters' defaults
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
    gate_profile: opt.GateProfile = None,
    min_parity_cosine: opt.MinParityCosine = opt.DEFAULT_MIN_PARITY_COSINE,
    latency_budget_ms: opt.LatencyBudgetMs = opt.DEFAULT_LATENCY_BUDGET_MS,
    gate_latency_on_emulators: opt.GateLatencyOnEmulators = False,
    reports_dir: opt.ReportsDir = opt.DEFAULT_REPORTS_DIR,
    host_eval_limit: opt.HostEvalLimit = None,
    app_package: opt.AppPackage = opt.DEFAULT_APP,
    test_package: opt.TestPackage = opt.DEFAULT_TEST,
    runner: opt.Runner = opt.DEFAULT_RUNNER_CLASS,
    reference: opt.Reference = opt.DEFAULT_REFERENCE,
    device_ort_version: opt.DeviceOrtVersion = None,
    baseline: opt.BaselineRun = None,
    baseline_min_cosine: opt.BaselineMinCosine = opt.DEFAULT_BASELINE_MIN_COSINE,
    baseline_max_sts_drop: opt.BaselineMaxStsDrop = opt.DEFAULT_BASELINE_MAX_STS_DROP,
    baseline_max_xquad_drop: opt.BaselineMaxXquadDrop = opt.DEFAULT_BASELINE_MAX_XQUAD_DROP,
    baseline_max_latency_ratio: opt.BaselineMaxLatencyRatio = opt.DEFAULT_BASELINE_MAX_LATENCY_RATIO,
    baseline_max_size_ratio: opt.BaselineMaxSizeRatio = opt.DEFAULT_BASELINE_MAX_SIZE_RATIO,
    config: opt.ConfigFile = None,
) -> None:
    """Device lab: the sign-off on many devices in parallel; one failing device never stops the others.

    Exit codes as deploy-test: 0 passed, 1 a gate failed, 2 usage error, 3 no verdict on some device."""
    options = dict(locals())
    options.pop("config")
    _run_signoff(options.pop("device") or [], _deploy_options(**options))
