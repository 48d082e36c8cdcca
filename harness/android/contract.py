"""The host's side of the device contract (device_tests/CONTRACT.md): device paths and the request
it pushes. The parsers of what the device writes back are in harness.android.device_result and
are importable from here."""

from __future__ import annotations

import json  # noqa: F401  (tests patch harness.android.contract.json.loads)
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.android.device_result import (  # noqa: F401  (re-exported: callers import them from here)
    CHAPTER_TESTS,
    CONTRACT_VERSION,
    MAX_ERROR_CHARS,
    MAX_ERRORS,
    MAX_ITERATIONS,
    MAX_MS,
    MAX_NAME_CHARS,
    MAX_PEAK_MEMORY_KB,
    MEMORY_KEYS,
    NPY_MAX_HEADER_BYTES,
    OPTIONAL_RESULT_KEYS,
    RESULT_JSON_MAX_BYTES,
    RESULT_KEYS,
    TOKEN_ID_LIMIT,
    TOKEN_IDS_MAX_BYTES_PER_TEXT,
    Chapter,
    DeviceResult,
    chapter_request,
    nonfinite_rows,
    npy_max_bytes,
    parse_device_result,
    parse_npy,
    parse_result_json,
    parse_token_ids,
    token_ids_max_bytes,
)
from harness.errors import InputError
from harness.models.registry import ModelSpec, validate_model_id

DEFAULT_APP_PACKAGE = "com.augmentalis.ava"
DEFAULT_TEST_PACKAGE = "com.augmentalis.ava.test"
DEFAULT_RUNNER = "androidx.test.runner.AndroidJUnitRunner"
TEST_CLASS = "com.augmentalis.ava.harness.EmbeddingSignoffTest"
CHECKS = ("modelLoads", "embeddingsValid", "ragRanking", "modelParity", "endToEnd", "latency")
MODES = ("model_parity", "end_to_end", "both")


@dataclass(frozen=True)
class DevicePaths:
    app_package: str = DEFAULT_APP_PACKAGE

    @property
    def files(self) -> str:
        return f"/sdcard/Android/data/{self.app_package}/files"

    @property
    def models(self) -> str:
        return f"{self.files}/models"

    def model(self, model_id: str) -> str:
        return f"{self.models}/{validate_model_id(model_id)}.onnx"

    def tokenizer(self, model_id: str) -> str:
        return f"{self.models}/{validate_model_id(model_id)}.tokenizer.json"

    def run_dir(self, run_id: str) -> str:
        return f"{self.files}/ava-harness/runs/{validate_model_id(run_id)}"

    def request(self, run_id: str) -> str:
        return f"{self.run_dir(run_id)}/request.json"

    def out_dir(self, run_id: str, model_id: str) -> str:
        return f"{self.run_dir(run_id)}/out/{validate_model_id(model_id)}"

    def relative(self, device_path: str) -> str:
        return posixpath.relpath(device_path, self.files)


@dataclass
class RunSettings:
    mode: str = "both"
    threads: int = 2
    execution_provider: str = "CPU"
    warmup: int = 3
    iterations: int = 20
    # Contract v3: after the timed iterations, a separate profiled pass writes profile.json.
    profile: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"mode {self.mode!r}: use one of {', '.join(MODES)}")
        if self.execution_provider not in ("CPU", "NNAPI", "XNNPACK"):
            raise InputError(f"execution provider {self.execution_provider!r}: use CPU, NNAPI or XNNPACK")
        if not isinstance(self.profile, bool):
            raise InputError(f"profile = {self.profile!r}: expected true or false")
        for name in ("threads", "warmup", "iterations"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (1 if name != "warmup" else 0) or value > 10_000:
                raise InputError(f"{name} = {value!r} is out of range")


def build_request(
    run_id: str,
    paths: DevicePaths,
    models: list[tuple[ModelSpec, str, list[list[int]]]],
    texts: list[str],
    settings: RunSettings,
) -> dict[str, Any]:
    """`models`: (spec, sha256 of the pushed file, host token ids per text)."""
    return {
        "contract": CONTRACT_VERSION,
        "runId": run_id,
        "mode": settings.mode,
        "threads": settings.threads,
        "executionProvider": settings.execution_provider,
        "warmup": settings.warmup,
        "iterations": settings.iterations,
        "profile": settings.profile,
        "texts": list(texts),
        "chapter": chapter_request(),
        "models": [
            {
                "modelId": spec.id,
                "file": paths.relative(paths.model(spec.id)),
                "sha256": sha,
                "tokenizer": paths.relative(paths.tokenizer(spec.id)),
                "dimension": spec.dimension,
                "inputs": list(spec.inputs),
                "output": spec.output,
                "pooling": spec.pooling,
                "normalize": spec.normalize,
                "maxLength": spec.max_length,
                "tokenIds": [list(map(int, ids)) for ids in token_ids],
            }
            for spec, sha, token_ids in models
        ],
    }


def save_request(path: Path, request: dict[str, Any]) -> None:
    from harness.fileio import write_json_atomic

    write_json_atomic(path, request)
