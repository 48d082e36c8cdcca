"""The reference app's Kotlin ONNXEmbeddingProvider (device_tests/android/app/) on a real model:
its loader, WordPiece tokenizer, session (ai.onnxruntime for the JVM over the real ONNX Runtime)
and pooling against the host's Embedder (tokenizers + Python onnxruntime) on the sign-off texts,
and the chapter 28A.5 loader's order: `$modelId.onnx`, then the original's name, else a
FileNotFoundException naming both paths. Run through the ProviderCheck tool
(device_tests/android/app/jvm/), compiled by build-checks.sh.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.evaluation.embed import Embedder
from harness.models.registry import ModelSpec, load_registry
from harness.signoff.compare import default_signoff_set

ROOT = Path(__file__).resolve().parents[2]
ANDROID = ROOT / "device_tests" / "android"
BUILD = ANDROID / "build"
KOTLIN_LIB = ANDROID / ".tools" / "node_modules" / "kotlin-compiler" / "lib"
TOOL = "com.augmentalis.ava.embedding.tools.ProviderCheckKt"
# Issue 16's bar for the same FP32/FP16 file on both sides (ORT versions may differ).
MIN_COSINE = 0.99999
EXTRA_TEXTS = ["Café naïve résumé 東京", "[MASK] tokens, «quotes» and emoji 😀", "x" * 120]

pytestmark = pytest.mark.jvm
ModelFile = Callable[[str], Path]  # tests/conftest.py's model_file: builds or quantizes on first use


@pytest.fixture(scope="session")
def classpath() -> str:
    """app-checks.jar + ort-jvm.jar (jvm-runtime/build-ort.sh; both scripts skip an up-to-date build)."""
    for script in (ANDROID / "jvm-runtime" / "build-ort.sh", ANDROID / "app" / "jvm" / "build-checks.sh"):
        result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=1500, cwd=ROOT)
        assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    jna = next(
        line.split("=", 1)[1]
        for line in (BUILD / "ort-jvm.properties").read_text().splitlines()
        if line.startswith("jna=")
    )
    # android-stubs.jar last: only for the Context type in a constructor that is never called here.
    jars = [BUILD / "app-checks.jar", BUILD / "ort-jvm.jar", jna, BUILD / "org-json.jar"]
    return ":".join(map(str, [*jars, KOTLIN_LIB / "kotlin-stdlib.jar", BUILD / "android-stubs.jar"]))


def run_provider(classpath: str, models: Path, model_id: str, texts: list[str], tmp_path: Path) -> dict[str, Any]:
    texts_file = tmp_path / "texts.json"
    texts_file.write_text(json.dumps(texts), encoding="utf-8")
    command = ["java", "-cp", classpath, TOOL, "embed", str(models), model_id, str(texts_file)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 3), result.stderr
    return json.loads(result.stdout)


def models_dir(tmp_path: Path, files: dict[str, Path]) -> Path:
    """A FILES/models dir as the harness leaves it: name -> the host's file (symlinked)."""
    directory = tmp_path / "files" / "models"
    directory.mkdir(parents=True)
    for name, target in files.items():
        (directory / name).symlink_to(target)
    return directory


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def host(spec: ModelSpec, path: Path, texts: list[str]) -> tuple[list[list[int]], np.ndarray]:
    """The host's end-to-end path: its tokenizer, then a batch of one per text (as embed(text))."""
    embedder = Embedder(spec, path, threads=1, batch_size=1)
    ids = embedder.tokenize(texts).ids
    return ids, embedder.embed_token_ids(ids)


@pytest.mark.parametrize("model_id", ["AVA-ONX-384-BASE", "AVA-ONX-384-FAST", "AVA-ONX-384-BASE-FP16"])
def test_provider_matches_host(model_id: str, classpath: str, model_file: ModelFile, tmp_path: Path) -> None:
    spec, path = load_registry().get(model_id), model_file(model_id)
    texts = [*default_signoff_set().texts, *EXTRA_TEXTS]
    models = models_dir(tmp_path, {f"{model_id}.onnx": path, f"{model_id}.tokenizer.json": spec.tokenizer_path})
    out = run_provider(classpath, models, model_id, texts, tmp_path)
    assert out["modelFile"] == str(models / f"{model_id}.onnx")
    assert out["dimension"] == spec.dimension
    host_ids, host_vectors = host(spec, path, texts)
    assert out["ids"] == host_ids
    assert max(map(len, host_ids)) == spec.max_length  # some texts are cut at the model's max length
    vectors = np.array(out["embeddings"], dtype=np.float32)
    assert vectors.shape == (len(texts), spec.dimension)
    cos = cosines(vectors, host_vectors)
    assert cos.min() >= MIN_COSINE, f"min cosine {cos.min():.7f} (text {int(cos.argmin())})"
    if spec.normalize:  # FAST: the provider L2-normalises the graph's pooled output
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_loader_falls_back_to_the_original_name(classpath: str, model_file: ModelFile, tmp_path: Path) -> None:
    """No `$modelId.onnx`: the original's file is loaded (the FP32 original for an INT8 ID)."""
    registry = load_registry()
    spec, base = registry.get("AVA-ONX-384-BASE-INT8"), registry.get("AVA-ONX-384-BASE")
    original, base_path = f"{spec.original}.onnx", model_file(base.id)
    models = models_dir(tmp_path, {original: base_path, f"{spec.id}.tokenizer.json": spec.tokenizer_path})
    texts = list(default_signoff_set().texts[:4])
    out = run_provider(classpath, models, spec.id, texts, tmp_path)
    assert out["modelFile"] == str(models / original)
    assert cosines(np.array(out["embeddings"]), host(base, base_path, texts)[1]).min() >= MIN_COSINE


def test_loader_prefers_the_model_id_file(classpath: str, model_file: ModelFile, tmp_path: Path) -> None:
    registry = load_registry()
    spec, base = registry.get("AVA-ONX-384-BASE-INT8"), registry.get("AVA-ONX-384-BASE")
    base_path = model_file(base.id)
    files = {f"{spec.id}.onnx": model_file(spec.id), f"{spec.original}.onnx": base_path}
    models = models_dir(tmp_path, {**files, f"{spec.id}.tokenizer.json": spec.tokenizer_path})
    texts = [default_signoff_set().texts[0]]
    out = run_provider(classpath, models, spec.id, texts, tmp_path)
    assert out["modelFile"] == str(models / f"{spec.id}.onnx")
    # The INT8 file really ran: close to FP32, but not the FP32 original's output.
    assert 0.9 < cosines(np.array(out["embeddings"]), host(base, base_path, texts)[1])[0] < MIN_COSINE


@pytest.mark.parametrize("missing", ["model", "tokenizer"])
def test_missing_file_is_a_file_not_found_naming_both_paths(
    missing: str, classpath: str, model_file: ModelFile, tmp_path: Path
) -> None:
    spec = load_registry().get("AVA-ONX-384-FAST-INT8")
    model = model_file(spec.id)
    present = {"model": (f"{spec.id}.tokenizer.json", spec.tokenizer_path), "tokenizer": (f"{spec.id}.onnx", model)}
    name, target = present[missing]
    models = models_dir(tmp_path, {name: target})
    out = run_provider(classpath, models, spec.id, ["text"], tmp_path)
    suffix = ".onnx" if missing == "model" else ".tokenizer.json"
    tried = f"tried {models / (spec.id + suffix)}, then {models / ('paraphrase-MiniLM-L3-v2' + suffix)}"
    assert out["error"] == {
        "type": "java.io.FileNotFoundException",
        "message": f"{missing.capitalize()} not found: {spec.id} ({tried})",
    }
