"""The sign-off run's results: plain dataclasses that the pipeline fills and every report reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.gates import Gate


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
    peak_memory_kb: int | None = None
    ort_version: str = ""
    execution_provider: str = ""
    chapter_tests: dict[str, bool] = field(default_factory=dict)
    reference: str = "x86_64 host ONNX Runtime"
    gates: list[Gate] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.gates) and all(g.passed for g in self.gates)


@dataclass
class DeviceRun:
    serial: str
    server: str = ""
    props: dict[str, str] = field(default_factory=dict)
    health: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"  # passed | failed | error
    error: str | None = None
    stage: str = ""
    models: list[ModelOnDevice] = field(default_factory=list)
    instrumentation: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def model_name(self) -> str:
        return self.props.get("ro.product.model", "")

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass
class HostModel:
    model_id: str
    variant: str
    sha256: str
    size_bytes: int
    baseline_size_bytes: int
    quality: dict[str, Any] = field(default_factory=dict)  # host eval: cosine, STS, retrieval retention
    gates: list[Gate] = field(default_factory=list)


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

    @property
    def passed(self) -> bool:
        return (
            bool(self.devices)
            and all(d.passed for d in self.devices)
            and all(g.passed for m in self.models for g in m.gates)
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        for device, raw in zip(self.devices, data["devices"], strict=True):
            raw["passed"] = device.passed
            for model, raw_model in zip(device.models, raw["models"], strict=True):
                raw_model["passed"] = model.passed
        return data
