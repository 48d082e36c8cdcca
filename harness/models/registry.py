"""The AVA model registry: model IDs, their originals, tokenizers, I/O names, pooling, gates.

Read from `models/registry.toml`. A variant ID (`<ID>-INT8`, `<ID>-FP16`) resolves to the same
original as its base ID, as the app's ONNXEmbeddingProvider.modelIdMap does.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from harness.errors import InputError, ModelUnavailableError
from harness.gates import GATE_PROFILES, QualityGates
from harness.settings import MODELS_DIR, REGISTRY_PATH

# INT4 exists only as what `ava-harness tune --target int4` writes (no preset makes it).
Variant = Literal["FP32", "INT8", "FP16", "INT4"]
VARIANTS: tuple[Variant, ...] = ("FP32", "INT8", "FP16", "INT4")
Pooling = Literal["none", "mean", "cls"]

# What may appear in a model ID: it becomes a file name on the host and on the device.
MODEL_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class ModelSpec:
    """One registered model (a base ID or one of its variants)."""

    id: str
    base_id: str
    original: str
    dimension: int
    variant: Variant = "FP32"
    tokenizer: str = ""
    inputs: tuple[str, ...] = ("input_ids", "attention_mask")
    output: str = "sentence_embedding"
    pooling: Pooling = "none"
    normalize: bool = False
    max_length: int = 256
    license: str = ""
    large: bool = False
    unavailable: str | None = None
    source: dict[str, str] = field(default_factory=dict)
    gates: dict[str, QualityGates] = field(default_factory=dict)

    @property
    def is_quantized(self) -> bool:
        return self.variant != "FP32"

    @property
    def original_path(self) -> Path:
        return MODELS_DIR / "originals" / f"{self.original}.onnx"

    @property
    def quantized_path(self) -> Path:
        return MODELS_DIR / "quantized" / f"{self.id}.onnx"

    @property
    def path(self) -> Path:
        """Where the host keeps this variant's file."""
        return self.quantized_path if self.is_quantized else self.original_path

    @property
    def tokenizer_path(self) -> Path:
        return MODELS_DIR / "originals" / self.tokenizer

    @property
    def gate(self) -> QualityGates:
        if self.variant == "INT4" and "INT4" not in self.gates:  # INT4 passes ranking gates only
            return GATE_PROFILES["same-index"].quality
        return self.gates.get(self.variant, QualityGates())

    def with_gate_profile(self, profile: str | None) -> ModelSpec:
        """This spec with its variant's host quality gates replaced by a gate profile's."""
        if profile is None:
            return self
        return replace(self, gates={**self.gates, self.variant: GATE_PROFILES[profile].quality})

    def candidate_filenames(self) -> list[str]:
        """The app's loader order (chapter 28A.5): `$modelId.onnx`, then the original's name."""
        names = [f"{self.id}.onnx"]
        if self.original and f"{self.original}.onnx" not in names:
            names.append(f"{self.original}.onnx")
        return names

    def require_available(self) -> ModelSpec:
        if self.unavailable:
            raise ModelUnavailableError(
                f"model {self.id} ({self.original or 'unknown original'}) is unavailable: {self.unavailable}"
            )
        return self


@dataclass(frozen=True)
class Registry:
    models: dict[str, ModelSpec]
    path: Path

    def base_ids(self) -> list[str]:
        return list(self.models)

    def available_base_ids(self, *, include_large: bool = False) -> list[str]:
        return [m.id for m in self.models.values() if not m.unavailable and (include_large or not m.large)]

    def get(self, model_id: str) -> ModelSpec:
        """Resolve a base or variant ID; unknown IDs and unavailable models are user errors."""
        validate_model_id(model_id)
        base_id, variant = split_variant(model_id)
        base = self.models.get(base_id)
        if base is None:
            known = ", ".join(self.available_base_ids(include_large=True))
            raise InputError(f"unknown model ID {model_id!r} (known: {known}; variants add -INT8 or -FP16)")
        base.require_available()
        if variant == "FP32":
            return base
        return replace(base, id=model_id, variant=variant)

    def resolve_file(self, model_id: str, directory: Path) -> Path:
        """Find the file the app would load from `directory`, honouring its loader order."""
        spec = self.get(model_id)
        for name in spec.candidate_filenames():
            candidate = directory / name
            if candidate.is_file():
                return candidate
        raise InputError(f"model {model_id}: none of {', '.join(spec.candidate_filenames())} in {directory}")


def validate_model_id(model_id: str) -> str:
    if not MODEL_ID_PATTERN.fullmatch(model_id or ""):
        raise InputError(f"invalid model ID {model_id!r}: use letters, digits, '.', '_' and '-' only")
    return model_id


def split_variant(model_id: str) -> tuple[str, Variant]:
    for variant in ("INT8", "FP16", "INT4"):
        suffix = f"-{variant}"
        if model_id.upper().endswith(suffix):
            return model_id[: -len(suffix)], variant  # type: ignore[return-value]
    return model_id, "FP32"


def load_registry(path: Path = REGISTRY_PATH) -> Registry:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: registry file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a valid TOML registry: {err}") from None

    default_gates = {
        variant: QualityGates.from_mapping(values, f"{path}: [gates.{variant}]")
        for variant, values in raw.get("gates", {}).items()
    }
    models: dict[str, ModelSpec] = {}
    for index, entry in enumerate(raw.get("model", [])):
        where = f"{path}: model #{index + 1}"
        try:
            model_id = validate_model_id(entry["id"])
            gates = dict(default_gates)
            for variant, values in entry.get("gates", {}).items():
                gates[variant] = gates.get(variant, QualityGates()).merged(values, f"{where} gates.{variant}")
            spec = ModelSpec(
                id=model_id,
                base_id=model_id,
                original=entry.get("original", ""),
                dimension=int(entry["dimension"]),
                tokenizer=entry.get("tokenizer", ""),
                inputs=tuple(entry.get("inputs", ("input_ids", "attention_mask"))),
                output=entry.get("output", "sentence_embedding"),
                pooling=entry.get("pooling", "none"),
                normalize=bool(entry.get("normalize", False)),
                max_length=int(entry.get("max_length", 256)),
                license=entry.get("license", ""),
                large=bool(entry.get("large", False)),
                unavailable=entry.get("unavailable"),
                source=dict(entry.get("source", {})),
                gates=gates,
            )
        except KeyError as err:
            raise InputError(f"{where}: missing field {err.args[0]!r}") from None
        except (TypeError, ValueError) as err:
            raise InputError(f"{where}: bad value: {err}") from None
        if spec.pooling not in ("none", "mean", "cls"):
            raise InputError(f"{where} ({model_id}): pooling must be none, mean or cls, not {spec.pooling!r}")
        if model_id in models:
            raise InputError(f"{where}: duplicate model ID {model_id}")
        models[model_id] = spec
    if not models:
        raise InputError(f"{path}: no [[model]] entries")
    return Registry(models=models, path=path)
