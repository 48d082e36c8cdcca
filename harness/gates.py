"""Every gate's name, default and threshold, once.

A gate is a figure compared with a threshold; its result is a `Gate` record. Host quality gates
(`QualityGates`) come per variant from `models/registry.toml`; device gates (`ParityGates`) come
from the command line; chapter 28A's own thresholds live in `harness.evaluation.chapter`.
Lower layers (models, evaluation) and the sign-off both read this module, so it sits at the top
of the package and imports nothing from the pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from harness.errors import InputError


@dataclass
class Gate:
    """One gate's outcome: `value` against `threshold`, with why it passed or failed."""

    name: str
    passed: bool
    value: float | bool | str | None = None  # bool: a check that passes or not (threshold True)
    threshold: float | bool | str | None = None
    detail: str = ""


@dataclass(frozen=True)
class QualityGates:
    """Host quality of a variant against its FP32 original (minimums; 0.0 = not gated)."""

    min_mean_cosine: float = 0.0
    min_p5_cosine: float = 0.0
    min_spearman_retention: float = 0.0
    min_top1_retention: float = 0.0
    min_ndcg10_retention: float = 0.0
    # The worst text's cosine to FP32: what a mixed index sees for its unluckiest query.
    min_worst_cosine: float = 0.0

    def __post_init__(self) -> None:
        for name in (f.name for f in fields(self)):
            # Retentions can exceed 1 (the variant ranks better than FP32); a threshold above 1.5
            # would fail every model and one below 0 gates nothing: both are typos.
            upper = 1.0 if name.endswith("cosine") else 1.5
            _check_range(f"gate {name}", getattr(self, name), 0.0, upper)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> QualityGates:
        return cls().merged(data, where)

    def merged(self, overrides: Mapping[str, Any], where: str) -> QualityGates:
        """These gates with the keys given in `overrides` replaced; every other gate is kept."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise InputError(f"{where}: unknown gate(s) {', '.join(sorted(unknown))}")
        values = {}
        for key, value in overrides.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InputError(f"{where}: gate {key} = {value!r} is not a number")
            values[key] = float(value)
        try:
            return replace(self, **values)
        except InputError as err:
            raise InputError(f"{where}: {err}") from None


CrossArchInt8 = Literal["report", "strict"]


@dataclass(frozen=True)
class ParityGates:
    """Device-side gates. Defaults: same model file => the device must match the host closely."""

    min_parity_cosine: float = 0.999  # min over texts, device vs host, same file and token ids
    min_token_agreement: float = 1.0  # end-to-end: fraction of texts the device tokenizes identically
    max_latency_p50_ms: float = 250.0  # per text, batch of one (the app's embed(text))
    min_retrieval_top1_retention: float = 0.9  # on-device mini retrieval vs host FP32
    # INT8 kernels differ by CPU architecture by as much as quantization error (x86-64 vs aarch64
    # min cosine ~0.98 on MiniLM): an arm64 phone's INT8 output is held strictly only against
    # ARM64 kernels; against an x86 reference the divergence is reported ("report") unless asked
    # to fail ("strict"). FP32 and FP16 agree across architectures (>= 0.9998) and stay strict.
    cross_arch_int8: CrossArchInt8 = "report"
    # A latency measured on an emulator (a virtual device, qemu) says nothing about a phone: it is
    # measured and shown there, and gated only when asked.
    gate_latency_on_emulators: bool = False

    def __post_init__(self) -> None:
        _check_range("--min-parity-cosine", self.min_parity_cosine, 0.0, 1.0, low_open=True)
        _check_range("min_token_agreement", self.min_token_agreement, 0.0, 1.0, low_open=True)
        _check_range("min_retrieval_top1_retention", self.min_retrieval_top1_retention, 0.0, 1.5)
        _check_range("--latency-budget-ms", self.max_latency_p50_ms, 0.0, 3_600_000.0, low_open=True)
        if self.cross_arch_int8 not in ("report", "strict"):
            raise InputError(f"cross_arch_int8 {self.cross_arch_int8!r}: use report or strict")


def _check_range(name: str, value: object, low: float, high: float, *, low_open: bool = False) -> None:
    """A threshold must be a finite number inside its range: a typo never loosens a gate."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{name} = {value!r}: must be a finite number")
    if value > high or value < low or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise InputError(f"{name} = {value!r}: must be in {bracket}{low:g}, {high:g}]")


@dataclass(frozen=True)
class GateProfile:
    """What a quantized variant must keep, by how the app uses it (`tune`, `deploy-test
    --gate-profile`): its `quality` gates, on the host and on the device's vectors."""

    name: str
    description: str
    quality: QualityGates
    chapter_tests: bool = True  # chapter 28A's tests 1-4 must pass too


GATE_PROFILES: dict[str, GateProfile] = {
    # Queries and documents embedded by the same model on the device: only rankings matter, so
    # the gates are ranking retentions; cosine to FP32 is reported, not gated (INT4 lives here).
    "same-index": GateProfile(
        "same-index",
        "queries and documents embedded on the device by the same model: ranking retention gates",
        QualityGates(min_spearman_retention=0.995, min_top1_retention=0.98, min_ndcg10_retention=0.99),
    ),
    # Documents embedded by FP32 elsewhere, queries on the device: vectors must stay where FP32
    # puts them, so cosine to FP32 (mean, p5 and the worst text) gates, and rankings too.
    "mixed-index": GateProfile(
        "mixed-index",
        "documents embedded by FP32 elsewhere, queries on the device: cosine-to-FP32 gates",
        QualityGates(
            min_mean_cosine=0.999,
            min_p5_cosine=0.998,
            min_spearman_retention=0.998,
            min_top1_retention=0.98,
            min_ndcg10_retention=0.99,
            min_worst_cosine=0.998,
        ),
    ),
}
DEFAULT_GATE_PROFILE = "mixed-index"
# `tune`: the host latency (batch of one, vs FP32) a target's variant may have; an INT8-class
# file slower than FP32 (e.g. many MatMuls computed in FP32) defeats its purpose. None: not gated.
TUNE_MAX_LATENCY_RATIO: dict[str, float | None] = {"int8": 1.0, "int4": None, "smallest": None}
# `tune`'s ARM64 re-measure: STS retention on its 64 pairs may fall this far below the host's
# retention of the same file on the same pairs (or below the profile's threshold, if lower).
ARM64_RETENTION_SLACK = 0.005


def parse_gate_profile(value: object) -> str:
    """A --gate-profile value as a known profile name, or an InputError naming the choices."""
    name = str(getattr(value, "value", value)).lower()
    if name not in GATE_PROFILES:
        raise InputError(f"--gate-profile {value!s}: unknown profile; use {' or '.join(GATE_PROFILES)}")
    return name
