"""The one JSON write policy: strict JSON, non-finite floats as null, numpy and Paths converted."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from harness.fileio import dumps_json, json_safe, write_json_atomic


def _strict_load(text: str) -> object:
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), np.float32("nan"), np.float64("inf")])
def test_non_finite_floats_become_null(value: float) -> None:
    assert json_safe(value) is None
    assert _strict_load(dumps_json({"x": value})) == {"x": None}


def test_finite_values_pass_through_unchanged() -> None:
    data = {"a": 1, "b": 0.25, "c": "s", "d": None, "e": True, "f": [1, 2.5], "g": {"h": -0.0}}
    assert json_safe(data) == data
    assert _strict_load(dumps_json(data)) == data


def test_numpy_scalars_and_arrays_become_python_types() -> None:
    data = {
        "i": np.int64(3),
        "f": np.float32(0.5),
        "b": np.bool_(True),
        "arr": np.array([[1.0, np.nan], [np.inf, 2.0]]),
        "zero_d": np.array(7),
    }
    safe = json_safe(data)
    assert safe == {"i": 3, "f": 0.5, "b": True, "arr": [[1.0, None], [None, 2.0]], "zero_d": 7}
    assert [type(safe[k]) for k in ("i", "f", "b", "zero_d")] == [int, float, bool, int]


def test_paths_tuples_and_keys() -> None:
    assert json_safe({"p": Path("/tmp/x.onnx"), "t": (1, (2, 3)), 4: "four"}) == {
        "p": "/tmp/x.onnx",
        "t": [1, [2, 3]],
        "4": "four",
    }


def test_unknown_types_are_an_error_not_a_repr() -> None:
    with pytest.raises(TypeError, match="set"):
        dumps_json({"s": {1, 2}})


def test_write_json_atomic_writes_strict_indented_json(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "out.json"
    write_json_atomic(path, {"spearman": math.nan, "n": np.int32(2)})
    text = path.read_text()
    assert text == '{\n  "spearman": null,\n  "n": 2\n}\n'
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.json"]  # no partial file left behind
