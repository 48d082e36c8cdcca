"""Device contract v2 (device_tests/CONTRACT.md): its two implementations must agree on the formats.

The Kotlin side (device_tests/android/) is compiled by device_tests/android/build.sh (kotlinc from
the npm registry, against stub jars; cached by a hash stamp) and its file-format helpers run on the
JVM through the FormatRoundTrip tool. These tests feed it requests built by the harness's own code,
read what it writes with the harness's parsers, and compare it byte for byte (.npy, token ids) or
key for key (result.json) with what the Python reference (ava_reference/) writes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from harness.android import contract as dc
from harness.android.contract import DevicePaths, RunSettings, build_request
from harness.evaluation import chapter
from harness.models.registry import load_registry
from harness.signoff.profile import summarise_profile

ROOT = Path(__file__).resolve().parents[2]
ANDROID = ROOT / "device_tests" / "android"
KOTLIN_SRC = ANDROID / "src" / "androidTest" / "kotlin" / "com" / "augmentalis" / "ava" / "harness"
TOOL = "com.augmentalis.ava.harness.tools.FormatRoundTripKt"
MODEL_ID = "AVA-ONX-384-BASE-INT8"
TEXTS = [
    "The quick brown fox",
    'quotes " and \\ backslash, tab\tand newline\n',
    "héllo wörld — ünïcode 日本語 😀",
    "",
]


# -- building and running the Kotlin side ----------------------------------------------------------


@pytest.fixture(scope="session")
def kotlin_classpath() -> str:
    """Runs build.sh (a no-op when the stamp matches) and returns FormatRoundTrip's classpath."""
    result = subprocess.run(["bash", str(ANDROID / "build.sh")], capture_output=True, text=True, timeout=1500, cwd=ROOT)
    assert result.returncode == 0, f"device_tests/android/build.sh failed:\n{result.stdout}\n{result.stderr}"
    return (ANDROID / "build" / "classpath").read_text().strip()


def kotlin(classpath: str, *args: str | Path, expect_ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["java", "-cp", classpath, TOOL, *map(str, args)], capture_output=True, text=True, timeout=120
    )
    if expect_ok:
        assert result.returncode == 0, result.stderr
    return result


def host_request(settings: RunSettings | None = None, model_ids: tuple[str, ...] = (MODEL_ID,)) -> dict[str, Any]:
    registry = load_registry()
    rng = np.random.default_rng(7)
    models = []
    for n, model_id in enumerate(model_ids):
        token_ids = [[101, *rng.integers(1000, 30000, size=3 + i + n).tolist(), 102] for i in range(len(TEXTS))]
        models.append((registry.get(model_id), f"{n:x}" * 64, token_ids))
    return build_request("20261128-0712-ab12cd", DevicePaths(), models, TEXTS, settings or RunSettings())


# -- request.json: the Kotlin reader parses every field the harness writes -------------------------


@pytest.mark.jvm
@pytest.mark.parametrize(
    ("settings", "model_ids"),
    [
        (RunSettings(), (MODEL_ID,)),
        (
            RunSettings(mode="model_parity", threads=4, execution_provider="NNAPI", warmup=0, iterations=1),
            (MODEL_ID, "AVA-ONX-384-FAST-INT8"),
        ),
        (RunSettings(mode="end_to_end", execution_provider="XNNPACK", iterations=500), ("AVA-ONX-384-FAST-INT8",)),
        (RunSettings(profile=False), (MODEL_ID,)),
    ],
)
def test_kotlin_reads_the_harness_request(
    kotlin_classpath: str, tmp_path: Path, settings: RunSettings, model_ids: tuple[str, ...]
) -> None:
    request = host_request(settings, model_ids)
    path = tmp_path / "request.json"
    dc.save_request(path, request)  # exactly the bytes the harness pushes
    kotlin(kotlin_classpath, "request", path, tmp_path / "parsed.json")
    parsed = json.loads((tmp_path / "parsed.json").read_text())
    derived = parsed.pop("derived")
    assert parsed == request  # every field, value and JSON type, as the harness wrote it
    assert derived == {
        "wantsModelParity": settings.mode in ("model_parity", "both"),
        "wantsEndToEnd": settings.mode in ("end_to_end", "both"),
        "ragOrder": list(request["chapter"]["rag"]["documents"]),  # insertion order survives org.json
        "chapterError": None,
    }


def test_request_carries_the_chapter_thresholds() -> None:
    """The device reads chapter 28A's thresholds from the request: their one home is
    harness.evaluation.chapter, and the reference's parser gets them back unchanged."""
    from ava_reference.request import parse_chapter

    request = host_request()
    assert request["contract"] == "ava-harness-device/4" and "rag" not in request
    assert request["profile"] is True  # v3: the profiled pass is asked for by default
    assert request["chapter"] == {
        "normRange": list(chapter.NORM_RANGE),
        "rag": {
            "documents": dict(chapter.RAG_DOCUMENTS),
            "query": chapter.RAG_QUERY,
            "expectedFirst": chapter.RAG_EXPECTED_FIRST,
            "neverFirst": chapter.RAG_NEVER_FIRST,
        },
    }
    parsed = parse_chapter(json.loads(json.dumps(request)))
    assert parsed.norm_range == chapter.NORM_RANGE
    assert parsed.documents == dict(chapter.RAG_DOCUMENTS) and list(parsed.documents) == list(chapter.RAG_DOCUMENTS)
    assert (parsed.query, parsed.expected_first, parsed.never_first) == (
        chapter.RAG_QUERY,
        chapter.RAG_EXPECTED_FIRST,
        chapter.RAG_NEVER_FIRST,
    )


def test_host_rejects_a_v1_result() -> None:
    from harness.errors import ContractError

    v1 = {"contract": "ava-harness-device/1", "modelId": MODEL_ID, "sha256": "", "loadMs": None, "latencyMs": []}
    v1 |= {"ortVersion": "", "executionProvider": "CPU", "peakMemoryKb": 0, "abi": "", "chapterTests": {}}
    v1 |= {"errors": ["modelLoads: Model not found"]}
    with pytest.raises(ContractError, match='contract is "ava-harness-device/1", not ava-harness-device/4'):
        dc.parse_result_json(json.dumps(v1).encode(), MODEL_ID, "device")
    v2 = {**v1, "contract": dc.CONTRACT_VERSION}
    assert dc.parse_result_json(json.dumps(v2).encode(), MODEL_ID, "device", iterations=20) == v2


def test_contract_md_documents_every_request_key() -> None:
    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return {k for k in value if not k.isdigit()} | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    contract = (ROOT / "device_tests" / "CONTRACT.md").read_text()
    block = contract.split("### request.json", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    documented = {k for k in re.findall(r'"(\w+)":', block) if not k.isdigit()}
    assert documented == keys(host_request())
    assert '"contract": "ava-harness-device/4"' in block


@pytest.mark.jvm
@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda r: r.update(contract="ava-harness-device/1"), "unsupported contract"),
        (lambda r: r["models"][0].update(modelId="../../escape"), "not a safe ID"),
        (lambda r: r["models"][0].update(file="/data/data/x.onnx"), "relative path"),
        (lambda r: r["models"][0]["tokenIds"].pop(), "tokenIds lists for"),
        (lambda r: r.update(threads="2"), '"threads" must be an integer'),
        (lambda r: r["models"][0].update(pooling="max"), '"pooling" is "max"'),
        (lambda r: r.pop("texts"), 'missing "texts"'),
        (lambda r: r.update(profile="yes"), '"profile" must be true or false'),
    ],
)
def test_kotlin_rejects_a_bad_request(kotlin_classpath: str, tmp_path: Path, mutate: Any, needle: str) -> None:
    request = host_request()
    mutate(request)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    result = kotlin(kotlin_classpath, "request", path, tmp_path / "parsed.json", expect_ok=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and needle in result.stderr, result.stderr
    assert not (tmp_path / "parsed.json").exists()


def _set(path: str, value: Any) -> Any:
    """A mutation of request["chapter"]: set (or, with value DROP, remove) a dotted key."""

    def mutate(request: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = request
        for key in parents:
            target = target[key]
        if value is DROP:
            del target[last]
        else:
            target[last] = value

    return mutate


DROP = object()
BAD_CHAPTERS = [
    (_set("chapter", DROP), 'missing "chapter"'),
    (_set("chapter", [0.5, 2.0]), '"chapter" must be an object'),
    (_set("chapter.normRange", DROP), 'missing "normRange"'),
    (_set("chapter.normRange", None), 'missing "normRange"'),
    (_set("chapter.normRange", [2.0, 0.5]), '"normRange" must be [low, high]'),
    (_set("chapter.normRange", [-1.0, 2.0]), '"normRange" must be [low, high]'),
    (_set("chapter.normRange", [0.5]), '"normRange" must be [low, high]'),
    (_set("chapter.normRange", [0.5, 2.0, 3.0]), '"normRange" must be [low, high]'),
    (_set("chapter.normRange", ["0.5", 2.0]), '"normRange" must be [low, high]'),
    (_set("chapter.normRange", [True, 2.0]), '"normRange" must be [low, high]'),
    (_set("chapter.normRange", {"low": 0.5}), '"normRange" must be [low, high]'),
    (_set("chapter.rag", DROP), 'missing "rag"'),
    (_set("chapter.rag", "docs"), '"rag" must be an object'),
    (_set("chapter.rag.documents", {}), '"documents" must be a non-empty object of strings'),
    (_set("chapter.rag.documents", ["a", "b"]), '"documents" must be a non-empty object of strings'),
    (_set("chapter.rag.documents.2", 7), '"documents" must be a non-empty object of strings'),
    (_set("chapter.rag.query", DROP), 'missing "query"'),
    (_set("chapter.rag.query", 1), '"query" must be a string'),
    (_set("chapter.rag.expectedFirst", 1), '"expectedFirst" must be a string'),
    (_set("chapter.rag.expectedFirst", "9"), '"expectedFirst" "9" is not a document id'),
    (_set("chapter.rag.neverFirst", DROP), 'missing "neverFirst"'),
    (_set("chapter.rag.neverFirst", "1"), '"expectedFirst" and "neverFirst" are the same document "1"'),
]


@pytest.mark.jvm
@pytest.mark.parametrize(("mutate", "needle"), BAD_CHAPTERS)
def test_a_bad_chapter_is_reported_not_fatal_and_both_sides_say_the_same(
    kotlin_classpath: str, tmp_path: Path, mutate: Any, needle: str
) -> None:
    """A missing or malformed "chapter" does not reject the request (the models are known, so
    their checks can fail one by one): Kotlin keeps the reason, the same text as the reference's."""
    from ava_reference.request import RequestError, parse_chapter

    request = host_request()
    mutate(request)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    kotlin(kotlin_classpath, "request", path, tmp_path / "parsed.json")
    parsed = json.loads((tmp_path / "parsed.json").read_text())
    assert parsed["chapter"] is None
    assert needle in parsed["derived"]["chapterError"]
    with pytest.raises(RequestError) as raised:
        parse_chapter(json.loads(path.read_text()), str(path))
    assert str(raised.value) == parsed["derived"]["chapterError"]


# -- the Python reference, run for real on a tiny model --------------------------------------------

VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "ai", "transforms", "industries", "ml", "improves", "predictions",
    "weather", "is", "sunny", "artificial", "intelligence", "the", "quick", "brown", "fox",
]  # fmt: skip


def _tiny_model(path: Path, dimension: int) -> None:
    """input_ids -> embedding table -> mean over the sequence + a bias: norms near 1, and the
    "AI" words share a direction so chapter test 4 ranks document 1 first."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    table = rng.normal(0, 0.05, size=(len(VOCAB), dimension)).astype(np.float32)
    topic = np.zeros(dimension, np.float32)
    topic[1] = 1.0
    for word in ("ai", "transforms", "industries", "artificial", "intelligence"):
        table[VOCAB.index(word)] += 2.0 * topic
    bias = np.zeros(dimension, np.float32)
    bias[0] = 0.8
    ints = [helper.make_tensor_value_info(n, TensorProto.INT64, [1, "seq"]) for n in dc_inputs()]
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["tokens"]),
            helper.make_node("ReduceMean", ["tokens"], ["pooled"], axes=[1], keepdims=0),
            helper.make_node("Add", ["pooled", "bias"], ["sentence_embedding"]),
        ],
        "tiny",
        ints,
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, [1, dimension])],
        initializer=[numpy_helper.from_array(table, "table"), numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def dc_inputs() -> list[str]:
    return list(load_registry().get(MODEL_ID).inputs)


def _run_reference(
    tmp_path: Path, request: dict[str, Any], *, with_model: bool = True, output: list[str] | None = None
) -> Path:
    """Runs ava_reference/runner.run in a fake device; returns the model's out dir (`output`
    receives the `am instrument -r` transcript)."""
    from ava_reference import runner

    device_root = tmp_path / "device"
    paths = DevicePaths()

    def host_path(device_path: str) -> Path:
        assert device_path.startswith("/sdcard/")
        return device_root / device_path.removeprefix("/")

    model = request["models"][0]
    files = host_path(paths.files)
    (files / "models").mkdir(parents=True)
    if with_model:
        _tiny_model(files / model["file"], model["dimension"])
    (files / model["tokenizer"]).write_text(
        json.dumps({"model": {"type": "WordPiece", "vocab": {w: i for i, w in enumerate(VOCAB)}}})
    )
    request_path = paths.request(request["runId"])
    dc.save_request(host_path(request_path), request)
    output = [] if output is None else output
    ctx = SimpleNamespace(
        test_package=dc.DEFAULT_TEST_PACKAGE,
        runner=dc.DEFAULT_RUNNER,
        target_package=paths.app_package,
        args={"class": dc.TEST_CLASS, "ava.request": request_path, "ava.runId": request["runId"]},
        props={"ro.product.cpu.abi": "x86_64"},  # the host runs the reference: its own ABI
        host_path=host_path,
        write=output.append,
        should_stop=lambda: False,
    )
    assert runner.run(ctx) == 0
    text = "".join(output)
    assert "INSTRUMENTATION_CODE: -1" in text, text
    return host_path(paths.out_dir(request["runId"], model["modelId"]))


def _tiny_request() -> dict[str, Any]:
    request = host_request(RunSettings(warmup=1, iterations=3))
    vocab = {w: i for i, w in enumerate(VOCAB)}
    model = request["models"][0]
    model["tokenIds"] = [
        [vocab["[CLS]"], *(vocab.get(w, vocab["[UNK]"]) for w in text.lower().split()), vocab["[SEP]"]]
        for text in TEXTS
    ]
    return request


def _kotlin_writes(classpath: str, tmp_path: Path, embeddings: np.ndarray, token_ids: Any, result: dict) -> Path:
    """FormatRoundTrip `write`: the Kotlin writers on known values; returns its out dir."""
    values = {
        "dimension": int(embeddings.shape[1]),
        "embeddings": [[float(v) for v in row] for row in embeddings],  # float32 -> double: exact
        "tokenIds": token_ids,
        "result": result,
    }
    (tmp_path / "values.json").write_text(json.dumps(values))
    out = tmp_path / "kotlin-out"
    kotlin(classpath, "write", tmp_path / "values.json", out)
    assert not list(out.glob(".*.tmp")), "a temporary file was left behind"
    return out


@pytest.mark.jvm
def test_kotlin_and_reference_write_the_same_files(kotlin_classpath: str, tmp_path: Path) -> None:
    request = _tiny_request()
    model = request["models"][0]
    n, dim = len(TEXTS), model["dimension"]
    ref_out = _run_reference(tmp_path, request)
    ref_result = dc.parse_result_json((ref_out / "result.json").read_bytes(), MODEL_ID, "reference", iterations=3)
    assert ref_result["errors"] == [], ref_result["errors"]
    ref_embeddings = dc.parse_npy((ref_out / "embeddings.npy").read_bytes(), "reference", n, dim)
    ref_ids = dc.parse_token_ids((ref_out / "token_ids_e2e.json").read_bytes(), "reference", n)
    # v3: the profiled pass ran (3 runs) and wrote ONNX Runtime's profile beside result.json
    assert ref_result["profileMs"] > 0 and not list(ref_out.glob(".profile*"))
    # v4: the warm-up's time and the process's memory around the load and the inferences
    assert ref_result["warmupMs"] > 0
    memory = ref_result["memoryKb"]
    assert list(memory) == list(dc.MEMORY_KEYS) and all(isinstance(v, int) for v in memory.values())
    assert memory["beforeLoad"] > 0 and memory["peakLoad"] >= memory["beforeLoad"]
    assert memory["afterLoad"] > 0 and memory["peakInference"] >= memory["afterLoad"]
    summary = summarise_profile((ref_out / "profile.json").read_bytes())
    assert {op["op_type"] for op in summary["top_ops"]} == {"Gather", "ReduceMean", "Add"}
    assert summary["runs"] == 3 and all(op["count"] == 3 for op in summary["top_ops"])

    out = _kotlin_writes(kotlin_classpath, tmp_path, ref_embeddings, ref_ids, ref_result)

    # .npy: byte for byte what np.save wrote on the reference side, and the harness reads it back.
    assert (out / "embeddings.npy").read_bytes() == (ref_out / "embeddings.npy").read_bytes()
    np.testing.assert_array_equal(dc.parse_npy((out / "embeddings.npy").read_bytes(), "kotlin", n, dim), ref_embeddings)
    # token ids: byte for byte json.dumps.
    assert (out / "token_ids_e2e.json").read_bytes() == (ref_out / "token_ids_e2e.json").read_bytes()
    assert dc.parse_token_ids((out / "token_ids_e2e.json").read_bytes(), "kotlin", n) == ref_ids
    # result.json: same keys, same values, same JSON types; the harness's parser accepts it.
    kotlin_result = dc.parse_result_json((out / "result.json").read_bytes(), MODEL_ID, "kotlin", iterations=3)
    assert set(kotlin_result) == set(ref_result)
    assert kotlin_result == ref_result
    assert {k: type(v) for k, v in kotlin_result.items()} == {k: type(v) for k, v in ref_result.items()}
    # and the keys are the contract's result.json keys
    contract = (ROOT / "device_tests" / "CONTRACT.md").read_text()
    block = contract.split("### result.json", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    documented = set(re.findall(r'^\s*[{,]?\s*"(\w+)":', block, re.M)) - {
        "test1_loads_with_dimension",
        "test2_embeddings_valid",
        "test4_rag_ranking",
    }
    assert set(kotlin_result) == documented


@pytest.mark.jvm
def test_reference_takes_the_thresholds_from_the_request(tmp_path: Path) -> None:
    """Other thresholds in the request, other verdicts: nothing of chapter 28A is hard-coded on the device."""
    request = _tiny_request()
    request["chapter"]["normRange"] = [1.5, 3.0]  # the tiny model's norms are near 1: test 2 fails
    request["chapter"]["rag"].update(expectedFirst="2", neverFirst="1")  # it ranks "1" first: test 4 fails
    output: list[str] = []
    out = _run_reference(tmp_path, request, output=output)
    result = dc.parse_result_json(
        (out / "result.json").read_bytes(), MODEL_ID, "reference", iterations=3, request_chapter=request["chapter"]
    )
    assert result["chapterTests"] == {
        "test1_loads_with_dimension": True,
        "test2_embeddings_valid": False,
        "test4_rag_ranking": False,
    }
    assert result["ragRanking"][0] == "1"
    assert [e.split(":")[0] for e in result["errors"]] == ["embeddingsValid", "ragRanking"]
    assert "L2 norm out of (1.5, 3.0)" in result["errors"][0]
    assert "expected document 2 first (document 1 never)" in result["errors"][1]
    assert "Tests run: 6,  Failures: 2" in "".join(output)


@pytest.mark.parametrize(("mutate", "needle"), BAD_CHAPTERS[:1] + BAD_CHAPTERS[4:5] + BAD_CHAPTERS[-3:-2])
def test_reference_fails_modelloads_on_a_bad_chapter(tmp_path: Path, mutate: Any, needle: str) -> None:
    """The run completes (no crash): every check of the model fails, modelLoads with the bad field."""
    request = _tiny_request()
    mutate(request)
    output: list[str] = []
    out = _run_reference(tmp_path, request, output=output)
    transcript = "".join(output)
    assert "Tests run: 6,  Failures: 6" in transcript
    assert "shortMsg" not in transcript
    result = dc.parse_result_json((out / "result.json").read_bytes(), MODEL_ID, "reference", iterations=3)
    assert result["errors"][0].startswith("modelLoads: /sdcard/") and needle in result["errors"][0]
    assert result["loadMs"] is None and result["chapterTests"] == {}
    assert all(needle in e for e in result["errors"][1:3])  # embeddingsValid and ragRanking say why too


@pytest.mark.jvm
def test_kotlin_and_reference_agree_when_the_model_is_missing(kotlin_classpath: str, tmp_path: Path) -> None:
    """A model that did not load: the keys that are absent (coldMs, dimension, ragRanking) and null
    (loadMs) are the same on both sides."""
    request = _tiny_request()
    ref_out = _run_reference(tmp_path, request, with_model=False)
    ref_result = dc.parse_result_json((ref_out / "result.json").read_bytes(), MODEL_ID, "reference", iterations=3)
    assert ref_result["errors"] and ref_result["loadMs"] is None
    dim = request["models"][0]["dimension"]
    out = _kotlin_writes(kotlin_classpath, tmp_path, np.zeros((1, dim), np.float32), [[101, 102]], ref_result)
    kotlin_result = dc.parse_result_json((out / "result.json").read_bytes(), MODEL_ID, "kotlin", iterations=3)
    assert set(kotlin_result) == set(ref_result)
    assert kotlin_result == ref_result


@pytest.mark.jvm
def test_npy_bytes_identical_for_many_shapes(kotlin_classpath: str, tmp_path: Path) -> None:
    """Every header length class (the 64-byte alignment, numpy's spare growth spaces), both sides."""
    from ava_reference.runner import _npy_bytes

    shapes = [(r, c) for r in (0, 1, 2, 9, 10, 99, 100, 12345) for c in (1, 2, 3, 7, 64, 384, 768, 1024, 99999)]
    shapes += [(3, c) for c in range(1, 200)]
    cases = {"pool": [], "percentile": [], "rank": [], "valid": [], "ragPasses": [], "npyHeaders": shapes}
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    kotlin(kotlin_classpath, "math", tmp_path / "cases.json", tmp_path / "answers.json")
    headers = json.loads((tmp_path / "answers.json").read_text())["npyHeaders"]
    for (rows, cols), header in zip(shapes, headers, strict=True):
        expected = _npy_bytes(np.zeros((rows, cols), np.float32))
        expected_header = expected[: len(expected) - rows * cols * 4]
        assert bytes.fromhex(header) == expected_header, (rows, cols)
    # and a full file with awkward values (NaN payloads aside: -0.0, subnormal, inf, max)
    special = np.array([[0.0, -0.0, 1e-45, np.inf], [-np.inf, 3.4028235e38, 1 / 3, -2.5]], np.float32)
    minimal = {"modelId": MODEL_ID, "abi": "", "executionProvider": "CPU"}
    out = _kotlin_writes(kotlin_classpath, tmp_path, special, [[1]], minimal)
    assert (out / "embeddings.npy").read_bytes() == _npy_bytes(special)


@pytest.mark.jvm
def test_pooling_percentile_ranking_validity_match_the_reference(kotlin_classpath: str, tmp_path: Path) -> None:
    from ava_reference.model_runner import _pool
    from ava_reference.request import Chapter

    rng = np.random.default_rng(5)
    pool_cases = []
    for shape in ([1, 384], [1, 7, 16], [1, 1, 8]):
        for pooling in ("none", "mean", "cls"):
            for normalize in (False, True):
                output = rng.normal(size=shape).astype(np.float32)
                pool_cases.append((output, pooling, normalize))
    samples = [rng.gamma(2, 3, size=k).tolist() for k in (1, 2, 5, 20, 21)]
    docs = {"1": "a", "2": "b", "3": "c"}
    vectors = rng.normal(size=(3, 16)).astype(np.float32)
    rank_cases = [(vectors, rng.normal(size=16).astype(np.float32)) for _ in range(5)]
    rank_cases.append((np.ones((3, 4), np.float32), np.ones(4, np.float32)))  # all tied: request order
    default = list(chapter.NORM_RANGE)
    valid_cases = [
        ([[0.5, 0.5, 0.5, 0.5], [0.5, -0.5, 0.5, 0.5]], default),  # norms 1.0
        ([[0.2, 0.2, 0.2, 0.2]], default),  # norm 0.4
        ([[1e39, 1.0, 0.0, 0.0]], default),  # 1e39 overflows float32 to inf: not finite
        ([[1.1, 1.1, 1.1, 1.1]], default),  # norm 2.2
        ([[1.1, 1.1, 1.1, 1.1]], [2.0, 3.0]),  # norm 2.2, another range
        ([[0.5, 0.5, 0.5, 0.5]], [1.0, 3.0]),  # norm 1.0: the bounds are exclusive
        ([[0.5, 0.5, 0.5, 0.5]], [0.0, 1.5]),
    ]
    rag_cases = [
        (["1", "2", "3"], "1", "3"),
        (["2", "1", "3"], "1", "3"),
        (["3", "1", "2"], "1", "3"),
        (["b", "a"], "b", "a"),
        ([], "1", "3"),
    ]
    cases = {
        "pool": [
            {"output": out.ravel().tolist(), "shape": list(out.shape), "pooling": p, "normalize": n}
            for out, p, n in pool_cases
        ],
        "percentile": [{"samples": s, "q": 50} for s in samples],
        "rank": [{"ids": list(docs), "vectors": v.tolist(), "query": q.tolist()} for v, q in rank_cases],
        "valid": [{"rows": rows, "normRange": bounds} for rows, bounds in valid_cases],
        "ragPasses": [{"ranking": r, "expectedFirst": e, "neverFirst": n} for r, e, n in rag_cases],
        "npyHeaders": [],
    }
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    kotlin(kotlin_classpath, "math", tmp_path / "cases.json", tmp_path / "answers.json")
    answers = json.loads((tmp_path / "answers.json").read_text())

    for (output, pooling, normalize), got in zip(pool_cases, answers["pool"], strict=True):
        mask = np.ones(output.shape[:2], np.int64)
        expected = _pool(output, mask, pooling, normalize)[0]
        np.testing.assert_allclose(np.array(got, np.float32), expected, rtol=1e-5, atol=1e-6)
    for s, got in zip(samples, answers["percentile"], strict=True):
        assert got == pytest.approx(float(np.percentile(s, 50)), rel=1e-12)
    for (v, q), got in zip(rank_cases, answers["rank"], strict=True):
        scores = v @ q / (np.linalg.norm(v, axis=1) * np.linalg.norm(q))
        assert got == [list(docs)[i] for i in np.argsort(-scores, kind="stable")]

    def rules(bounds: list[float], expected: str = "1", never: str = "3") -> Chapter:
        return Chapter((bounds[0], bounds[1]), {"1": "", "2": "", "3": ""}, "", expected, never)

    for (rows, bounds), got in zip(valid_cases, answers["valid"], strict=True):  # the reference's rule for test 2
        with np.errstate(over="ignore"):
            array = np.array(rows, np.float64).astype(np.float32)
        assert got == rules(bounds).embeddings_valid(array)
    assert answers["valid"] == [True, False, False, False, True, False, True]
    for (ranking, expected, never), got in zip(rag_cases, answers["ragPasses"], strict=True):  # test 4
        assert got == rules(default, expected, never).ranking_passes(ranking)
        assert got == (chapter.rag_ranking_passes(ranking) if (expected, never) == ("1", "3") else got)
    assert answers["ragPasses"] == [True, False, False, True, False]


# -- the virtual AVA app: what the harness passes in, what the device decides ----------------------


def test_harness_builds_the_virtual_app_from_the_contract() -> None:
    from ava_reference import virtual_app
    from harness.android.virtual import ava_device_config
    from harness.reference.choice import HOST_ABI

    config = ava_device_config(battery_level=50)
    component = f"{dc.DEFAULT_TEST_PACKAGE}/{dc.DEFAULT_RUNNER}"
    assert config.packages == [dc.DEFAULT_APP_PACKAGE] and list(config.instrumentations) == [component]
    assert config.instrumentations[component].target == dc.DEFAULT_APP_PACKAGE
    assert config.abi == HOST_ABI and config.battery_level == 50
    assert virtual_app.CPU_EMULATOR_PROP not in config.extra_props  # its CPU is this host's
    other = virtual_app.ava_device_config(
        app_package="com.example.app", test_package="com.example.t", runner="R", abi=HOST_ABI
    )
    assert other.packages == ["com.example.app"] and list(other.instrumentations) == ["com.example.t/R"]


def test_arm64_virtual_app_needs_the_runtime_the_harness_locates(tmp_path: Path, monkeypatch) -> None:
    from ava_reference import virtual_app
    from harness.android.virtual import ava_arm64_device_config
    from harness.errors import HarnessError
    from harness.reference.choice import HOST_ABI
    from harness.settings import ENV_ARM64_HOME

    if HOST_ABI == "arm64-v8a":
        pytest.skip("an arm64 host runs arm64 code natively")
    monkeypatch.setenv(ENV_ARM64_HOME, str(tmp_path))
    with pytest.raises(HarnessError, match=r"arm64 runtime not set up: run `make arm64-runtime`"):
        ava_arm64_device_config()
    (tmp_path / "runtime.json").write_text("{}")
    config = ava_arm64_device_config()
    assert config.abi == "arm64-v8a"
    assert config.extra_props[virtual_app.CPU_EMULATOR_PROP] == str(tmp_path / "runtime.json")
    assert list(config.instrumentations) == [f"{dc.DEFAULT_TEST_PACKAGE}/{dc.DEFAULT_RUNNER}"]
    with pytest.raises(FileNotFoundError):
        virtual_app.ava_arm64_device_config(tmp_path / "missing.json", app_package="a", test_package="t", runner="R")


def test_reference_runs_on_the_cpu_the_device_props_name(tmp_path: Path) -> None:
    """No host-ABI guess on the device side: without an emulator prop the device's CPU is this
    process's; with one, the model goes through the emulator it names."""
    from ava_reference.model_runner import CPU_EMULATOR_PROP, ModelRunner, open_model_runner

    request = _tiny_request()
    spec = request["models"][0]
    (tmp_path / "models").mkdir()
    _tiny_model(tmp_path / spec["file"], spec["dimension"])
    for abi in ("x86_64", "arm64-v8a", ""):  # the ABI prop is reported, it does not pick the kernels
        runner = open_model_runner(spec, tmp_path, 1, "CPU", {"ro.product.cpu.abi": abi})
        assert isinstance(runner, ModelRunner)
    props = {"ro.product.cpu.abi": "arm64-v8a", CPU_EMULATOR_PROP: str(tmp_path / "gone.json")}
    with pytest.raises(RuntimeError, match=r"arm64-v8a CPU emulator .*gone\.json is missing"):
        open_model_runner(spec, tmp_path, 1, "CPU", props)


# -- the Kotlin test class itself: names, keys and paths of the contract ---------------------------


@pytest.mark.jvm
def test_kotlin_test_class_matches_the_contract(kotlin_classpath: str) -> None:
    source = (KOTLIN_SRC / "EmbeddingSignoffTest.kt").read_text()
    package = re.search(r"^package ([\w.]+)", source, re.M).group(1)
    assert f"{package}.EmbeddingSignoffTest" == dc.TEST_CLASS
    tests = re.findall(r"@Test\s+fun (\w+)\(", source)
    assert tests == list(dc.CHECKS)  # declared in the contract's order
    assert '@Parameterized.Parameters(name = "{0}")' in source  # -> <check>[<modelId>]
    checks = re.search(r"val CHECKS: List<String> = listOf\(([^)]*)\)", (KOTLIN_SRC / "RequestReader.kt").read_text())
    assert re.findall(r'"(\w+)"', checks.group(1)) == list(dc.CHECKS)
    for key in ("ava.modelId", "ava.loadMs", "ava.coldMs", "ava.p50Ms", "ava.result"):
        assert f'"{key}"' in source, key
    assert '"ava.request"' in source and '"ava.runId"' in source
    for name in ("embeddings.npy", "embeddings_e2e.npy", "token_ids_e2e.json"):
        assert f'"{name}"' in source, name
    contract = (ROOT / "device_tests" / "CONTRACT.md").read_text()
    assert "`device_tests/android/`" in contract and "`ava_reference/`" in contract
    # The compiled class is in the jar build.sh produced against the stubs.
    jar = subprocess.run(
        ["jar", "--list", "--file", str(ANDROID / "build" / "androidTest.jar")], capture_output=True, text=True
    )
    assert "com/augmentalis/ava/harness/EmbeddingSignoffTest.class" in jar.stdout.split()


@pytest.mark.jvm
def test_build_is_cached(kotlin_classpath: str) -> None:
    result = subprocess.run(["bash", str(ANDROID / "build.sh")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "up to date" in result.stderr, result.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
