"""Shared fixtures. The virtual-device fixtures (private adb server + devices) come from the
virtual_device pytest plugin, so tests never touch a user's adb server on 5037."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.models.registry import Registry, load_registry

pytest_plugins = ["virtual_device.testing.pytest_plugin"]

# A test that asks for one of these (directly or through another fixture) talks to a real adb
# server and virtual devices: it is end to end, whatever its module holds.
DEVICE_FIXTURES = frozenset({"adb_server", "virtual_device", "virtual_devices"})


REPORT_NAMES = ("signoff.json", "manifest.json")
VALIDATED_REPORTS: list[Path] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "unvalidated_reports: writes reports that are meant to break the schema (hostile data, old versions)"
    )


@pytest.fixture(autouse=True)
def _reports_match_schemas(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every signoff.json and manifest.json a test leaves under its tmp_path must match schemas/
    (tests.helpers.validate_report): the e2e runs, the CLI's, the report writers'."""
    if "tmp_path" not in request.fixturenames or request.node.get_closest_marker("unvalidated_reports"):
        yield
        return
    root = request.getfixturevalue("tmp_path")  # set up now, so it is torn down after this check
    yield
    from tests.helpers import validate_report

    for path in sorted(p for name in REPORT_NAMES for p in root.rglob(name) if p.is_file()):
        validate_report(path)
        VALIDATED_REPORTS.append(path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if VALIDATED_REPORTS:
        count = len(VALIDATED_REPORTS)
        terminalreporter.write_line(f"report schemas: {count} signoff.json/manifest.json files validated")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if DEVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


@pytest.fixture(scope="session")
def model_file(registry: Registry) -> Callable[[str], Path]:
    """Path of a model ID's file, built or quantized (cached) on first use: real weights."""
    from harness.models.store import ensure_model_file

    def get(model_id: str) -> Path:
        return ensure_model_file(registry.get(model_id), registry, progress=lambda _m: None)

    return get


@pytest.fixture
def deploy_options(adb_server, model_file):
    """Factory: DeployOptions for the private adb server, small and quick, models built."""
    from harness.android.adb import AdbServer
    from harness.android.contract import RunSettings
    from harness.signoff.options import DeployOptions

    def make(*model_ids: str, **overrides: object) -> DeployOptions:
        for model_id in model_ids:
            model_file(model_id)
        defaults: dict[str, object] = {
            "servers": [AdbServer("127.0.0.1", adb_server.port)],
            "settings": RunSettings(iterations=3, warmup=1, threads=1),
            "host_eval_limit": 40,
            "adb_timeout": 20,
            "instrument_timeout": 300,
            "idle_timeout": 60,
        }
        return DeployOptions(model_ids=list(model_ids), **{**defaults, **overrides})  # type: ignore[arg-type]

    return make
