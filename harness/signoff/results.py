"""The sign-off run's results: plain dataclasses that the pipeline fills and every report reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any

from harness.gates import Gate


class ExitCode(IntEnum):
    """What `deploy-test`, `lab` and `eval` exit with. When both 1 and 3 apply, 3: a verdict that
    could not be reached outranks one that was."""

    PASSED = 0  # every gate passed on every device
    GATE_FAILED = 1  # a quality gate failed
    USAGE = 2  # a usage or input error (nothing was run)
    INCOMPLETE = 3  # a device or infrastructure error (or an interrupt) kept some verdict from being reached


@dataclass
class ModelOnDevice:
    model_id: str
    variant: str
    sha256: str
    size_bytes: int
    pushed: bool = False  # False: the device already held these bytes
    parity: dict[str, float] = field(default_factory=dict)  # device vs host, same model file, same token ids
    end_to_end: dict[str, float] = field(default_factory=dict)  # device tokenized: token agreement + cosine
    vs_fp32: dict[str, float] = field(default_factory=dict)  # what ran on the device vs host FP32
    latency_ms: dict[str, float] = field(default_factory=dict)  # p50/p90/p99, load, cold
    latency_samples_ms: list[float] = field(default_factory=list)
    parity_cosines: list[float] = field(default_factory=list)  # per text, for the distribution plot
    fp32_cosines: list[float] = field(default_factory=list)  # per text, what ran on the device vs host FP32
    peak_memory_kb: int | None = None
    ort_version: str = ""
    execution_provider: str = ""
    chapter_tests: dict[str, bool] = field(default_factory=dict)
    reference: str = "x86_64 host ONNX Runtime"
    gates: list[Gate] = field(default_factory=list)
    # Set when this model could not be judged (the device's output broke the contract, a pull
    # failed): the one-line reason. Its gates are then not a verdict.
    error: str | None = None
    # The device's ONNX Runtime profile, summarised (harness.signoff.profile): top_ops,
    # node_ms_total, run_ms_total. Empty when none was asked for or it could not be read
    # (profile_error says why). Never part of the verdict.
    profile: dict[str, Any] = field(default_factory=dict)
    profile_error: str | None = None
    # Start-up and memory (harness.signoff.startup, contract v4): load_ms, cold_ms, warmup_ms,
    # p50_ms/p90_ms/p99_ms, memory_kb, load_delta_kb, inference_delta_kb. Never part of the verdict.
    startup: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.gates) and all(g.passed for g in self.gates)

    @property
    def judged(self) -> bool:
        return self.error is None and bool(self.gates)


@dataclass
class DeviceRun:
    serial: str
    server: str = ""
    props: dict[str, str] = field(default_factory=dict)
    health: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"  # passed | failed (a gate) | error (no verdict) | interrupted
    error: str | None = None
    stage: str = ""
    models: list[ModelOnDevice] = field(default_factory=list)
    instrumentation: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    # Diagnostics (harness.signoff.artifacts), never part of the verdict. artifacts: file name ->
    # path relative to the run's report directory, set by the report writer for each file it
    # wrote; artifact_notes: what is missing or cut and why ("logcat unavailable: ...");
    # logcat_excerpt: the log lines of the test process, AndroidRuntime or FATAL, for a failed run.
    artifacts: dict[str, str] = field(default_factory=dict)
    artifact_notes: list[str] = field(default_factory=list)
    logcat_excerpt: list[str] = field(default_factory=list)
    # The artifacts' bytes (file name -> content, bounded), in memory until the report writer
    # writes them; not a constructor argument, so sanitized copies and signoff.json leave it out.
    artifact_data: dict[str, bytes] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def model_name(self) -> str:
        return self.props.get("ro.product.model", "")

    @property
    def passed(self) -> bool:
        # The status alone never makes a pass: every model must have passed too.
        return self.status == "passed" and bool(self.models) and all(m.passed for m in self.models)

    @property
    def reached_verdict(self) -> bool:
        """True when every model on this device was judged: a pass or a gate failure."""
        return self.status in ("passed", "failed") and all(m.judged for m in self.models)


@dataclass
class HostModel:
    model_id: str
    variant: str
    sha256: str
    size_bytes: int
    baseline_size_bytes: int
    quality: dict[str, Any] = field(default_factory=dict)  # host eval: cosine, STS, retrieval retention
    gates: list[Gate] = field(default_factory=list)
    preset: str | None = None  # the quantization recipe that made the file (None: FP32)
    path: str = ""  # where the model file is on the host, absolute ("" when not known)
    recipe: dict[str, Any] = field(default_factory=dict)  # what its .quant.json records (empty: none)
    min_onnxruntime: str = ""  # the oldest ONNX Runtime that runs the file (harness.models.compatibility)


@dataclass
class SignoffRun:
    run_id: str
    created_at: str
    harness_version: str
    onnxruntime_version: str
    texts: list[str]
    models: list[HostModel] = field(default_factory=list)
    devices: list[DeviceRun] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    # Set when the run was stopped (SIGINT/SIGTERM) before every device finished: what stopped it.
    interrupted: str | None = None
    # `deploy-test --baseline RUN`: the comparison with that run (harness.signoff.baseline), {} without one.
    baseline: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return (
            self.interrupted is None
            and bool(self.devices)
            and all(d.passed for d in self.devices)
            and all(g.passed for m in self.models for g in m.gates)
        )

    @property
    def exit_code(self) -> ExitCode:
        if self.passed:
            return ExitCode.PASSED
        if self.interrupted or not self.devices or not all(d.reached_verdict for d in self.devices):
            return ExitCode.INCOMPLETE
        return ExitCode.GATE_FAILED

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["exit_code"] = int(self.exit_code)
        for device, raw in zip(self.devices, data["devices"], strict=True):
            raw["passed"] = device.passed
            for model, raw_model in zip(device.models, raw["models"], strict=True):
                raw_model["passed"] = model.passed
        return data
