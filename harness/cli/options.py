"""Options shared by the commands that run a sign-off (`deploy-test`, `lab`).

Defaults come from where each fact lives (the gates, the run settings, the device contract, the
settings), so a default changes in one place and `--help` shows it.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from harness.android.contract import DEFAULT_APP_PACKAGE, DEFAULT_RUNNER, DEFAULT_TEST_PACKAGE, MODES, RunSettings
from harness.errors import HarnessError, InputError
from harness.gates import GATE_PROFILES, ParityGates, parse_gate_profile
from harness.models.quantize import PresetName, parse_preset
from harness.reference.choice import Reference as ReferenceChoice
from harness.regression_gates import RegressionGates
from harness.settings import REPORTS_DIR


# What the device embeds: the choices come from the device contract.
class RunMode(StrEnum):
    MODEL_PARITY = "model_parity"
    END_TO_END = "end_to_end"
    BOTH = "both"


assert {m.value for m in RunMode} == set(MODES), "RunMode must list the contract's modes"


def parse_run_mode(value: object) -> RunMode:
    name = str(getattr(value, "value", value))
    if name not in MODES:
        raise InputError(f"--mode {name!r}: use {', '.join(MODES[:-1])} or {MODES[-1]}")
    return RunMode(name)


log = logging.getLogger(__name__)


def apply_config(ctx: typer.Context, param: typer.CallbackParam, value: Path | None) -> Path | None:
    """`--config`'s callback (eager: it runs before every other option): the configuration file
    (harness.config) becomes the command's defaults through Click's default_map, so an option on
    the command line wins over the file. Each value is converted as the option would convert it
    now, so a bad one is an error naming the file and the key before anything runs."""
    from harness.config import load_config

    config = load_config(value)
    values = config.for_command(ctx.info_name)
    log.debug("configuration: %s %s", config.source, values)
    if not values:
        return value
    by_key = {opt[2:]: p for p in ctx.command.params for opt in p.opts if opt.startswith("--")}
    defaults: dict[str, Any] = dict(ctx.default_map or {})
    for key, item in values.items():
        option = by_key.get(key)
        if option is None or option.name == param.name:
            raise InputError(f"{config.path}: {key!r} is not an option of {ctx.info_name}")
        try:
            if not isinstance(item, bool):  # booleans were checked by type; Typer coerces the rest
                option.get_runtime_param().coerce(item, param=option, ctx=ctx)  # type: ignore[attr-defined]
        except (HarnessError, typer.TyperException) as err:
            reason = getattr(err, "format_message", err.__str__)()
            raise InputError(f"{config.path}: {key} = {item!r}: {reason}") from None
        defaults[str(option.name)] = item
    ctx.default_map = defaults
    return value


ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        is_eager=True,
        callback=apply_config,
        help="Configuration file (TOML; keys are these options' long names). Default: ./ava-harness.toml, else"
        " [tool.ava-harness] in ./pyproject.toml. Options given here win over the file.",
    ),
]

_PARITY = ParityGates()
_SETTINGS = RunSettings()

DEVICE_HELP = (
    "Device serial; 'virtual' starts a virtual device for the run ('virtual:N' starts N), 'virtual-arm64' an"
    " arm64-v8a one (aarch64 ONNX Runtime under qemu-user), 'virtual-kotlin' one whose device side is the Kotlin"
    " sign-off on a JVM over real ONNX Runtime. Repeatable."
)

Models = Annotated[
    list[str] | None,
    typer.Option(
        "--models", "-m", help="Model IDs (comma or space separated; default: every available model's -INT8)."
    ),
]
AdbServers = Annotated[
    list[str] | None,
    typer.Option(help="HOST:PORT of an adb server that has the device; repeatable (a lab spans hosts)."),
]
Mode = Annotated[
    RunMode,
    typer.Option(
        parser=parse_run_mode, help="model_parity (host token ids), end_to_end (the device tokenizes) or both."
    ),
]
Iterations = Annotated[int, typer.Option(help="Timed inferences per model on the device.")]
Warmup = Annotated[int, typer.Option(help="Untimed inferences before timing.")]
Threads = Annotated[int, typer.Option(help="ONNX Runtime intra-op threads on the device.")]
Preset = Annotated[
    PresetName | None,
    typer.Option(
        parser=parse_preset,
        help="Recipe (default: the mode's default, arm64 for int8, fp16 for fp16). INT8: arm64 (phones), x86"
        " (reduce_range), chapter (28A's per-tensor recipe); FP16: fp16, fp16-occ (onnxconverter-common).",
    ),
]
GateProfileName = StrEnum("GateProfileName", {name: name for name in GATE_PROFILES})  # type: ignore[misc]
GateProfile = Annotated[
    GateProfileName | None,
    typer.Option(
        parser=parse_gate_profile,
        help="Host quality gates by how the app uses the model. same-index: queries and documents embedded on"
        " the device by this model (ranking retention gates, cosine reported); mixed-index: documents embedded"
        " by FP32 elsewhere (cosine-to-FP32 gates). Default: the registry's gates for the variant.",
    ),
]
MinParityCosine = Annotated[float, typer.Option(help="Gate: minimum device-vs-host cosine for the same model file.")]
LatencyBudgetMs = Annotated[float, typer.Option(help="Gate: maximum p50 latency per text on the device, ms.")]
ReportsDir = Annotated[Path, typer.Option(help="Reports go to REPORTS_DIR/<run-id>/.")]
GateLatencyOnEmulators = Annotated[
    bool,
    typer.Option(
        help="Gate latency on emulated devices too (virtual devices, Android emulators). By default their latency"
        " is measured and shown but not gated: an emulator's speed says nothing about a phone's."
    ),
]
HostEvalLimit = Annotated[
    int | None, typer.Option(help="Host evaluation on the first N STS pairs / questions only (default: full sets).")
]
AppPackage = Annotated[str, typer.Option(help="The app whose external files dir receives the models.")]
TestPackage = Annotated[str, typer.Option(help="The instrumentation (androidTest) package.")]
Runner = Annotated[str, typer.Option(help="The instrumentation runner class.")]
Reference = Annotated[
    ReferenceChoice,
    typer.Option(
        parser=ReferenceChoice.parse,
        help="Kernels the device's output is held against: auto (the device's ABI decides: ARM64 reference for"
        " INT8 on arm64 devices), host, or arm64.",
    ),
]

_REGRESSION = RegressionGates()
BaselineRun = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        help="Compare with an earlier run (regression gates): its reports/<run-id> directory or its signoff.json;"
        " 'latest' = the newest run in --reports-dir.",
    ),
]
BaselineMinCosine = Annotated[
    float, typer.Option(help="Regression gate: min mean cosine of device vectors vs the baseline's (file changed).")
]
BaselineMaxStsDrop = Annotated[
    float, typer.Option(help="Regression gate: max drop of STS-B retention vs the baseline (0.005 = 0.5 points).")
]
BaselineMaxXquadDrop = Annotated[
    float, typer.Option(help="Regression gate: max drop of XQuAD top-1 retention vs the baseline.")
]
BaselineMaxLatencyRatio = Annotated[
    float, typer.Option(help="Regression gate: max p50 latency / the baseline's, same device model, not emulated.")
]
BaselineMaxSizeRatio = Annotated[float, typer.Option(help="Regression gate: max model file size / the baseline's.")]
DEFAULT_BASELINE_MIN_COSINE = _REGRESSION.min_embedding_cosine
DEFAULT_BASELINE_MAX_STS_DROP = _REGRESSION.max_sts_retention_drop
DEFAULT_BASELINE_MAX_XQUAD_DROP = _REGRESSION.max_xquad_retention_drop
DEFAULT_BASELINE_MAX_LATENCY_RATIO = _REGRESSION.max_latency_p50_ratio
DEFAULT_BASELINE_MAX_SIZE_RATIO = _REGRESSION.max_size_ratio

DEFAULT_MODE = RunMode(_SETTINGS.mode)
DEFAULT_ITERATIONS = _SETTINGS.iterations
DEFAULT_WARMUP = _SETTINGS.warmup
DEFAULT_THREADS = _SETTINGS.threads
DEFAULT_MIN_PARITY_COSINE = _PARITY.min_parity_cosine
DEFAULT_LATENCY_BUDGET_MS = _PARITY.max_latency_p50_ms
DEFAULT_REPORTS_DIR = Path(REPORTS_DIR.name)  # relative: reports/ under the working directory
DEFAULT_APP = DEFAULT_APP_PACKAGE
DEFAULT_TEST = DEFAULT_TEST_PACKAGE
DEFAULT_RUNNER_CLASS = DEFAULT_RUNNER
DEFAULT_REFERENCE = ReferenceChoice.AUTO


def _parse_device_ort_version(value: object) -> str:
    from harness.models.compatibility import parse_version_option

    return parse_version_option(value)


DeviceOrtVersion = Annotated[
    str | None,
    typer.Option(
        parser=_parse_device_ort_version,
        metavar="VERSION",
        help="The device's onnxruntime-android version; a model whose ops need a newer one is refused before it is"
        " pushed. Default: the version device_tests/android/gradle-snippet.gradle.kts pins.",
    ),
]
