"""The host's side of the device contract (device_tests/CONTRACT.md, version 2): device paths,
the request it pushes and the per-model results it pulls back."""

from __future__ import annotations

import io
import json
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import InputError
from harness.evaluation import chapter
from harness.models.registry import ModelSpec, validate_model_id

CONTRACT_VERSION = "ava-harness-device/2"
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


def chapter_request() -> dict[str, Any]:
    """Chapter 28A.6's thresholds for the tests the device runs itself (2: valid embeddings,
    4: RAG ranking), from their one home, harness.evaluation.chapter. Test 3 (cosine vs FP32)
    is the host's: it has both vectors."""
    return {
        "normRange": [float(chapter.NORM_RANGE[0]), float(chapter.NORM_RANGE[1])],
        "rag": {
            "documents": dict(chapter.RAG_DOCUMENTS),
            "query": chapter.RAG_QUERY,
            "expectedFirst": chapter.RAG_EXPECTED_FIRST,
            "neverFirst": chapter.RAG_NEVER_FIRST,
        },
    }


@dataclass
class RunSettings:
    mode: str = "both"
    threads: int = 2
    execution_provider: str = "CPU"
    warmup: int = 3
    iterations: int = 20

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"mode {self.mode!r}: use one of {', '.join(MODES)}")
        if self.execution_provider not in ("CPU", "NNAPI", "XNNPACK"):
            raise InputError(f"execution provider {self.execution_provider!r}: use CPU, NNAPI or XNNPACK")
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


def parse_result_json(data: bytes, model_id: str, source: str) -> dict[str, Any]:
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{source}: result.json is not valid JSON ({err})") from None
    if not isinstance(raw, dict) or raw.get("contract") != CONTRACT_VERSION:
        raise InputError(f"{source}: result.json is not contract {CONTRACT_VERSION}")
    if raw.get("modelId") != model_id:
        raise InputError(f"{source}: result.json is for {raw.get('modelId')!r}, expected {model_id}")
    for key in ("sha256", "loadMs", "latencyMs", "ortVersion", "executionProvider"):
        if key not in raw:
            raise InputError(f"{source}: result.json lacks {key!r}")
    return raw


def parse_npy(data: bytes, source: str, rows: int, dimension: int) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"{source}: not a valid .npy file ({err})") from None
    if array.dtype != np.float32 or array.shape != (rows, dimension):
        raise InputError(f"{source}: expected float32 [{rows}, {dimension}], got {array.dtype} {list(array.shape)}")
    return array


def parse_token_ids(data: bytes, source: str, rows: int) -> list[list[int]]:
    try:
        ids = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{source}: not valid JSON ({err})") from None
    if not isinstance(ids, list) or len(ids) != rows or not all(isinstance(r, list) for r in ids):
        raise InputError(f"{source}: expected {rows} lists of token ids")
    return [[int(t) for t in row] for row in ids]


def save_request(path: Path, request: dict[str, Any]) -> None:
    from harness.fileio import write_json_atomic

    write_json_atomic(path, request)
