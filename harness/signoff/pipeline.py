"""deploy-test: quantize (cached) -> host eval (cached) -> deploy -> instrument -> pull ->
compare -> report, for one device or a lab of them in parallel. A failing device never stops
the others; every device's failure is reported on its own."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from harness import __version__
from harness.android.adb import AdbServer, list_devices
from harness.errors import InputError
from harness.models.registry import Registry, load_registry
from harness.signoff.device_run import run_device
from harness.signoff.options import DeployOptions, Progress
from harness.signoff.plan import prepare_host
from harness.signoff.results import SignoffRun


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
    plan = prepare_host(options, registry, progress)
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
    with ThreadPoolExecutor(max_workers=max(1, len(serials)), thread_name_prefix="device") as pool:
        run.devices = list(pool.map(lambda s: run_device(s, plan, options, progress), serials))
    return run
