"""Contract v4's start-up and memory fields of result.json (warmupMs, memoryKb): what the host
accepts, every hostile value refused by name on one line, and the summary signoff.json carries
(harness.signoff.startup). No device."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.android import contract as dc
from harness.errors import ContractError
from harness.signoff.startup import startup_summary
from tests.android.test_device_output import PATH, SERIAL, WHERE, good, parse

MEMORY = {"beforeLoad": 60120, "peakLoad": 142200, "afterLoad": 131900, "peakInference": 140010}


def v4(**changes: Any) -> dict[str, Any]:
    result = good() | {"warmupMs": 10.4, "memoryKb": dict(MEMORY)}
    result.update(changes)
    return result


def memory(**changes: Any) -> dict[str, Any]:
    return dict(MEMORY) | changes


def test_a_v4_result_is_read_with_its_start_up_and_memory() -> None:
    result = parse(v4())
    assert result.warmup_ms == 10.4
    assert dict(result.memory_kb) == MEMORY
    summary = startup_summary(result, warmup_runs=3)
    assert summary["load_ms"] == 412.5 and summary["cold_ms"] == 35.1 and summary["warmup_ms"] == 10.4
    assert summary["warmup_runs"] == 3 and summary["samples"] == 20
    assert summary["p50_ms"] == pytest.approx(3.1 + 9.5 / 100)
    assert summary["p50_ms"] <= summary["p90_ms"] <= summary["p99_ms"] <= 3.1 + 19 / 100
    assert summary["load_delta_kb"] == 142200 - 60120
    assert summary["inference_delta_kb"] == 140010 - 131900
    assert summary["memory_kb"] == {
        "before_load": 60120,
        "peak_load": 142200,
        "after_load": 131900,
        "peak_inference": 140010,
    }


def test_the_v4_fields_are_optional_and_zero_means_unread() -> None:
    plain = parse(good())
    assert plain.warmup_ms is None and plain.memory_kb is None
    summary = startup_summary(plain, warmup_runs=3)
    assert summary["memory_kb"] is None and summary["load_delta_kb"] is None and summary["warmup_ms"] is None
    assert parse(v4(warmupMs=None, memoryKb=None)).memory_kb is None
    unread = parse(v4(memoryKb=memory(beforeLoad=0, peakInference=0)))
    assert unread.memory_kb["beforeLoad"] is None and unread.memory_kb["peakInference"] is None
    summary = startup_summary(unread, warmup_runs=0)
    assert summary["load_delta_kb"] is None and summary["inference_delta_kb"] is None
    assert summary["memory_kb"]["peak_load"] == 142200


HOSTILE = [
    (v4(warmupMs=-1.0), "warmupMs", "warmupMs is -1.0, outside [0, 1e+07)"),
    (v4(warmupMs=1e7), "warmupMs", "warmupMs is 10000000.0, outside [0, 1e+07)"),
    (v4(warmupMs="10"), "warmupMs", 'warmupMs is "10", expected a number'),
    (v4(warmupMs=True), "warmupMs", "warmupMs is true, expected a number"),
    (v4(memoryKb=[1, 2, 3, 4]), "memoryKb", "memoryKb is a list of 4, expected an object"),
    (v4(memoryKb=142200), "memoryKb", "memoryKb is 142200, expected an object"),
    (v4(memoryKb=memory(swap=1)), "memoryKb", 'memoryKb has unknown key "swap"'),
    (
        v4(memoryKb={k: v for k, v in MEMORY.items() if k != "afterLoad"}),
        "memoryKb.afterLoad",
        "memoryKb.afterLoad is missing",
    ),
    (v4(memoryKb=memory(peakLoad=-1)), "memoryKb.peakLoad", "memoryKb.peakLoad is -1, outside 0..1099511627776"),
    (
        v4(memoryKb=memory(peakLoad=2**40 + 1)),
        "memoryKb.peakLoad",
        "memoryKb.peakLoad is 1099511627777, outside 0..1099511627776",
    ),
    (
        v4(memoryKb=memory(beforeLoad=60120.0)),
        "memoryKb.beforeLoad",
        "memoryKb.beforeLoad is 60120.0, expected an integer",
    ),
    (v4(memoryKb=memory(afterLoad=True)), "memoryKb.afterLoad", "memoryKb.afterLoad is true, expected an integer"),
    (
        v4(memoryKb=memory(peakInference=None)),
        "memoryKb.peakInference",
        "memoryKb.peakInference is null, expected an integer",
    ),
    (
        v4(memoryKb=memory(peakInference="140010")),
        "memoryKb.peakInference",
        'memoryKb.peakInference is "140010", expected an integer',
    ),
    (
        v4(memoryKb=memory(peakLoad=60000)),
        "memoryKb.peakLoad",
        "memoryKb.peakLoad is 60000, below memoryKb.beforeLoad (60120)",
    ),
    (
        v4(memoryKb=memory(peakInference=131899)),
        "memoryKb.peakInference",
        "memoryKb.peakInference is 131899, below memoryKb.afterLoad (131900)",
    ),
    (
        v4(memoryKb=memory(peakLoad=10**400)),
        "memoryKb.peakLoad",
        "memoryKb.peakLoad is an integer of over 40 digits, outside 0..1099511627776",
    ),
]


@pytest.mark.parametrize(("result", "field", "line"), HOSTILE, ids=[h[2][:60] for h in HOSTILE])
def test_hostile_start_up_and_memory_values_are_contract_errors(result: dict, field: str, line: str) -> None:
    with pytest.raises(ContractError) as err:
        parse(result)
    assert str(err.value) == f"{WHERE}: {line}"
    assert (err.value.serial, err.value.path, err.value.field) == (SERIAL, PATH, field)


NON_FINITE = [
    ("warmupMs", "NaN", "warmupMs is NaN, not a finite number"),
    ("warmupMs", "1e400", "warmupMs is 1e400, not a finite number"),
    ("peakLoad", "Infinity", "memoryKb.peakLoad is Infinity, expected an integer"),
]


@pytest.mark.parametrize(("field", "literal", "line"), NON_FINITE)
def test_non_finite_start_up_values_are_refused(field: str, literal: str, line: str) -> None:
    result = v4()
    if field == "peakLoad":
        result["memoryKb"]["peakLoad"] = "@@"
    else:
        result[field] = "@@"
    data = json.dumps(result).encode().replace(b'"@@"', literal.encode())
    with pytest.raises(ContractError) as err:
        parse(data)
    assert str(err.value) == f"{WHERE}: {line}"


def test_a_v3_result_is_refused() -> None:
    with pytest.raises(ContractError, match='contract is "ava-harness-device/3", not ava-harness-device/4'):
        parse(v4(contract="ava-harness-device/3"))
    assert dc.MEMORY_KEYS == ("beforeLoad", "peakLoad", "afterLoad", "peakInference")
