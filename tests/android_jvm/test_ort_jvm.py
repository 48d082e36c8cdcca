"""ai.onnxruntime for the JVM (device_tests/android/jvm-runtime/): the onnxruntime-android API the
Kotlin device side uses, over the real ONNX Runtime C API (onnxruntime-node's libonnxruntime 1.30)
through JNA. OrtCheck (jvm-runtime/ort/check/) runs host token ids through real models; the outputs
are compared with Python onnxruntime (the host reference, 1.32), and the error paths, the provider
fallbacks and profiling are checked on the real library."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.gates import ParityGates
from harness.models.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
ANDROID = ROOT / "device_tests" / "android"
BUILD = ANDROID / "build"
JNA = Path("/usr/share/java/jna.jar")
# The live-comparison bar for FP32: same file, same ids, ORT 1.30 (JVM) vs 1.32 (host).
FP32_MIN_COSINE = 0.99999
MODELS = ("AVA-ONX-384-BASE", "AVA-ONX-384-BASE-INT8")
TEXTS = [
    "hello world",
    "A quick brown fox jumps over the lazy dog.",
    "How do I reset my password?",
    "The meeting has been moved to Thursday afternoon at three o'clock.",
    "Vitamin D is produced in the skin when it is exposed to sunlight; "
    "deficiency is common in winter at high latitudes and can be checked with a blood test. " * 3,
]

pytestmark = pytest.mark.jvm


def java(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    classpath = f"{BUILD / 'ort-check.jar'}:{BUILD / 'ort-jvm.jar'}:{JNA}"
    return subprocess.run(
        ["java", "-cp", classpath, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


@pytest.fixture(scope="module")
def ort_jvm() -> Path:
    """Runs build-ort.sh (a no-op when its stamp matches) and returns ort-jvm.properties."""
    result = subprocess.run(
        ["bash", str(ANDROID / "jvm-runtime" / "build-ort.sh")], capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert result.returncode == 0, f"build-ort.sh failed:\n{result.stdout}\n{result.stderr}"
    assert result.stderr.count("\n") == 1 and result.stdout == "", "build-ort.sh prints one line on success"
    return BUILD / "ort-jvm.properties"


@pytest.fixture(scope="module")
def checked(
    ort_jvm: Path, registry: Registry, model_file: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One OrtCheck run over both models: its report, the host's token ids and the model paths."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(registry.get(MODELS[0]).tokenizer_path))
    ids = [tokenizer.encode(text).ids for text in TEXTS]
    out = tmp_path_factory.mktemp("ort-jvm")
    (out / "ids.json").write_text(json.dumps(ids))
    paths = [model_file(model_id) for model_id in MODELS]
    result = java("OrtCheck", out / "ids.json", out, *paths, write_float16_model(out / "float16.onnx"))
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    return {"report": report, "ids": ids, "paths": paths, "out": out}


def write_float16_model(path: Path) -> Path:
    """input_ids [1, n] -> float16 [2, n]: the ids (normal values up to 30522, rounded) and -ids * 1e-7
    (negative subnormals), for getFloatBuffer()/getValue()'s float16 widening."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    scale = numpy_helper.from_array(np.array([[1.0], [-1e-7]], dtype=np.float32), "scale")
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["input_ids"], ["ids_f32"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["ids_f32", "scale"], ["scaled"]),
            helper.make_node("Cast", ["scaled"], ["halves"], to=TensorProto.FLOAT16),
        ],
        "float16_out",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "sequence"])],
        [helper.make_tensor_value_info("halves", TensorProto.FLOAT16, [2, "sequence"])],
        initializer=[scale],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


def host_embeddings(path: Path, ids: list[list[int]]) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    rows = []
    for row in ids:
        tokens = np.array([row], dtype=np.int64)
        feeds = {"input_ids": tokens, "attention_mask": np.ones_like(tokens), "token_type_ids": np.zeros_like(tokens)}
        rows.append(session.run(["sentence_embedding"], {k: v for k, v in feeds.items() if k in names})[0].ravel())
    return rows


def cosines(checked: dict[str, Any], index: int) -> tuple[list[float], float]:
    """Per-text cosine JVM vs host for model `index`, and the largest absolute difference."""
    host = host_embeddings(checked["paths"][index], checked["ids"])
    result, worst = [], 0.0
    for t, expected in enumerate(host):
        got = np.fromfile(checked["out"] / f"m{index}_t{t}.f32", dtype="<f4")
        assert got.shape == expected.shape
        assert np.all(np.isfinite(got))
        result.append(float(np.dot(got, expected) / (np.linalg.norm(got) * np.linalg.norm(expected))))
        worst = max(worst, float(np.max(np.abs(got - expected))))
    return result, worst


def test_loads_onnxruntime_1_30_and_reads_the_model_io(checked: dict[str, Any], ort_jvm: Path) -> None:
    report = checked["report"]
    assert report["version"] == "1.30.0"
    assert f"library={report['library']}" in ort_jvm.read_text().splitlines()
    assert "CPUExecutionProvider" in report["providers"]
    assert len(report["models"]) == len(MODELS) + 1
    for model in report["models"][: len(MODELS)]:
        assert model["inputNames"] == ["input_ids", "attention_mask", "token_type_ids"]
        assert model["outputNames"] == ["sentence_embedding"]
        assert model["inputShapes"]["input_ids"] == "[-1, -1]"  # symbolic batch and sequence
        assert model["shapes"] == ["[1, 384]"] * len(TEXTS)
        # getValue() (nested arrays), Result.get(0) and createTensor(env, long[][]) agree with the buffers.
        assert model["valueMatchesBuffer"] is True
        assert model["objectTensorMatches"] is True
        # createSession(byte[]), addConfigEntry and disableProfiling: same output, no profile written.
        assert model["fromBytesMatches"] is True
    assert not list(checked["out"].glob("never*"))


def test_fp32_matches_python_onnxruntime(checked: dict[str, Any]) -> None:
    values, worst = cosines(checked, 0)
    print(f"FP32 JVM ORT 1.30 vs Python ORT 1.32: min cosine {min(values):.8f}, max |diff| {worst:.3g}")
    assert min(values) >= FP32_MIN_COSINE


def test_int8_matches_python_onnxruntime_within_the_parity_gate(checked: dict[str, Any]) -> None:
    # Different ORT versions may pick different INT8 kernels; the sign-off's parity gate still holds.
    values, worst = cosines(checked, 1)
    print(f"INT8 JVM ORT 1.30 vs Python ORT 1.32: min cosine {min(values):.8f}, max |diff| {worst:.3g}")
    assert min(values) >= ParityGates().min_parity_cosine


def test_float16_outputs_widen_to_float(checked: dict[str, Any]) -> None:
    model = checked["report"]["models"][len(MODELS)]
    index = len(MODELS)
    assert model["valueMatchesBuffer"] is True and model["fromBytesMatches"] is True
    for t, row in enumerate(checked["ids"]):
        ids = np.array(row, dtype=np.float32)
        expected = (np.stack([ids, ids * np.float32(-1e-7)])).astype(np.float16).astype(np.float32).ravel()
        got = np.fromfile(checked["out"] / f"m{index}_t{t}.f32", dtype="<f4")
        assert model["shapes"][t] == f"[2, {len(row)}]"
        np.testing.assert_array_equal(got, expected)


def test_errors_carry_the_c_api_message(checked: dict[str, Any]) -> None:
    errors = checked["report"]["errors"]
    missing = errors["missingModel"]
    assert missing["class"] == "ai.onnxruntime.OrtException"
    assert missing["code"] == "ORT_NO_SUCHFILE"
    assert "no-such-model.onnx" in missing["message"] and "File doesn't exist" in missing["message"]
    wrong = errors["wrongInput"]
    assert wrong["code"] == "ORT_INVALID_ARGUMENT"
    assert wrong["message"] == "Error code - ORT_INVALID_ARGUMENT - message: Invalid input name: input_idz"
    assert errors["shapeMismatch"]["message"] == "Shape [1, 4], requires 4 elements but the buffer has 3 elements."


def test_unavailable_providers_throw_so_the_cpu_fallback_runs(checked: dict[str, Any]) -> None:
    errors = checked["report"]["errors"]
    # As onnxruntime-android built without NNAPI; OrtModelRunner then reports "CPU (fallback from NNAPI)".
    assert errors["nnapi"]["class"] == "ai.onnxruntime.OrtException"
    assert errors["nnapi"]["message"].endswith("This binary was not compiled with NNAPI support.")
    # XNNPACK is asked of the C API; onnxruntime-node's build has no XNNPACK and says so.
    assert errors["xnnpack"]["class"] == "ai.onnxruntime.OrtException"
    assert "XNNPACK" in errors["xnnpack"]["message"]


def test_profiling_writes_the_json_profile(checked: dict[str, Any]) -> None:
    profile = Path(checked["report"]["profile"])
    assert profile.parent == checked["out"] and profile.name.startswith("profile_") and profile.suffix == ".json"
    events = json.loads(profile.read_text())
    assert any(e.get("cat") == "Node" for e in events), "no operator events in the profile"
    assert any(e.get("name") == "model_run" for e in events)


def test_a_library_of_another_version_is_refused_with_a_clear_error(ort_jvm: Path) -> None:
    import onnxruntime as ort

    other = next((Path(ort.__file__).parent / "capi").glob("libonnxruntime.so.*"))
    if ort.__version__.startswith("1.30."):
        pytest.skip("the host's onnxruntime is 1.30 too: no other version at hand")
    result = java(f"-Dai.onnxruntime.library={other}", "OrtCheck", "--version")
    assert result.returncode == 1
    assert f"is ONNX Runtime {ort.__version__}, but this build's OrtApi slot table is for 1.30.x" in result.stderr
    missing = java("-Dai.onnxruntime.library=/nonexistent/libonnxruntime.so.1", "OrtCheck", "--version")
    assert missing.returncode == 1
    assert "ONNX Runtime library not found: /nonexistent/libonnxruntime.so.1" in missing.stderr
