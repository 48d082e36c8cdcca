"""What the device writes is untrusted input (device_tests/CONTRACT.md, "Validating what the
device writes"): result.json, embeddings .npy and token_ids_e2e.json, each hostile variant refused
with a ContractError whose one line names the device file, the field and what is wrong. No device."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.android import contract as dc
from harness.errors import ContractError, DeviceError, InputError

SERIAL = "emulator-5554"
PATH = "/sdcard/Android/data/com.augmentalis.ava/files/ava-harness/runs/r1/out/AVA-ONX-384-BASE-INT8/result.json"
WHERE = f"{SERIAL}:{PATH}"
MODEL = "AVA-ONX-384-BASE-INT8"
ITERATIONS = 20
SHA = "ab" * 32


def good() -> dict[str, Any]:
    """A result.json as both device implementations write it for a model that passed."""
    return {
        "contract": dc.CONTRACT_VERSION,
        "modelId": MODEL,
        "sha256": SHA,
        "loadMs": 412.5,
        "coldMs": 35.1,
        "latencyMs": [3.1 + i / 100 for i in range(ITERATIONS)],
        "peakMemoryKb": 182340,
        "ortVersion": "1.19.2",
        "executionProvider": "CPU",
        "abi": "arm64-v8a",
        "dimension": 384,
        "chapterTests": {"test1_loads_with_dimension": True, "test2_embeddings_valid": True, "test4_rag_ranking": True},
        "ragRanking": ["1", "2", "3"],
        "errors": [],
    }


def not_loaded() -> dict[str, Any]:
    """A model that did not load: what the reference writes (coldMs, dimension, ragRanking absent)."""
    result = good()
    for key in ("coldMs", "dimension", "ragRanking"):
        del result[key]
    result |= {"sha256": "", "loadMs": None, "latencyMs": [], "ortVersion": "", "chapterTests": {}}
    result["errors"] = ["modelLoads: Model not found: AVA-ONX-384-BASE-INT8", "latency: model did not load"]
    return result


def parse(data: bytes | dict[str, Any], iterations: int = ITERATIONS) -> dc.DeviceResult:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return dc.parse_device_result(raw, serial=SERIAL, path=PATH, model_id=MODEL, iterations=iterations)


def with_(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda r: r.update(changes)


def without(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda r: r.pop(key)


def chapter(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda r: r["chapterTests"].update(changes)


# (hostile variant of a good result.json, the field named, the one line after "<serial>:<path>: ")
HOSTILE_FIELDS = [
    (
        with_(contract="ava-harness-device/1"),
        "contract",
        'contract is "ava-harness-device/1", not ava-harness-device/4',
    ),
    (with_(modelId="AVA-ONX-384-FAST-INT8"), "modelId", f'modelId is "AVA-ONX-384-FAST-INT8", expected {MODEL}'),
    (with_(debug=True), "debug", 'unknown key "debug" (contract ava-harness-device/4 has no such field)'),
    (without("peakMemoryKb"), "peakMemoryKb", "peakMemoryKb is missing"),
    (without("errors"), "errors", "errors is missing"),
    (with_(latencyMs=[3.0]), "latencyMs", "latencyMs has 1 samples, 20 were requested"),
    (with_(latencyMs=[3.0] * 21), "latencyMs", "latencyMs has 21 samples, 20 were requested"),
    (with_(latencyMs=[3.0] * 10_001), "latencyMs", "latencyMs has 10001 items, more than 10000"),
    (with_(latencyMs="3.0"), "latencyMs", 'latencyMs is "3.0", expected a list'),
    (with_(latencyMs=[3.0] * 19 + [0]), "latencyMs[19]", "latencyMs[19] is 0, outside (0, 1e+07)"),
    (with_(latencyMs=[-1.0] + [3.0] * 19), "latencyMs[0]", "latencyMs[0] is -1.0, outside (0, 1e+07)"),
    (with_(latencyMs=[1e7] + [3.0] * 19), "latencyMs[0]", "latencyMs[0] is 10000000.0, outside (0, 1e+07)"),
    (with_(latencyMs=[None] + [3.0] * 19), "latencyMs[0]", "latencyMs[0] is null, expected a number"),
    (with_(latencyMs=[True] + [3.0] * 19), "latencyMs[0]", "latencyMs[0] is true, expected a number"),
    (with_(latencyMs=["3"] + [3.0] * 19), "latencyMs[0]", 'latencyMs[0] is "3", expected a number'),
    (with_(latencyMs=[], errors=[]), "latencyMs", "latencyMs is empty (not measured) but errors is empty"),
    (with_(loadMs="fast"), "loadMs", 'loadMs is "fast", expected a number'),
    (with_(loadMs=-0.5), "loadMs", "loadMs is -0.5, outside [0, 1e+07)"),
    (with_(loadMs=None), "loadMs", "loadMs is null (the model did not load) but errors is empty"),
    (with_(coldMs=1e9), "coldMs", "coldMs is 1000000000.0, outside [0, 1e+07)"),
    (with_(coldMs=[1.0]), "coldMs", "coldMs is a list of 1, expected a number"),
    (with_(peakMemoryKb="lots"), "peakMemoryKb", 'peakMemoryKb is "lots", expected an integer'),
    (
        with_(peakMemoryKb=10**400),
        "peakMemoryKb",
        "peakMemoryKb is an integer of over 40 digits, outside 0..1099511627776",
    ),
    (with_(peakMemoryKb=2**40 + 1), "peakMemoryKb", "peakMemoryKb is 1099511627777, outside 0..1099511627776"),
    (with_(peakMemoryKb=-1), "peakMemoryKb", "peakMemoryKb is -1, outside 0..1099511627776"),
    (with_(peakMemoryKb=182340.0), "peakMemoryKb", "peakMemoryKb is 182340.0, expected an integer"),
    (with_(peakMemoryKb=True), "peakMemoryKb", "peakMemoryKb is true, expected an integer"),
    (with_(peakMemoryKb=None), "peakMemoryKb", "peakMemoryKb is null, expected an integer"),
    (with_(sha256="AB" * 32), "sha256", f'sha256 is "{"AB" * 30}...", expected 64 lowercase hex digits'),
    (with_(sha256="ab" * 33), "sha256", "sha256 has 66 characters, more than 64"),
    (with_(sha256=""), "sha256", "sha256 is empty but loadMs says the model loaded"),
    (with_(sha256=None), "sha256", "sha256 is null, expected a string"),
    (with_(ortVersion="1.19\n2"), "ortVersion", 'ortVersion is "1.19\\n2", not a valid value'),
    (with_(ortVersion="1.19.2 ☕"), "ortVersion", 'ortVersion is "1.19.2 \\u2615", not a valid value'),
    (with_(ortVersion="1" * 129), "ortVersion", "ortVersion has 129 characters, more than 128"),
    (with_(ortVersion=1.19), "ortVersion", "ortVersion is 1.19, expected a string"),
    (with_(executionProvider="QNN"), "executionProvider", 'executionProvider is "QNN", not a valid value'),
    (
        with_(executionProvider="CPU\x1b[2J"),
        "executionProvider",
        'executionProvider is "CPU\\u001b[2J", not plain text',
    ),
    (with_(abi="arm64\u202ev8a"), "abi", 'abi is "arm64\\u202ev8a", not plain text'),
    (with_(dimension=0), "dimension", "dimension is 0, outside 1..1048576"),
    (with_(dimension=384.0), "dimension", "dimension is 384.0, expected an integer"),
    (with_(chapterTests=[]), "chapterTests", "chapterTests is a list of 0, expected an object"),
    (chapter(test3_cosine_vs_fp32=True), "chapterTests", 'chapterTests has unknown test "test3_cosine_vs_fp32"'),
    (
        chapter(test2_embeddings_valid=1),
        "chapterTests.test2_embeddings_valid",
        "chapterTests.test2_embeddings_valid is 1, expected true or false",
    ),
    (
        chapter(test2_embeddings_valid="true"),
        "chapterTests.test2_embeddings_valid",
        'chapterTests.test2_embeddings_valid is "true", expected true or false',
    ),
    (without("dimension"), "dimension", "dimension is missing but chapterTests.test1_loads_with_dimension is set"),
    (without("ragRanking"), "ragRanking", "ragRanking is missing but chapterTests.test4_rag_ranking is set"),
    (
        with_(ragRanking=["1", "2", "4"]),
        "ragRanking",
        "ragRanking is not an order of the request's documents ['1', '2', '3']",
    ),
    (
        with_(ragRanking=["1", "1", "2"]),
        "ragRanking",
        "ragRanking is not an order of the request's documents ['1', '2', '3']",
    ),
    (with_(ragRanking=["1", "2", "3", "4"]), "ragRanking", "ragRanking has 4 items, more than 3"),
    (with_(ragRanking=[1, 2, 3]), "ragRanking[0]", "ragRanking[0] is 1, expected a string"),
    (
        with_(ragRanking=["3", "1", "2"]),
        "chapterTests.test4_rag_ranking",
        'chapterTests.test4_rag_ranking is true but ragRanking ranks "3" first (expected first: "1")',
    ),
    (with_(errors="boom"), "errors", 'errors is "boom", expected a list'),
    (with_(errors=["x"] * 65), "errors", "errors has 65 items, more than 64"),
    (with_(errors=["x" * 8193]), "errors[0]", "errors[0] has 8193 characters, more than 8192"),
    (with_(errors=[{"check": "latency"}]), "errors[0]", "errors[0] is an object of 1, expected a string"),
    (with_(errors=["latency: \x07bell"]), "errors[0]", 'errors[0] is "latency: \\u0007bell", not plain text'),
]


@pytest.mark.parametrize(("mutate", "field", "line"), HOSTILE_FIELDS, ids=[h[2][:60] for h in HOSTILE_FIELDS])
def test_every_hostile_field_is_a_contract_error_naming_file_and_field(mutate, field, line) -> None:
    result = good()
    mutate(result)
    with pytest.raises(ContractError) as err:
        parse(result)
    assert str(err.value) == f"{WHERE}: {line}"
    assert (err.value.serial, err.value.path, err.value.field) == (SERIAL, PATH, field)
    assert "\n" not in str(err.value)


# Numbers JSON cannot carry as finite floats, written into a good file: (field, literal).
NON_FINITE = [
    ("loadMs", "NaN"),
    ("loadMs", "Infinity"),
    ("coldMs", "-Infinity"),
    ("coldMs", "1e400"),
    ("latencyMs[0]", "NaN"),
]


@pytest.mark.parametrize(("field", "literal"), NON_FINITE)
def test_non_finite_numbers_are_refused_by_name(field: str, literal: str) -> None:
    result = good()
    if field == "latencyMs[0]":
        result["latencyMs"][0] = "@@"
    else:
        result[field] = "@@"
    data = json.dumps(result).encode().replace(b'"@@"', literal.encode())
    with pytest.raises(ContractError) as err:
        parse(data)
    assert str(err.value) == f"{WHERE}: {field} is {literal}, not a finite number"
    assert err.value.field == field


@pytest.mark.parametrize(
    ("data", "field", "line"),
    [
        (b"\xff\xfe{}", "encoding", "not UTF-8 (byte 0)"),
        (b'{"modelId": ', "json", "not valid JSON (Expecting value: line 1 column 13 (char 12))"),
        (b"[]", "json", "result.json is a list of 0, expected an object"),
        (b'"result"', "json", 'result.json is "result", expected an object'),
        (b"[" * 200_000 + b"]" * 200_000, "json", "not valid JSON (nested too deeply)"),
        (b'{"contract": "a", "contract": "b"}', "contract", '"contract" appears twice in one object'),
        (b'{"peakMemoryKb": ' + b"9" * 5000 + b"}", "json", "not valid JSON ("),
    ],
)
def test_what_is_not_json_is_refused(data: bytes, field: str, line: str) -> None:
    with pytest.raises(ContractError) as err:
        parse(data)
    assert err.value.field == field
    assert str(err.value).startswith(f"{WHERE}: {line}")


def test_the_size_is_bounded_before_anything_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_: object, **__: object) -> None:
        raise AssertionError("json.loads ran on an oversized file")

    monkeypatch.setattr(dc.json, "loads", never)
    data = b" " * dc.RESULT_JSON_MAX_BYTES + b"{}"
    with pytest.raises(ContractError) as err:
        parse(data)
    assert str(err.value) == f"{WHERE}: {len(data)} bytes, more than the 1048576 allowed"
    assert err.value.field == "size"


def test_a_good_result_comes_back_typed_and_read_only() -> None:
    result = parse(good())
    assert result == dc.DeviceResult(
        model_id=MODEL,
        sha256=SHA,
        load_ms=412.5,
        cold_ms=35.1,
        latency_ms=tuple(3.1 + i / 100 for i in range(ITERATIONS)),
        peak_memory_kb=182340,
        ort_version="1.19.2",
        execution_provider="CPU",
        abi="arm64-v8a",
        dimension=384,
        chapter_tests={"test1_loads_with_dimension": True, "test2_embeddings_valid": True, "test4_rag_ranking": True},
        rag_ranking=("1", "2", "3"),
        errors=(),
    )
    assert dict(result.raw) == good()
    with pytest.raises(TypeError):
        result.chapter_tests["test2_embeddings_valid"] = False  # type: ignore[index]
    with pytest.raises(AttributeError):
        result.load_ms = 1.0  # type: ignore[misc]


def test_a_model_that_did_not_load_is_a_valid_result_whose_errors_say_why() -> None:
    result = parse(not_loaded())
    assert (result.sha256, result.load_ms, result.cold_ms, result.latency_ms) == (None, None, None, ())
    assert (result.dimension, result.rag_ranking, dict(result.chapter_tests)) == (None, None, {})
    assert result.errors[0] == "modelLoads: Model not found: AVA-ONX-384-BASE-INT8"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"peakMemoryKb": 0}, {"peak_memory_kb": None}),  # Kotlin writes 0 when VmHWM is unreadable
        ({"coldMs": None}, {"cold_ms": None}),  # a non-finite time, written as null
        ({"loadMs": 0, "latencyMs": [1] * ITERATIONS}, {"load_ms": 0.0, "latency_ms": (1.0,) * ITERATIONS}),
        ({"executionProvider": "CPU (fallback from NNAPI)"}, {"execution_provider": "CPU (fallback from NNAPI)"}),
        ({"errors": ["embeddingsValid: L2 norm out of (0.5, 2.0)\n\tat line 2"]}, {}),  # multi-line messages
        (
            {"chapterTests": {"test4_rag_ranking": False}, "ragRanking": ["2", "1", "3"], "errors": ["ragRanking: x"]},
            {"rag_ranking": ("2", "1", "3")},
        ),
    ],
)
def test_what_the_contract_allows_is_accepted(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    result = parse(good() | changes)
    assert {name: getattr(result, name) for name in expected} == expected


def test_the_ranking_is_checked_against_the_chapter_the_request_sent() -> None:
    request_chapter = dc.chapter_request()
    request_chapter["rag"] |= {"expectedFirst": "2", "neverFirst": "1"}
    result = good() | {"chapterTests": {"test4_rag_ranking": False}, "errors": ["ragRanking: 1 ranked first"]}
    data = json.dumps(result).encode()
    parsed = dc.parse_device_result(
        data, serial=SERIAL, path=PATH, model_id=MODEL, iterations=ITERATIONS, request_chapter=request_chapter
    )
    assert parsed.chapter_tests["test4_rag_ranking"] is False
    with pytest.raises(ContractError, match="test4_rag_ranking is false but ragRanking ranks"):
        parse(data)  # against the default chapter, "1" first passes test 4: the device contradicts itself


@pytest.mark.parametrize("iterations", [0, -1, 10_001, True, 2.0])
def test_iterations_must_be_what_a_request_can_ask(iterations: Any) -> None:
    with pytest.raises(ValueError, match="iterations"):
        parse(good(), iterations=iterations)


def test_contract_error_is_a_device_error_with_exit_code_3() -> None:
    with pytest.raises(ContractError) as err:
        parse(good() | {"latencyMs": [3.0]})
    assert isinstance(err.value, DeviceError) and not isinstance(err.value, InputError)
    assert err.value.exit_code == 3
    assert err.value.message == str(err.value)  # what device_run quotes after "then"


def test_the_old_entry_point_validates_the_same_and_returns_the_file() -> None:
    data = json.dumps(good()).encode()
    assert dc.parse_result_json(data, MODEL, WHERE) == good()
    assert dc.parse_result_json(data, MODEL, WHERE, iterations=ITERATIONS) == good()
    with pytest.raises(ContractError, match=r"latencyMs has 20 samples, 19 were requested") as err:
        dc.parse_result_json(data, MODEL, WHERE, iterations=19)
    assert (err.value.serial, err.value.path) == (SERIAL, PATH)
    with pytest.raises(ContractError, match='peakMemoryKb is "lots"'):
        dc.parse_result_json(json.dumps(good() | {"peakMemoryKb": "lots"}).encode(), MODEL, WHERE)


@pytest.mark.parametrize(
    ("source", "serial", "path"),
    [
        (WHERE, SERIAL, PATH),
        (f"127.0.0.1:5555:{PATH}", "127.0.0.1:5555", PATH),  # a TCP serial holds a colon
        ("reference", "", "reference"),
    ],
)
def test_the_source_splits_into_serial_and_device_path(source: str, serial: str, path: str) -> None:
    with pytest.raises(ContractError) as err:
        dc.parse_result_json(b"[]", MODEL, source)
    assert (err.value.serial, err.value.path) == (serial, path)
    assert str(err.value).startswith(f"{source}: ")


# -- embeddings .npy -------------------------------------------------------------------------------

NPY = f"{SERIAL}:/sdcard/out/embeddings.npy"


def npy(array: np.ndarray, *, version: tuple[int, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array, allow_pickle=True)
    else:
        np.lib.format.write_array(buffer, array, version=version, allow_pickle=True)
    return buffer.getvalue()


def test_npy_round_trip_and_nonfinite_rows_are_kept_for_the_gate() -> None:
    array = np.arange(12, dtype="<f4").reshape(3, 4)
    array[1, 2] = np.nan
    array[2, 0] = np.inf
    parsed = dc.parse_npy(npy(array), NPY, 3, 4)
    np.testing.assert_array_equal(parsed, array)
    assert parsed.dtype == np.float32 and parsed.flags.writeable and parsed.flags.c_contiguous
    assert dc.nonfinite_rows(parsed) == (1, 2)
    assert dc.nonfinite_rows(np.ones((2, 4), np.float32)) == ()


@pytest.mark.parametrize(
    ("data", "field", "line"),
    [
        (
            npy(np.zeros((3, 4), ">f4")),
            "header",
            "expected <f4 (float32, little-endian, C order) [3, 4], got >f4 [3, 4]",
        ),
        (
            npy(np.zeros((3, 4), "<f8")),
            "header",
            "expected <f4 (float32, little-endian, C order) [3, 4], got <f8 [3, 4]",
        ),
        (npy(np.zeros((2, 4), "<f4")), "header", "got <f4 [2, 4]"),
        (npy(np.zeros((3, 4), "<f4", order="F")), "header", "got <f4 Fortran order [3, 4]"),
        (npy(np.array([None] * 12, dtype=object).reshape(3, 4)), "header", "got |O [3, 4]"),
        (npy(np.zeros((3, 4), "<f4"))[:-4], "size", "44 bytes of values, expected 48"),
        (npy(np.zeros((3, 4), "<f4")) + b"\0" * 4, "size", "52 bytes of values, expected 48"),
        (npy(np.zeros((3, 4), "<f4"), version=(2, 0)), "header", "not a .npy v1.0 file"),
        (b"\x93NUMPY\x01\x00\x10\x00{'descr': os.sys", "header", "unreadable .npy header"),
        (b"PK\x03\x04", "header", "not a .npy v1.0 file"),
        (b"\0" * (dc.npy_max_bytes(3, 4) + 1), "size", f"{dc.npy_max_bytes(3, 4) + 1} bytes, more than the"),
    ],
)
def test_hostile_npy_files_are_contract_errors(data: bytes, field: str, line: str) -> None:
    with pytest.raises(ContractError) as err:
        dc.parse_npy(data, NPY, 3, 4)
    assert err.value.field == field
    assert str(err.value).startswith(f"{NPY}: ") and line in str(err.value)


def test_an_npy_claiming_a_huge_shape_is_refused_without_allocating_it() -> None:
    buffer = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": (3, 10**12)}
    np.lib.format.write_array_header_1_0(buffer, header)  # a 12 TB array's header, no values
    with pytest.raises(ContractError, match=r"got <f4 \[3, 1000000000000\]"):
        dc.parse_npy(buffer.getvalue(), NPY, 3, 4)


# -- token ids -------------------------------------------------------------------------------------

IDS = f"{SERIAL}:/sdcard/out/token_ids_e2e.json"


def test_token_ids_round_trip() -> None:
    ids = [[101, 7592, 102], [], [0, 2**31 - 1]]
    assert dc.parse_token_ids(json.dumps(ids).encode(), IDS, 3) == ids


@pytest.mark.parametrize(
    ("ids", "field", "line"),
    [
        ([[101], [102]], "json", "2 lists of token ids, expected 3 (one per text)"),
        ([[101]] * 4, "json", "json has 4 items, more than 3"),
        ({"0": [101]}, "json", "json is an object of 1, expected a list"),
        ([[101], [102], 103], "[2]", "[2] is 103, expected a list"),
        ([[101], [102], [-1]], "[2][0]", "[2][0] is -1, outside 0..2147483647"),
        ([[101], [102], [2**31]], "[2][0]", "[2][0] is 2147483648, outside 0..2147483647"),
        ([[101], [102], [1.5]], "[2][0]", "[2][0] is 1.5, expected an integer"),
        ([[101], [102], ["7"]], "[2][0]", '[2][0] is "7", expected an integer'),
        ([[101], [102], [True]], "[2][0]", "[2][0] is true, expected an integer"),
    ],
)
def test_hostile_token_ids_are_contract_errors(ids: Any, field: str, line: str) -> None:
    with pytest.raises(ContractError) as err:
        dc.parse_token_ids(json.dumps(ids).encode(), IDS, 3)
    assert str(err.value) == f"{IDS}: {line}"
    assert err.value.field == field


def test_token_ids_size_and_constants_are_bounded() -> None:
    with pytest.raises(ContractError, match="more than the"):
        dc.parse_token_ids(b" " * (dc.token_ids_max_bytes(1) + 1), IDS, 1)
    with pytest.raises(ContractError, match=r"\[0\]\[0\] is NaN, expected an integer"):
        dc.parse_token_ids(b"[[NaN]]", IDS, 1)


def test_contract_md_has_a_rule_for_every_result_json_key() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "device_tests" / "CONTRACT.md").read_text(encoding="utf-8")
    section = text.split("### Validating what the device writes", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`(\w+)`", row.split(" | ")[0])}
    assert named >= (dc.RESULT_KEYS | dc.OPTIONAL_RESULT_KEYS) - {"contract"}
    assert all(f"`{test}`" in section for test in dc.CHAPTER_TESTS)
    assert f"at most {dc.RESULT_JSON_MAX_BYTES // 1024 // 1024} MiB" in section
