"""The release sign-off suite as pytest tests against real devices:

    pytest device_tests --device SERIAL [--device SERIAL2] [--models AVA-ONX-384-BASE-INT8,...]
           [--adb-server HOST:PORT] [--mode both] [--reference auto] [--min-parity-cosine 0.999]
           [--app-package PKG] [--test-package PKG] [--runner CLASS] [--config FILE]
           --junitxml=reports/device-tests.xml

Each device runs the deploy-test pipeline once (push, am instrument, pull, compare); every test
below is one gate of that run, parametrised by device and model, so JUnit shows them one by one.
`--device virtual` starts a virtual device for the session.

The options are deploy-test's, with the same configuration file (harness.config: --config FILE,
else ./ava-harness.toml, else [tool.ava-harness] in ./pyproject.toml; its top-level keys): the
command line wins over the file, the file over ANDROID_SERIAL, that over the defaults."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.android.adb import AdbServer
from harness.android.contract import DEFAULT_APP_PACKAGE, DEFAULT_RUNNER, DEFAULT_TEST_PACKAGE, RunSettings
from harness.gates import ParityGates
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test
from harness.signoff.results import ModelOnDevice, SignoffRun

_SETTINGS = RunSettings()
_PARITY = ParityGates()
# option name -> its default when neither the command line nor the configuration gives it
DEFAULTS: dict[str, Any] = {
    "device": [],
    "models": [],
    "adb-server": [],
    "mode": _SETTINGS.mode,
    "iterations": _SETTINGS.iterations,
    "warmup": _SETTINGS.warmup,
    "threads": _SETTINGS.threads,
    "preset": None,
    "min-parity-cosine": _PARITY.min_parity_cosine,
    "latency-budget-ms": _PARITY.max_latency_p50_ms,
    "gate-latency-on-emulators": False,
    "host-eval-limit": None,
    "app-package": DEFAULT_APP_PACKAGE,
    "test-package": DEFAULT_TEST_PACKAGE,
    "runner": DEFAULT_RUNNER,
    "reference": "auto",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ava-harness device sign-off")
    group.addoption("--config", default=None, help="ava-harness configuration file (default: ./ava-harness.toml)")
    group.addoption("--device", action="append", default=None, help="device serial (repeatable); 'virtual' starts one")
    group.addoption("--models", default=None, help="model IDs, comma separated (default: every available -INT8)")
    group.addoption("--adb-server", action="append", default=None, help="HOST:PORT of an adb server (repeatable)")
    group.addoption("--mode", default=None, help="model_parity, end_to_end or both (default: both)")
    group.addoption("--iterations", type=int, default=None, help="timed inferences per model")
    group.addoption("--warmup", type=int, default=None, help="untimed inferences before timing")
    group.addoption("--threads", type=int, default=None, help="ONNX Runtime intra-op threads on the device")
    group.addoption("--preset", default=None, help="quantization recipe of the models (default: the mode's)")
    group.addoption("--min-parity-cosine", type=float, default=None, help="minimum device-vs-host cosine")
    group.addoption("--latency-budget-ms", type=float, default=None, help="p50 budget per text")
    group.addoption(
        "--gate-latency-on-emulators",
        action="store_true",
        default=None,
        help="gate latency on emulated devices too (by default it is shown, not gated, there)",
    )
    group.addoption("--host-eval-limit", type=int, default=None, help="host evaluation on the first N items only")
    group.addoption("--app-package", default=None, help="the app whose files dir gets the models")
    group.addoption("--test-package", default=None, help="the instrumentation (androidTest) package")
    group.addoption("--runner", default=None, help="the instrumentation runner class")
    group.addoption("--reference", default=None, help="auto, host or arm64: the kernels the device is held against")


def pytest_configure(config: pytest.Config) -> None:
    _resolve(config)  # a bad configuration file is a usage error before collection


def _resolve(config: pytest.Config) -> dict[str, Any]:
    """Every option's value: the command line, else the configuration file, else the environment
    (ANDROID_SERIAL for --device), else the default. Computed once per session."""
    cached = getattr(config, "_ava_options", None)
    if cached is not None:
        return cached
    from harness.config import load_config
    from harness.errors import HarnessError
    from harness.settings import ENV_SERIAL

    given = config.getoption("--config")
    try:
        file_values = load_config(Path(given) if given else None).for_command(None)
    except HarnessError as err:
        raise pytest.UsageError(str(err)) from None
    resolved: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        value = config.getoption("--" + key)
        if value is None:
            value = file_values.get(key)
        if value is None and key == "device" and os.environ.get(ENV_SERIAL):
            value = [os.environ[ENV_SERIAL]]
        resolved[key] = default if value is None else value
    if isinstance(resolved["models"], str):
        resolved["models"] = resolved["models"].split(",")
    resolved["models"] = [m.strip() for item in resolved["models"] for m in item.split(",") if m.strip()]
    config._ava_options = resolved  # type: ignore[attr-defined]
    return resolved


def _model_ids(config: pytest.Config) -> list[str]:
    from harness.models.registry import load_registry

    given = _resolve(config)["models"]
    return given or [f"{base}-INT8" for base in load_registry().available_base_ids()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device_model" in metafunc.fixturenames:
        devices = _resolve(metafunc.config)["device"]
        if not devices:
            pytest.exit("pass --device SERIAL (or --device virtual), or set ANDROID_SERIAL", returncode=4)
        pairs = [(d, m) for d in devices for m in _model_ids(metafunc.config)]
        metafunc.parametrize("device_model", pairs, ids=[f"{d}-{m}" for d, m in pairs], scope="session")


def _deploy_options(config: pytest.Config) -> DeployOptions:
    from harness.reference.choice import Reference

    opts = _resolve(config)
    return DeployOptions(
        model_ids=_model_ids(config),
        servers=[AdbServer.parse(s) for s in opts["adb-server"]],
        app_package=opts["app-package"],
        test_package=opts["test-package"],
        runner=opts["runner"],
        settings=RunSettings(
            mode=opts["mode"], iterations=opts["iterations"], warmup=opts["warmup"], threads=opts["threads"]
        ),
        parity=ParityGates(
            min_parity_cosine=opts["min-parity-cosine"],
            max_latency_p50_ms=opts["latency-budget-ms"],
            gate_latency_on_emulators=opts["gate-latency-on-emulators"],
        ),
        preset=opts["preset"],
        host_eval_limit=opts["host-eval-limit"],
        reference=Reference.parse(opts["reference"]),
    )


@pytest.fixture(scope="session")
def signoff(request: pytest.FixtureRequest) -> Iterator[SignoffRun]:
    from harness.android.virtual import virtual_devices_for
    from harness.errors import HarnessError

    config = request.config
    try:
        options = _deploy_options(config)
    except HarnessError as err:  # a bad option or file value: one line, before any device work
        pytest.exit(f"error: {err}", returncode=4)
    devices = _resolve(config)["device"]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    said: dict[str, str] = {}
    lock = threading.Lock()

    def progress(who: str, message: str) -> None:
        """One timestamped line per step and device, so the suite is not silent while it runs."""
        step = message.split(":", 1)[0]
        if reporter is None or said.get(who) == step:
            return
        said[who] = step
        from harness.cli.output import safe

        line = f"{time.strftime('%H:%M:%S')} {safe(who)} {safe(message)}"
        # Device runs report from their threads while the main thread waits: one line at a time,
        # past pytest's output capture (the suite must not look hung in a CI log).
        with lock, capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(line)

    with contextlib.ExitStack() as stack:
        serials = stack.enter_context(virtual_devices_for(devices, progress=lambda message: progress("host", message)))
        run = deploy_test(serials, options, progress)
        # 'virtual' entries map to the serials started for them, in order
        names = [d for d in devices if not d.startswith("virtual")]
        run.settings["aliases"] = dict(zip([*names, *["virtual"] * (len(serials) - len(names))], serials, strict=False))
        yield run


@pytest.fixture
def result(signoff: SignoffRun, device_model: tuple[str, str]) -> ModelOnDevice:
    name, model_id = device_model
    serial = signoff.settings["aliases"].get(name, name)
    device = next(d for d in signoff.devices if d.serial == serial)
    if device.status == "error":
        pytest.fail(f"{serial}: {device.error}", pytrace=False)
    return next(m for m in device.models if m.model_id == model_id)
