"""deploy-test: quantize (cached) -> host eval (cached) -> deploy -> instrument -> pull ->
compare -> report, for one device or a lab of them in parallel. A failing device never stops
the others; every device's failure is reported on its own."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime

from harness import __version__
from harness.android.adb import AdbServer, list_devices
from harness.errors import InputError
from harness.models.registry import Registry, load_registry
from harness.signoff.baseline import apply_baseline
from harness.signoff.device_run import run_device
from harness.signoff.interrupts import STOP_GRACE_SECONDS, Cancellation, HostWorkInterrupted, describe
from harness.signoff.options import DeployOptions, Progress
from harness.signoff.plan import HostPlan, prepare_host
from harness.signoff.results import DeviceRun, SignoffRun


def attached_serials(servers: Sequence[AdbServer]) -> list[str]:
    return [d.serial for d in list_devices(list(servers) or [AdbServer.from_env()]) if d.state == "device"]


def deploy_test(
    serials: Sequence[str],
    options: DeployOptions,
    progress: Progress = lambda _s, _m: None,
    registry: Registry | None = None,
) -> SignoffRun:
    """Run the sign-off on every device in parallel; the host work is done once."""
    import onnxruntime

    if not serials:
        raise InputError('no devices: pass DEVICE=<serial> / DEVICES="s1 s2", or attach one (adb devices)')
    registry = registry or load_registry()
    try:
        plan = prepare_host(options, registry, progress)
    except KeyboardInterrupt as interrupt:  # nothing reached a device: no partial report to write
        raise HostWorkInterrupted(
            f"interrupted ({describe(interrupt)}) while preparing the models on the host"
        ) from None
    run = SignoffRun(
        run_id=plan.run_id,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        harness_version=__version__,
        onnxruntime_version=onnxruntime.__version__,
        texts=list(plan.signoff.texts),
        models=[m.host for m in plan.models],
        settings={
            "mode": options.settings.mode,
            "threads": options.settings.threads,
            "warmup": options.settings.warmup,
            "iterations": options.settings.iterations,
            "parity_gates": options.parity.__dict__,
            "app_package": options.app_package,
            "test_package": options.test_package,
            "runner": options.runner,
        },
    )
    run.devices = _run_devices(serials, plan, options, progress, run)
    _check_reported_ort(run.devices, plan, options.device_ort_version)
    if options.baseline is not None:
        progress("host", f"comparing with baseline {options.baseline.path}")
        apply_baseline(run, options.baseline, options.parity.gate_latency_on_emulators)
    return run


def _run_devices(
    serials: Sequence[str], plan: HostPlan, options: DeployOptions, progress: Progress, run: SignoffRun
) -> list[DeviceRun]:
    """Every device in its own thread. On an interrupt the devices are cancelled and given
    STOP_GRACE_SECONDS to clean up; what they measured is kept, the run says it was interrupted."""
    cancel = Cancellation()
    pool = ThreadPoolExecutor(max_workers=max(1, len(serials)), thread_name_prefix="device")
    futures = [pool.submit(run_device, s, plan, options, progress, cancel) for s in serials]
    try:
        wait(futures)
    except KeyboardInterrupt as interrupt:
        reason = describe(interrupt)
        running = [s for s, f in zip(serials, futures, strict=True) if not f.done()]
        run.interrupted = f"{reason} while {', '.join(running) or 'no device'} was still running"
        cancel.cancel(reason)
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: report at once
            wait(futures, timeout=STOP_GRACE_SECONDS)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return [
        future.result()
        if future.done() and not future.cancelled()
        else DeviceRun(
            serial,
            status="interrupted",
            error=f"interrupted ({cancel.reason}): the device did not stop within {STOP_GRACE_SECONDS:g} s",
        )
        for serial, future in zip(serials, futures, strict=True)
    ]


def _check_reported_ort(devices: Sequence[DeviceRun], plan: HostPlan, declared: str | None = None) -> None:
    """The push went ahead on the declared ONNX Runtime version (--device-ort-version or the Gradle
    pin); the version a device reported in result.json is the fact. Both are recorded in the
    device's health; a model that needs a newer one than the device reported fails a gate naming
    the op and the version (harness.models.compatibility)."""
    from harness.models.compatibility import app_ort_version, reported_version_gate

    needs = {m.spec.id: m.needs for m in plan.models if m.needs is not None}
    declared = declared or app_ort_version()
    for device in devices:
        reported = next((m.ort_version for m in device.models if m.ort_version), "")
        device.health["onnxruntime"] = {"declared": declared, "reported": reported or None}
        for model in device.models:
            gate = reported_version_gate(needs[model.model_id], reported) if model.model_id in needs else None
            if gate is not None and model.judged:
                model.gates.append(gate)
                device.status = "failed" if device.status == "passed" else device.status
