"""The release sign-off suite as pytest tests against real devices:

    pytest device_tests --device SERIAL [--device SERIAL2] [--models AVA-ONX-384-BASE-INT8,...]
           [--adb-server HOST:PORT] [--app-package PKG] [--test-package PKG] [--runner CLASS]
           --junitxml=reports/device-tests.xml

Each device runs the deploy-test pipeline once (push, am instrument, pull, compare); every test
below is one gate of that run, parametrised by device and model, so JUnit shows them one by one.
`--device virtual` starts a virtual device for the session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from harness.android.adb import AdbServer
from harness.android.contract import DEFAULT_APP_PACKAGE, DEFAULT_RUNNER, DEFAULT_TEST_PACKAGE, RunSettings
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test
from harness.signoff.results import ModelOnDevice, SignoffRun


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ava-harness device sign-off")
    group.addoption("--device", action="append", default=[], help="device serial (repeatable); 'virtual' starts one")
    group.addoption("--models", default="", help="model IDs, comma separated (default: every available -INT8)")
    group.addoption("--adb-server", action="append", default=[], help="HOST:PORT of an adb server (repeatable)")
    group.addoption("--iterations", type=int, default=20, help="timed inferences per model")
    group.addoption("--latency-budget-ms", type=float, default=250.0, help="p50 budget per text")
    group.addoption(
        "--gate-latency-on-emulators",
        action="store_true",
        help="gate latency on emulated devices too (by default it is shown, not gated, there)",
    )
    group.addoption("--host-eval-limit", type=int, default=None, help="host evaluation on the first N items only")
    group.addoption("--app-package", default=DEFAULT_APP_PACKAGE, help="the app whose files dir gets the models")
    group.addoption("--test-package", default=DEFAULT_TEST_PACKAGE, help="the instrumentation (androidTest) package")
    group.addoption("--runner", default=DEFAULT_RUNNER, help="the instrumentation runner class")


def _model_ids(config: pytest.Config) -> list[str]:
    from harness.models.registry import load_registry

    given = [m.strip() for m in config.getoption("--models").split(",") if m.strip()]
    return given or [f"{base}-INT8" for base in load_registry().available_base_ids()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device_model" in metafunc.fixturenames:
        devices = metafunc.config.getoption("--device")
        if not devices:
            pytest.exit("pass --device SERIAL (or --device virtual)", returncode=4)
        pairs = [(d, m) for d in devices for m in _model_ids(metafunc.config)]
        metafunc.parametrize("device_model", pairs, ids=[f"{d}-{m}" for d, m in pairs], scope="session")


@pytest.fixture(scope="session")
def signoff(request: pytest.FixtureRequest) -> Iterator[SignoffRun]:
    from harness.android.virtual import virtual_devices_for
    from harness.gates import ParityGates

    config = request.config
    options = DeployOptions(
        model_ids=_model_ids(config),
        servers=[AdbServer.parse(s) for s in config.getoption("--adb-server")],
        app_package=config.getoption("--app-package"),
        test_package=config.getoption("--test-package"),
        runner=config.getoption("--runner"),
        settings=RunSettings(iterations=config.getoption("--iterations")),
        parity=ParityGates(
            max_latency_p50_ms=config.getoption("--latency-budget-ms"),
            gate_latency_on_emulators=config.getoption("--gate-latency-on-emulators"),
        ),
        host_eval_limit=config.getoption("--host-eval-limit"),
    )
    with contextlib.ExitStack() as stack:
        serials = stack.enter_context(virtual_devices_for(config.getoption("--device"), progress=lambda _m: None))
        run = deploy_test(serials, options)
        # 'virtual' entries map to the serials started for them, in order
        names = [d for d in config.getoption("--device") if not d.startswith("virtual")]
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
