"""What a sign-off run is asked to do: devices' adb servers, app packages, run settings, gates, limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.android.adb import AdbServer
from harness.android.contract import (
    DEFAULT_APP_PACKAGE,
    DEFAULT_RUNNER,
    DEFAULT_TEST_PACKAGE,
    RunSettings,
)
from harness.gates import ParityGates
from harness.settings import ADB_TIMEOUT, INSTRUMENT_IDLE_TIMEOUT, INSTRUMENT_TIMEOUT, REPORTS_DIR

Progress = Callable[[str, str], None]  # (serial or "host", message)


@dataclass
class DeployOptions:
    model_ids: list[str]
    servers: list[AdbServer] = field(default_factory=list)
    app_package: str = DEFAULT_APP_PACKAGE
    test_package: str = DEFAULT_TEST_PACKAGE
    runner: str = DEFAULT_RUNNER
    settings: RunSettings = field(default_factory=RunSettings)
    parity: ParityGates = field(default_factory=ParityGates)
    preset: str | None = None
    reports_dir: Path = REPORTS_DIR
    run_id: str | None = None
    instrument_timeout: float = INSTRUMENT_TIMEOUT
    idle_timeout: float = INSTRUMENT_IDLE_TIMEOUT
    adb_timeout: float = ADB_TIMEOUT
    max_battery_celsius: float = 45.0
    storage_margin_bytes: int = 64 * 1024 * 1024
    host_eval_limit: int | None = None  # None: the full STS-B and XQuAD-en sets
    check_packages: bool = True
    # Which kernels the device's output is held against: "auto" (the device's ABI decides),
    # "host" (this machine's ONNX Runtime), "arm64" (aarch64 ONNX Runtime under qemu-user).
    reference: str = "auto"
