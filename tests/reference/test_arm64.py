"""harness.reference.arm64: aarch64 ONNX Runtime under qemu-user as the reference for ARM64 phones.

The unmarked tests need no emulator (API contract, errors, cache logic with a stand-in runtime).
The `arm64`-marked ones run the real models under emulation; they skip with the reason when
`make arm64-runtime` has not been run, and CI runs them after it. Kept small: 8 sentences, one batch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.errors import HarnessError, InputError
from harness.reference import arm64
from harness.reference.arm64 import NOT_SET_UP, Arm64Runtime, feeds_sha256, reference_embeddings, run_embeddings

REPO = Path(__file__).resolve().parents[2]
FP32 = REPO / "models/originals/all-MiniLM-L6-v2.onnx"
INT8 = REPO / "models/quantized/AVA-ONX-384-BASE-INT8.onnx"
TOKENIZER = REPO / "models/originals/all-MiniLM-L6-v2/tokenizer.json"
OUTPUT = "sentence_embedding"
SENTENCES = [
    "A man is playing a guitar.",
    "The weather is sunny today.",
    "Quantized models must rank alike.",
    "Phones compute sentence embeddings on device.",
    "ok",
    "ONNX Runtime executes the graph with CPU kernels.",
    "Where is the nearest train station?",
    "Integer kernels differ between x86-64 and aarch64.",
]


# ---- helpers --------------------------------------------------------------------------------------


def feeds_for(texts: list[str], names: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(TOKENIZER))
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    encoded = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encoded], dtype=np.int64)
    arrays = {
        "input_ids": ids,
        "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
        "token_type_ids": np.zeros_like(ids),
    }
    return {name: arrays[name] for name in names}


def host_run(model: Path, feeds: dict[str, np.ndarray], output: str = OUTPUT) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    return session.run([output], feeds)[0]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def write_manifest(home: Path, *, qemu_executable: bool = True) -> Path:
    (home / "root/usr/bin").mkdir(parents=True)
    (home / "root/usr/bin/python3.11").write_text("")
    qemu = home / "qemu/usr/bin/qemu-aarch64"
    qemu.parent.mkdir(parents=True)
    qemu.write_text("#!/bin/sh\nexit 99\n")
    qemu.chmod(0o755 if qemu_executable else 0o644)
    manifest = {
        "root": "root",
        "qemu": "qemu/usr/bin/qemu-aarch64",
        "python": "root/usr/bin/python3.11",
        "onnxruntime_version": "9.9.9",
        "default_cpu": "cortex-a76",
    }
    (home / "runtime.json").write_text(json.dumps(manifest))
    return home / "runtime.json"


class CountingRuntime(Arm64Runtime):
    """A stand-in whose 'emulated' run is a deterministic function of the feeds, counting calls."""

    calls = 0

    def run_embeddings(self, model_path, feeds_batches, output_name, *, threads=1, timeout=0.0):
        type(self).calls += 1
        return [np.tanh(f["input_ids"].astype(np.float32)).sum(axis=1, keepdims=True) for f in feeds_batches]


# ---- no emulator needed -----------------------------------------------------------------------------


def test_not_set_up_is_none_and_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AVA_ARM64_HOME", str(tmp_path / "nothing-here"))
    assert Arm64Runtime.locate() is None
    assert not arm64.available()
    with pytest.raises(HarnessError, match=r"^arm64 runtime not set up: run `make arm64-runtime`$"):
        arm64.require_runtime()
    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    feeds = [{"input_ids": np.zeros((1, 2), np.int64)}]
    with pytest.raises(HarnessError, match="make arm64-runtime"):
        run_embeddings(model, feeds, OUTPUT)
    with pytest.raises(HarnessError, match="make arm64-runtime"):
        reference_embeddings(model, feeds, OUTPUT, tmp_path / "cache")


def test_manifest_paths_are_relative_to_it_and_incomplete_setups_are_not_located(tmp_path, monkeypatch):
    monkeypatch.delenv("AVA_ARM64_CPU", raising=False)
    manifest = write_manifest(tmp_path / "home")
    runtime = Arm64Runtime.locate(tmp_path / "home")
    assert runtime is not None and runtime.available()
    assert runtime.root == tmp_path / "home/root" and runtime.onnxruntime_version == "9.9.9"
    assert runtime.command("x.py")[:6] == [
        str(runtime.qemu),
        "-cpu",
        "cortex-a76",
        "-L",
        str(runtime.root),
        str(runtime.python),
    ]
    monkeypatch.setenv("AVA_ARM64_CPU", "max")
    assert Arm64Runtime.from_manifest(manifest).cpu == "max"
    (tmp_path / "home/root/usr/bin/python3.11").unlink()
    assert Arm64Runtime.locate(tmp_path / "home") is None
    manifest.write_text("{not json")
    assert Arm64Runtime.locate(tmp_path / "home") is None


def test_a_failing_emulator_is_a_harness_error_with_its_exit_code(tmp_path):
    write_manifest(tmp_path / "home")
    runtime = Arm64Runtime.locate(tmp_path / "home")
    assert runtime is not None
    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    with pytest.raises(HarnessError, match=r"failed under qemu \(exit 99"):
        runtime.run_embeddings(model, [{"input_ids": np.zeros((1, 2), np.int64)}], OUTPUT)


def test_bad_inputs(tmp_path):
    runtime = CountingRuntime(tmp_path, tmp_path / "q", tmp_path / "p", "1.0")
    with pytest.raises(InputError, match="model file not found"):
        reference_embeddings(tmp_path / "missing.onnx", [{"a": np.zeros(1)}], OUTPUT, tmp_path, runtime=runtime)
    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    for bad in ([], {"input_ids": np.zeros(1)}, [{}], [{"input_ids": [1, 2]}], [{"a/b": np.zeros(1)}]):
        with pytest.raises(InputError):
            reference_embeddings(model, bad, OUTPUT, tmp_path, runtime=runtime)


def test_inputs_hash_covers_values_dtype_shape_and_batch_order():
    a = {"input_ids": np.arange(6, dtype=np.int64).reshape(2, 3), "attention_mask": np.ones((2, 3), np.int64)}
    b = {"input_ids": np.arange(6, dtype=np.int64).reshape(3, 2), "attention_mask": np.ones((3, 2), np.int64)}
    base = feeds_sha256([a, b])
    assert feeds_sha256([dict(reversed(list(a.items()))), b]) == base  # key order does not matter
    assert feeds_sha256([b, a]) != base
    assert feeds_sha256([{**a, "input_ids": a["input_ids"].astype(np.int32)}, b]) != base
    changed = a["input_ids"].copy()
    changed[0, 0] = 99
    assert feeds_sha256([{**a, "input_ids": changed}, b]) != base


def test_cache_hits_without_running_and_keys_on_model_inputs_and_runtime(tmp_path):
    CountingRuntime.calls = 0
    runtime = CountingRuntime(tmp_path, tmp_path / "q", tmp_path / "p", "1.0")
    model = tmp_path / "m.onnx"
    model.write_bytes(b"model v1")
    feeds = [{"input_ids": np.arange(8, dtype=np.int64).reshape(2, 4)}, {"input_ids": np.ones((1, 3), np.int64)}]
    cache = tmp_path / "cache"
    first = reference_embeddings(model, feeds, OUTPUT, cache, runtime=runtime)
    second = reference_embeddings(model, feeds, OUTPUT, cache, runtime=runtime)
    assert CountingRuntime.calls == 1
    assert all(np.array_equal(x, y) and x.dtype == y.dtype for x, y in zip(first, second, strict=True))
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz" and not files[0].name.startswith(".")  # no temp left
    with np.load(files[0], allow_pickle=False) as stored:  # plain arrays, no pickle
        assert json.loads(str(stored["__key__"]))["abi"] == "arm64-v8a"
    reference_embeddings(model, feeds, OUTPUT, cache, runtime=runtime.with_cpu("max"))
    reference_embeddings(model, feeds, OUTPUT, cache, runtime=CountingRuntime(tmp_path, tmp_path, tmp_path, "2.0"))
    reference_embeddings(model, feeds[:1], OUTPUT, cache, runtime=runtime)
    model.write_bytes(b"model v2")
    reference_embeddings(model, feeds, OUTPUT, cache, runtime=runtime)
    assert CountingRuntime.calls == 5
    files[0].write_bytes(b"corrupt")  # an unreadable entry is recomputed, not an error
    model.write_bytes(b"model v1")
    assert all(
        np.array_equal(x, y)
        for x, y in zip(reference_embeddings(model, feeds, OUTPUT, cache, runtime=runtime), first, strict=True)
    )
    assert CountingRuntime.calls == 6


# ---- under emulation ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime(model_file) -> Arm64Runtime:
    found = Arm64Runtime.locate()
    if found is None:
        pytest.skip(NOT_SET_UP)
    model_file("AVA-ONX-384-BASE-INT8")  # builds or quantizes the real models when missing
    missing = [p for p in (FP32, INT8, TOKENIZER) if not p.is_file()]
    assert not missing, f"models not built: {', '.join(p.name for p in missing)}"
    return found


@pytest.fixture(scope="module")
def feeds() -> dict[str, np.ndarray]:
    return feeds_for(SENTENCES)


@pytest.fixture(scope="module")
def fp32_host(runtime, feeds) -> np.ndarray:
    return host_run(FP32, feeds)


@pytest.mark.arm64
def test_fp32_arm64_agrees_with_x86(runtime, feeds, fp32_host):
    (arm,) = run_embeddings(FP32, [feeds], OUTPUT, runtime=runtime)
    assert arm64.STATS.last_run["machine"] == "aarch64"
    assert arm64.STATS.last_run["onnxruntime"] == runtime.onnxruntime_version
    assert arm.shape == (8, 384) and arm.dtype == np.float32
    cos = cosines(arm, fp32_host)
    print(
        f"\nFP32 arm64 ({runtime.cpu}) vs x86: max|diff| {np.abs(arm - fp32_host).max():.2e}, min cos {cos.min():.8f}"
    )
    assert np.abs(arm - fp32_host).max() < 1e-5
    assert cos.min() > 0.99999


@pytest.mark.arm64
def test_int8_arm64_vs_x86_and_both_stay_near_fp32(runtime, feeds, fp32_host):
    """Measured on this batch (padded to 16 tokens, one 3-token sentence): arm64 and x86 INT8 differ by
    about the quantization error (min cos ~0.98 on the default CPU); each stays ~0.99 from FP32 (the
    3-token sentence ~0.96, on x86 too). With SME (`-cpu max`) ORT takes KleidiAI kernels with
    per-row activation quantization: closer to FP32, further from x86. Unpadded single sentences
    mostly agree to ~1e-7 between the two architectures, not all (bench/bench_arm64.py)."""
    x86 = host_run(INT8, feeds)
    report = []
    for cpu in (runtime.cpu, "max"):
        (arm,) = run_embeddings(INT8, [feeds], OUTPUT, runtime=runtime.with_cpu(cpu))
        vs_x86, vs_fp32 = cosines(arm, x86), cosines(arm, fp32_host)
        report.append(
            f"INT8 arm64 -cpu {cpu} vs x86 INT8: min cos {vs_x86.min():.6f} mean {vs_x86.mean():.6f}; "
            f"vs FP32: min {vs_fp32.min():.5f} mean {vs_fp32.mean():.5f}"
        )
        assert vs_fp32.min() > 0.95 and vs_fp32.mean() > 0.98, report[-1]
        assert vs_x86.min() > 0.95 and vs_x86.mean() > 0.98, report[-1]
        assert vs_x86.min() < 0.9999, f"expected arm64 and x86 INT8 to differ measurably: {report[-1]}"
    print("\n" + "\n".join(report) + f"\nINT8 x86 vs FP32: min cos {cosines(x86, fp32_host).min():.5f}")


@pytest.mark.arm64
def test_reference_cache_returns_identical_arrays_without_launching_qemu(runtime, feeds, tmp_path):
    small = {name: array[:2] for name, array in feeds.items()}
    launches = arm64.STATS.launches
    first = reference_embeddings(INT8, [small, small], OUTPUT, tmp_path, runtime=runtime)
    assert arm64.STATS.launches == launches + 1
    second = reference_embeddings(INT8, [small, small], OUTPUT, tmp_path, runtime=runtime)
    assert arm64.STATS.launches == launches + 1  # served from the .npz cache
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert np.array_equal(first[0], first[1])
