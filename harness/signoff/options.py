"""What a sign-off run is asked to do: devices' adb servers, app packages, run settings, gates, limits."""

from __future__ import annotations

import math
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
from harness.android.instrumentation import build_instrument_command
from harness.errors import InputError
from harness.gates import ParityGates
from harness.models.registry import validate_model_id
from harness.reference.choice import Reference
from harness.settings import ADB_TIMEOUT, INSTRUMENT_IDLE_TIMEOUT, INSTRUMENT_TIMEOUT, REPORTS_DIR
from harness.signoff.baseline import Baseline, check_baseline

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
    # Which kernels the device's output is held against (see Reference).
    reference: Reference = Reference.AUTO
    # `--gate-profile`: host quality gates from harness.gates.GATE_PROFILES instead of the registry's.
    gate_profile: str | None = None
    # The device's onnxruntime-android version, checked against each model's ops before the push
    # (harness.models.compatibility); None: the version the app's Gradle snippet pins.
    device_ort_version: str | None = None
    # `--baseline RUN`: the run this one is compared with (regression gates), None for none.
    baseline: Baseline | None = None

    def __post_init__(self) -> None:
        """Every option checked once, before any model or device work: a typo fails here."""
        if not self.model_ids:
            raise InputError("no models given (--models / MODELS=...)")
        for model_id in self.model_ids:
            validate_model_id(model_id)
        self.reference = Reference.parse(self.reference)
        # The same checks `am instrument` would make, now rather than after the push.
        build_instrument_command(self.test_package, self.runner)
        build_instrument_command(self.app_package, self.runner)
        if self.host_eval_limit is not None and (
            isinstance(self.host_eval_limit, bool)
            or not isinstance(self.host_eval_limit, int)
            or self.host_eval_limit < 1
        ):
            raise InputError(f"--host-eval-limit = {self.host_eval_limit!r}: must be a whole number >= 1")
        for name in ("instrument_timeout", "idle_timeout", "adb_timeout", "max_battery_celsius"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise InputError(f"{name} = {value!r}: must be a finite number > 0")
        if self.storage_margin_bytes < 0:
            raise InputError(f"storage_margin_bytes = {self.storage_margin_bytes!r}: must be >= 0")
        if self.baseline is not None:
            check_baseline(self.baseline.document, self.baseline.path, self.model_ids, self.app_package)
