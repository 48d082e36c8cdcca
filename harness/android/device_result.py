"""What the device writes (device_tests/CONTRACT.md "Validating what the device writes"), read
on the host: result.json, the embeddings .npy files and token_ids_e2e.json. Untrusted input:
every size is bounded before anything is parsed, every field checked for type and range; a
violation is a ContractError naming the device file and the field, on one line. The contract's
version and the request's chapter thresholds live here too (the parser checks both);
harness.android.contract re-exports every name."""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NoReturn

import numpy as np

from harness.errors import ContractError
from harness.evaluation import chapter

CONTRACT_VERSION = "ava-harness-device/4"


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


# -- what the device writes (CONTRACT.md "Validating what the device writes"): untrusted input.
# Every size is bounded before anything is parsed, every field checked for type and range; a
# violation is a ContractError naming the device file and the field, on one line.

RESULT_JSON_MAX_BYTES = 1024 * 1024
TOKEN_IDS_MAX_BYTES_PER_TEXT = 64 * 1024  # ~9,000 ids of 2**31 - 1
NPY_MAX_HEADER_BYTES = 10 + 0xFFFF  # .npy v1.0: magic, version, a 2-byte header length, the header
MAX_ITERATIONS = 10_000  # RunSettings' bound
MAX_MS = 1e7  # any timing at or above this (2.8 hours) is not a measurement
MAX_PEAK_MEMORY_KB = 2**40
MAX_NAME_CHARS = 128  # ortVersion, executionProvider, abi, a ragRanking id
MAX_ERRORS = 64
MAX_ERROR_CHARS = 8192
MAX_DIMENSION = 1 << 20
TOKEN_ID_LIMIT = 2**31  # token ids are in 0 .. 2**31 - 1
CHAPTER_TESTS = ("test1_loads_with_dimension", "test2_embeddings_valid", "test4_rag_ranking")
RESULT_KEYS = frozenset({"contract", "modelId", "sha256", "loadMs", "latencyMs", "peakMemoryKb", "ortVersion"})
RESULT_KEYS |= {"executionProvider", "abi", "chapterTests", "errors"}
OPTIONAL_RESULT_KEYS = frozenset({"coldMs", "dimension", "ragRanking", "profileMs", "warmupMs", "memoryKb"})
# memoryKb (v4): the process's resident memory around the load and the inferences, in kB (0: unreadable)
MEMORY_KEYS = ("beforeLoad", "peakLoad", "afterLoad", "peakInference")
Chapter = Mapping[str, Any]  # a request's "chapter" (chapter_request())
_PROVIDER_RE = re.compile(r"CPU|NNAPI|XNNPACK|CPU \(fallback from (?:NNAPI|XNNPACK)\)")
_NAME_RE = re.compile(r"[ -~]*")  # printable ASCII
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
# Never in a device string: C0/C1 controls (tab and newline only inside `errors`), lone
# surrogates (no UTF-8 writer can store them) and the bidi controls that reorder a line.
_BAD_TEXT_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class DeviceResult:
    """result.json of one model, validated (parse_device_result). Contract names in comments."""

    model_id: str  # modelId
    sha256: str | None  # None: the model did not load ("")
    load_ms: float | None  # loadMs; None: the model did not load (or a non-finite time)
    cold_ms: float | None  # coldMs; None: absent or null
    latency_ms: tuple[float, ...]  # latencyMs: exactly `iterations` samples, or () when not measured
    peak_memory_kb: int | None  # peakMemoryKb; None: the device could not read it (it wrote 0)
    ort_version: str
    execution_provider: str
    abi: str
    dimension: int | None
    chapter_tests: Mapping[str, bool]  # names from CHAPTER_TESTS, in the device's order
    rag_ranking: tuple[str, ...] | None
    errors: tuple[str, ...]
    profile_ms: float | None = None  # profileMs (v3): the profiled pass's runs, wall time
    warmup_ms: float | None = None  # warmupMs (v4): the warm-up runs together, wall time
    # memoryKb (v4): MEMORY_KEYS -> kB, None where the device could not read it (it wrote 0)
    memory_kb: Mapping[str, int | None] | None = None
    # The validated file under result.json's keys (read-only), for code that still takes a dict.
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


class _NonFinite:
    """A JSON number with no finite value (NaN, Infinity, 1e400), kept for the field's message."""

    def __init__(self, text: str) -> None:
        self.text = text


class _DuplicateKey(ValueError):
    """A key twice in one JSON object: which value the device meant is unknowable."""


def _finite_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _show(value: Any) -> str:
    """A device value in a one-line message: short, ASCII, never the whole of a hostile value."""
    if isinstance(value, _NonFinite):
        return value.text[:40]
    if isinstance(value, list | dict):
        return f"{'a list' if isinstance(value, list) else 'an object'} of {len(value)}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return "an integer of over 40 digits"
    return json.dumps(value[:60] + ("..." if len(value) > 60 else "") if isinstance(value, str) else value)


class _Where:
    """The device file being read: raises its ContractErrors."""

    def __init__(self, source: str) -> None:
        serial, sep, path = source.partition(":/")
        self.serial, self.path = (serial, "/" + path) if sep else ("", source)

    def fail(self, field: str, problem: str) -> NoReturn:
        raise ContractError(self.serial, self.path, field, problem)

    def load_json(self, data: bytes, limit: int) -> Any:
        if len(data) > limit:
            self.fail("size", f"{len(data)} bytes, more than the {limit} allowed")
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as err:
            self.fail("encoding", f"not UTF-8 (byte {err.start})")
        try:
            return json.loads(
                text, parse_float=_finite_float, parse_constant=_NonFinite, object_pairs_hook=_unique_keys
            )
        except _DuplicateKey as err:
            self.fail(str(err)[:60], f"{_show(str(err))} appears twice in one object")
        except RecursionError:
            self.fail("json", "not valid JSON (nested too deeply)")
        except ValueError as err:  # JSONDecodeError, or an integer of over 4300 digits
            self.fail("json", f"not valid JSON ({str(err)[:120]})")

    def number(self, field: str, value: Any, low: float, high: float, *, low_open: bool = False) -> float:
        if isinstance(value, _NonFinite):
            self.fail(field, f"{field} is {_show(value)}, not a finite number")
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(field, f"{field} is {_show(value)}, expected a number")
        if not (low < value if low_open else low <= value) or not value < high:
            self.fail(field, f"{field} is {_show(value)}, outside {'(' if low_open else '['}{low:g}, {high:g})")
        return float(value)

    def integer(self, field: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"{field} is {_show(value)}, expected an integer")
        if not low <= value <= high:
            self.fail(field, f"{field} is {_show(value)}, outside {low}..{high}")
        return value

    def text(self, field: str, value: Any, limit: int, *, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str):
            self.fail(field, f"{field} is {_show(value)}, expected a string")
        if len(value) > limit:
            self.fail(field, f"{field} has {len(value)} characters, more than {limit}")
        bad = _BAD_TEXT_RE.search(value)
        if (pattern is None and bad) or (pattern is not None and not pattern.fullmatch(value)):
            self.fail(field, f"{field} is {_show(value)}, " + ("not plain text" if bad else "not a valid value"))
        return value

    def array(self, field: str, value: Any, limit: int) -> list[Any]:
        if not isinstance(value, list):
            self.fail(field, f"{field} is {_show(value)}, expected a list")
        if len(value) > limit:
            self.fail(field, f"{field} has {len(value)} items, more than {limit}")
        return value


def parse_device_result(
    data: bytes,
    *,
    serial: str,
    path: str,
    model_id: str,
    iterations: int,
    request_chapter: Chapter | None = None,
) -> DeviceResult:
    """Validate result.json (the rules in CONTRACT.md) from `serial`'s `path`, for the model asked
    for and the iterations asked for; `request_chapter` is the request's "chapter" (default: the
    one build_request sends). Raises ContractError on the first rule broken."""
    if isinstance(iterations, bool) or not isinstance(iterations, int) or not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations = {iterations!r}: expected 1..{MAX_ITERATIONS}")
    at = _Where(f"{serial}:{path}" if serial else path)
    return _parse_result(data, at, model_id, iterations, request_chapter)


def _parse_result(
    data: bytes, at: _Where, model_id: str, iterations: int | None, request_chapter: Chapter | None
) -> DeviceResult:
    raw = at.load_json(data, RESULT_JSON_MAX_BYTES)
    if not isinstance(raw, dict):
        at.fail("json", f"result.json is {_show(raw)}, expected an object")
    if raw.get("contract") != CONTRACT_VERSION:
        at.fail("contract", f"contract is {_show(raw.get('contract'))}, not {CONTRACT_VERSION}")
    for key in raw:
        if key not in RESULT_KEYS | OPTIONAL_RESULT_KEYS:
            at.fail(key[:60], f"unknown key {_show(key)} (contract {CONTRACT_VERSION} has no such field)")
    for key in sorted(RESULT_KEYS - raw.keys()):
        at.fail(key, f"{key} is missing")
    if raw["modelId"] != model_id:
        at.fail("modelId", f"modelId is {_show(raw['modelId'])}, expected {model_id}")

    errors = tuple(
        at.text(f"errors[{i}]", e, MAX_ERROR_CHARS) for i, e in enumerate(at.array("errors", raw["errors"], MAX_ERRORS))
    )
    load_ms = None if raw["loadMs"] is None else at.number("loadMs", raw["loadMs"], 0, MAX_MS)
    if load_ms is None and not errors:
        at.fail("loadMs", "loadMs is null (the model did not load) but errors is empty")
    sha256 = at.text("sha256", raw["sha256"], 64)
    if sha256 and not _SHA256_RE.fullmatch(sha256):
        at.fail("sha256", f"sha256 is {_show(sha256)}, expected 64 lowercase hex digits")
    if not sha256 and load_ms is not None:
        at.fail("sha256", "sha256 is empty but loadMs says the model loaded")
    profile = raw.get("profileMs")
    profile_ms = None if profile is None else at.number("profileMs", profile, 0, MAX_MS)
    warmup = raw.get("warmupMs")
    warmup_ms = None if warmup is None else at.number("warmupMs", warmup, 0, MAX_MS)
    memory = None if raw.get("memoryKb") is None else _memory(at, raw["memoryKb"])
    cold = raw.get("coldMs")
    cold_ms = None if cold is None else at.number("coldMs", cold, 0, MAX_MS)

    samples = at.array("latencyMs", raw["latencyMs"], MAX_ITERATIONS)
    if iterations is not None and samples and len(samples) != iterations:
        at.fail("latencyMs", f"latencyMs has {len(samples)} samples, {iterations} were requested")
    if not samples and not errors:
        at.fail("latencyMs", "latencyMs is empty (not measured) but errors is empty")
    latency = tuple(at.number(f"latencyMs[{i}]", v, 0, MAX_MS, low_open=True) for i, v in enumerate(samples))

    peak = at.integer("peakMemoryKb", raw["peakMemoryKb"], 0, MAX_PEAK_MEMORY_KB)
    ort_version = at.text("ortVersion", raw["ortVersion"], MAX_NAME_CHARS, pattern=_NAME_RE)
    provider = at.text("executionProvider", raw["executionProvider"], MAX_NAME_CHARS, pattern=_PROVIDER_RE)
    abi = at.text("abi", raw["abi"], MAX_NAME_CHARS, pattern=_NAME_RE)
    dimension = None if "dimension" not in raw else at.integer("dimension", raw["dimension"], 1, MAX_DIMENSION)

    tests = raw["chapterTests"]
    if not isinstance(tests, dict):
        at.fail("chapterTests", f"chapterTests is {_show(tests)}, expected an object")
    for name, passed in tests.items():
        if name not in CHAPTER_TESTS:
            at.fail("chapterTests", f"chapterTests has unknown test {_show(name)}")
        if not isinstance(passed, bool):
            at.fail(f"chapterTests.{name}", f"chapterTests.{name} is {_show(passed)}, expected true or false")
    if "test1_loads_with_dimension" in tests and dimension is None:
        at.fail("dimension", "dimension is missing but chapterTests.test1_loads_with_dimension is set")

    rag = (request_chapter or chapter_request())["rag"]
    ranking = None
    if "ragRanking" in raw:
        ids = at.array("ragRanking", raw["ragRanking"], len(rag["documents"]))
        ranking = tuple(at.text(f"ragRanking[{i}]", v, MAX_NAME_CHARS) for i, v in enumerate(ids))
        if sorted(ranking) != sorted(rag["documents"]):
            at.fail("ragRanking", f"ragRanking is not an order of the request's documents {sorted(rag['documents'])}")
    if "test4_rag_ranking" in tests:
        if ranking is None:
            at.fail("ragRanking", "ragRanking is missing but chapterTests.test4_rag_ranking is set")
        if tests["test4_rag_ranking"] != (ranking[0] == rag["expectedFirst"]):
            at.fail(
                "chapterTests.test4_rag_ranking",
                f"chapterTests.test4_rag_ranking is {_show(tests['test4_rag_ranking'])} but ragRanking ranks "
                f"{_show(ranking[0])} first (expected first: {_show(rag['expectedFirst'])})",
            )
    return DeviceResult(
        model_id=model_id,
        sha256=sha256 or None,
        load_ms=load_ms,
        cold_ms=cold_ms,
        latency_ms=latency,
        peak_memory_kb=peak or None,
        ort_version=ort_version,
        execution_provider=provider,
        abi=abi,
        dimension=dimension,
        chapter_tests=MappingProxyType(dict(tests)),
        rag_ranking=ranking,
        errors=errors,
        profile_ms=profile_ms,
        warmup_ms=warmup_ms,
        memory_kb=memory,
        raw=MappingProxyType(raw),
    )


def _memory(at: _Where, value: Any) -> Mapping[str, int | None]:
    """memoryKb (v4): exactly MEMORY_KEYS, integers in 0..MAX_PEAK_MEMORY_KB (0: unreadable); a
    phase's peak is never below the resident size it started from when both were read."""
    if not isinstance(value, dict):
        at.fail("memoryKb", f"memoryKb is {_show(value)}, expected an object")
    for key in value:
        if key not in MEMORY_KEYS:
            at.fail("memoryKb", f"memoryKb has unknown key {_show(key)}")
    kb: dict[str, int | None] = {}
    for key in MEMORY_KEYS:
        if key not in value:
            at.fail(f"memoryKb.{key}", f"memoryKb.{key} is missing")
        kb[key] = at.integer(f"memoryKb.{key}", value[key], 0, MAX_PEAK_MEMORY_KB) or None
    for peak, start in (("peakLoad", "beforeLoad"), ("peakInference", "afterLoad")):
        low, high = kb[start], kb[peak]
        if low is not None and high is not None and high < low:
            at.fail(f"memoryKb.{peak}", f"memoryKb.{peak} is {high}, below memoryKb.{start} ({low})")
    return MappingProxyType(kb)


def parse_result_json(
    data: bytes, model_id: str, source: str, *, iterations: int | None = None, request_chapter: Chapter | None = None
) -> dict[str, Any]:
    """The old entry point, kept until device_run calls parse_device_result: the same validation,
    the result as a plain dict under result.json's keys. Without `iterations` the sample count is
    only bounded (1..MAX_ITERATIONS), not checked: pass it, or better, call parse_device_result."""
    return dict(_parse_result(data, _Where(source), model_id, iterations, request_chapter).raw)


def npy_max_bytes(rows: int, dimension: int) -> int:
    """The largest embeddings .npy the contract allows for `rows` x `dimension` (a read limit)."""
    return NPY_MAX_HEADER_BYTES + rows * dimension * 4


def token_ids_max_bytes(rows: int) -> int:
    """The largest token_ids_e2e.json accepted for `rows` texts (a read limit)."""
    return 2 + rows * TOKEN_IDS_MAX_BYTES_PER_TEXT


def parse_npy(data: bytes, source: str, rows: int, dimension: int) -> np.ndarray:
    """An embeddings .npy: v1.0, `<f4`, C order, exactly [rows, dimension] and nothing after the
    values. The header is read without np.load, the values with np.frombuffer: nothing the device
    wrote can make the host allocate more than npy_max_bytes. Non-finite values are kept (the
    model's failure, gated by the comparison): nonfinite_rows() finds them."""
    at = _Where(source)
    if len(data) > npy_max_bytes(rows, dimension):
        at.fail("size", f"{len(data)} bytes, more than the {npy_max_bytes(rows, dimension)} allowed")
    if len(data) < 10 or bytes(data[:8]) != b"\x93NUMPY\x01\x00":
        at.fail("header", "not a .npy v1.0 file")
    stream = io.BytesIO(data)
    stream.seek(8)
    try:
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream, max_header_size=0xFFFF)
    except Exception as err:  # numpy's header reader raises what ast and tokenize raise
        at.fail("header", f"unreadable .npy header ({type(err).__name__})")
    if dtype != np.dtype("<f4") or fortran or shape != (rows, dimension):
        got = f"{dtype.str}{' Fortran order' if fortran else ''} {list(shape)}"
        at.fail("header", f"expected <f4 (float32, little-endian, C order) [{rows}, {dimension}], got {got}")
    if len(data) - stream.tell() != rows * dimension * 4:
        at.fail("size", f"{len(data) - stream.tell()} bytes of values, expected {rows * dimension * 4}")
    return np.frombuffer(data, dtype="<f4", offset=stream.tell()).reshape(rows, dimension).astype(np.float32)


def nonfinite_rows(array: np.ndarray) -> tuple[int, ...]:
    """Rows (texts, 0-based) holding a NaN or an infinity: cheap, for the comparison's gate."""
    return tuple(int(i) for i in np.flatnonzero(~np.isfinite(array).all(axis=1)))


def parse_token_ids(data: bytes, source: str, rows: int) -> list[list[int]]:
    """token_ids_e2e.json: exactly `rows` lists of integers in 0 .. 2**31 - 1."""
    at = _Where(source)
    ids = at.array("json", at.load_json(data, token_ids_max_bytes(rows)), rows)
    if len(ids) != rows:
        at.fail("json", f"{len(ids)} lists of token ids, expected {rows} (one per text)")
    for i, row in enumerate(ids):
        for j, token in enumerate(at.array(f"[{i}]", row, TOKEN_IDS_MAX_BYTES_PER_TEXT)):
            at.integer(f"[{i}][{j}]", token, 0, TOKEN_ID_LIMIT - 1)
    return ids
