"""A copy of a SignoffRun that every report writer can read without raising: each field of the
right type, whatever a device put in it. The writers render `sanitized(run)`, never the run itself.

What changes (nothing, for a well-formed run): a string field holds a string (None -> "", controls
other than tab and newline removed, lone surrogates replaced, at most STR_LIMIT characters); a
dict field holds a dict with string keys and JSON-like values (sets and tuples become lists, bytes
and unknown objects their bounded text, nesting deeper than DEPTH_LIMIT its text); a list field
holds a list; an int beyond +-2**63 becomes a float (inf when it overflows: null in JSON, "—" in a
cell). Typed as numbers, numbers they are (schemas/): a figure (dict[str, float], list[float])
is a number or None, a count or size (int) an int or None (20.0 -> 20), a dict[str, bool] holds
booleans (anything else is False). A record that is not a record (None in a list of gates)
becomes one that fails, so a broken list can never read as a pass. NaN and inf stay: the
formatters and the JSON policy (harness.fileio.json_safe) already turn them into "—" and null."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from harness.gates import Gate
from harness.reports.formatting import as_text, clean_text
from harness.signoff.results import DeviceRun, HostModel, ModelOnDevice, SignoffRun

STR_LIMIT = 20_000  # signoff.json keeps this much of a device's error text
KEY_LIMIT = 200
DEPTH_LIMIT = 12
_INT_LIMIT = 2**63

_RECORDS: dict[str, type] = {
    "Gate": Gate,
    "ModelOnDevice": ModelOnDevice,
    "DeviceRun": DeviceRun,
    "HostModel": HostModel,
}


_MARK = "_reports_sanitized"  # set on a copy this module made, so the writers clean a run once


def sanitized(run: SignoffRun) -> SignoffRun:
    """A cleaned deep copy of `run` (see the module docstring); `run` itself when it is such a
    copy already. Never raises."""
    if isinstance(run, SignoffRun) and getattr(run, _MARK, False):
        return run
    clean = _record(SignoffRun, run)
    if not isinstance(clean, SignoffRun):
        clean = _placeholder(SignoffRun, run)
    setattr(clean, _MARK, True)
    return clean


def text(value: Any, limit: int = STR_LIMIT) -> str:
    return clean_text(value, limit)


def number(value: Any) -> Any:
    """A scalar as JSON-like data: bool, int (bounded), float, None, or bounded text."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        if abs(value) < _INT_LIMIT:
            return value
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        return text(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        try:
            return data(value.tolist() if hasattr(value, "shape") and value.shape else value.item())
        except Exception:
            return text(value, KEY_LIMIT)
    return text(value, KEY_LIMIT)


def figure(value: Any) -> int | float | None:
    """A measured figure: a number (a numpy scalar as its Python number), or None for anything
    that is not one (text, a bool, a list): the schema says figures are numbers."""
    value = number(value)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def count(value: Any) -> int | None:
    """A count or size: an int, an integral float as its int (20.0 -> 20), None otherwise."""
    value = figure(value)
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() and abs(value) < _INT_LIMIT else None
    return value


def data(value: Any, depth: int = 0) -> Any:
    """Any value as JSON-like data (dict with str keys, list, scalar), bounded in depth."""
    if depth > DEPTH_LIMIT:
        return text(value, KEY_LIMIT)
    if isinstance(value, dict):
        try:
            items = list(value.items())
        except Exception:
            return {}
        return {text(k, KEY_LIMIT): data(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        try:
            return [data(v, depth + 1) for v in value]
        except Exception:
            return []
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        try:
            return data(dataclasses.asdict(value), depth + 1)
        except Exception:
            return text(value, KEY_LIMIT)
    return number(value)


def flag(value: Any) -> bool:
    """bool(value), False when there is no truth value (a numpy array, a hostile __bool__)."""
    try:
        return bool(value)
    except Exception:
        return False


def _field(annotation: str, value: Any) -> Any:
    kind = annotation.replace(" ", "")
    if kind.startswith("list["):
        inner = kind[5:-1]
        if not isinstance(value, list | tuple):
            return []
        if inner in _RECORDS:
            return [_record(_RECORDS[inner], item) for item in value]
        if inner == "float":
            return [figure(item) for item in value]
        return [data(item, 1) for item in value]
    if kind.startswith("dict["):
        if not isinstance(value, dict):
            return {}
        cleaned = data(value)
        if kind == "dict[str,str]":
            return {k: text(v) for k, v in cleaned.items()}
        if kind == "dict[str,float]":
            return {k: figure(v) for k, v in cleaned.items()}
        if kind == "dict[str,bool]":
            # A device's "false" is not a pass: only a real boolean is one.
            return {k: v if isinstance(v, bool) else False for k, v in cleaned.items()}
        return cleaned
    if kind == "bool":
        return flag(value)
    if kind == "str":
        return text(value)
    if kind == "str|None":
        return None if value is None else text(value)
    if kind in ("int", "int|None"):
        return count(value)
    if kind == "float":
        return figure(value)
    if kind == "float|bool|str|None":  # a gate's value or threshold: a scalar, never a list
        scalar = number(value)
        return text(value, KEY_LIMIT) if isinstance(scalar, list | dict) else scalar
    return data(value)


def _record(cls: type, value: Any) -> Any:
    if not isinstance(value, cls):
        return _placeholder(cls, value)
    try:
        return cls(**{f.name: _guarded(f, value) for f in dataclasses.fields(cls) if f.init})
    except Exception as err:
        return _placeholder(cls, value, err)


def _guarded(spec: dataclasses.Field, record: Any) -> Any:
    """One field, cleaned; if even that fails, the field's empty value, so one bad field never
    costs the record (and a device never costs the run)."""
    annotation = str(spec.type)
    try:
        return _field(annotation, getattr(record, spec.name, None))
    except Exception as err:
        kind = annotation.replace(" ", "")
        if kind.startswith("list["):
            return []
        if kind.startswith("dict["):
            return {}
        if kind == "bool":
            return False
        if kind == "str":
            return text(f"<unreadable: {type(err).__name__}>")
        return None


def _placeholder(cls: type, value: Any, err: Exception | None = None) -> Any:
    """A record standing for one that could not be read: it fails, with the reason."""
    what = f"invalid {cls.__name__} record ({type(value).__name__}" + (f": {as_text(err)[:200]}" if err else "") + ")"
    what = text(what, KEY_LIMIT)
    if cls is Gate:
        return Gate(name="invalid_gate", passed=False, detail=what)
    if cls is ModelOnDevice:
        model_id = text(getattr(value, "model_id", "?"), KEY_LIMIT) or "?"
        return ModelOnDevice(model_id=model_id, variant="", sha256="", size_bytes=0, error=what)
    if cls is DeviceRun:
        serial = text(getattr(value, "serial", "?"), KEY_LIMIT) or "?"
        return DeviceRun(serial=serial, status="error", error=what)
    if cls is HostModel:
        model_id = text(getattr(value, "model_id", "?"), KEY_LIMIT) or "?"
        return HostModel(model_id, "", "", 0, 0, gates=[Gate("invalid_host_model", False, detail=what)])
    return SignoffRun(
        run_id=text(getattr(value, "run_id", "unknown"), KEY_LIMIT),
        created_at="",
        harness_version="",
        onnxruntime_version="",
        texts=[],
        devices=[DeviceRun(serial="run", status="error", error=what)],
    )
