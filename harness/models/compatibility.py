"""Which ONNX Runtime a model file needs, checked against the device's before anything is pushed.

A quantization recipe can emit operators that an older onnxruntime-android cannot load
(`MatMulNBits` with bits=8, 8-bit `GatherBlockQuantized`), and a converter can stamp a newer
opset or IR version than the app's runtime knows. The device then fails at `createSession`, after
the push and the instrumentation, with an error that names neither the op nor the version that
would have run it. Here the file's own graph is read (op types, domains, the attributes that pick
a kernel, the opset and IR versions) and each need is looked up in a table of the first ONNX
Runtime release that runs it on the CPU execution provider of an arm64 phone; a need that the
device's version misses is one line naming the op and the version needed (OrtTooOldError, exit 2).

The device's version is known for certain only after a run (result.json's `ortVersion`), so the
check before the push uses the app's declared version (`--device-ort-version`, by default the
onnxruntime-android the Gradle snippet pins) and the run's reported version is checked again
afterwards (`reported_version_gate`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.gates import Gate
from harness.settings import PROJECT_ROOT

Version = tuple[int, int, int]

# The app's build file snippet; its onnxruntime-android pin is the default device version.
GRADLE_SNIPPET = PROJECT_ROOT / "device_tests" / "android" / "gradle-snippet.gradle.kts"
_PIN = re.compile(r"com\.microsoft\.onnxruntime:onnxruntime-android:([0-9][0-9A-Za-z.\-+]*)")

# The gate a run's reported version fails when it is older than a model needs.
GATE_DEVICE_ORT = "device_onnxruntime_version"

_MATRIX = "ONNX Runtime version matrix (onnxruntime.ai/docs/reference/compatibility.html, docs/Versioning.md)"

# Default-domain opset -> the first ONNX Runtime release implementing it (source: _MATRIX). A
# model stamped with a newer opset than its runtime knows is refused at load ("opset N is under
# development"), even when every op in it is old: the INT4 quantizer's output needs opset 21.
OPSET_MIN_ORT: dict[int, str] = {
    11: "1.0.0",
    12: "1.3.0",
    13: "1.6.0",
    14: "1.8.0",
    15: "1.9.0",
    16: "1.11.0",
    17: "1.12.0",
    18: "1.14.0",
    19: "1.15.0",
    20: "1.17.0",
    21: "1.18.0",
    22: "1.21.0",
    23: "1.23.0",
}

# ONNX IR version -> the first ONNX Runtime release that loads it (source: _MATRIX's "supported
# IR version" column and the ONNX release that introduced each IR version: 8 in ONNX 1.10, 9 in
# 1.14, 10 in 1.16, 11 in 1.18). `onnx.save` of a recent onnx stamps its newest IR version.
IR_MIN_ORT: dict[int, str] = {7: "1.6.0", 8: "1.10.0", 9: "1.15.0", 10: "1.18.0", 11: "1.23.0"}


@dataclass(frozen=True)
class OpRule:
    """An op (with these attribute values, when given) runs on ONNX Runtime >= min_ort."""

    domain: str  # "" is the default ONNX domain (ai.onnx)
    op_type: str
    min_ort: str
    source: str
    when: tuple[tuple[str, object], ...] = ()  # feature name -> value (attributes and "data_type")


_MS = "com.microsoft"
_PR = "github.com/microsoft/onnxruntime/pull/"
OP_RULES: tuple[OpRule, ...] = (
    # Dynamic INT8 (what `quantize_dynamic` emits): ONNX ops of opsets 10 and 11.
    OpRule("", "DynamicQuantizeLinear", "1.0.0", f"ai.onnx opset 11; {_MATRIX}: 1.0.0 implements opset 11"),
    OpRule("", "MatMulInteger", "1.0.0", f"ai.onnx opset 10; {_MATRIX}"),
    OpRule("", "QuantizeLinear", "1.0.0", "ai.onnx opset 10 (per-axis 13, blocked/int4 21: see the opset rule)"),
    OpRule("", "DequantizeLinear", "1.0.0", "ai.onnx opset 10 (per-axis 13, blocked/int4 21: see the opset rule)"),
    OpRule("", "QLinearMatMul", "1.0.0", f"ai.onnx opset 10; {_MATRIX}"),
    # Fused forms ORT's own optimizer makes (a file saved after optimization carries them).
    OpRule(_MS, "DynamicQuantizeMatMul", "1.5.0", f"contrib op with bias since {_PR}4350 (2020-06)"),
    OpRule(_MS, "MatMulIntegerToFloat", "1.7.0", f"contrib op fused since {_PR}5871 (2020-11)"),
    # Weight-only block quantization. bits defaults to 4 (the op schema's default).
    OpRule(
        _MS,
        "MatMulNBits",
        "1.17.0",
        f"contrib op and 4-bit CPU kernel: {_PR}17890 (2023-10); ARM64 int8-compute kernel"
        f" (accuracy_level=4) {_PR}18953 (2023-12); both in 1.17.0",
        (("bits", 4),),
    ),
    OpRule(
        _MS,
        "MatMulNBits",
        "1.23.0",
        f"8-bit weights: quantizer {_PR}24384 and x86 kernel {_PR}24491 (release 1.22.0); the ARM64 8-bit"
        f" kernel {_PR}25110 is in release 1.23.0",
        (("bits", 8),),
    ),
    OpRule(
        _MS,
        "GatherBlockQuantized",
        "1.20.0",
        f"contrib op, int4/uint4 data, CPU: {_PR}21630 (2024-08, after the 1.19 branch)",
    ),
    OpRule(
        _MS,
        "GatherBlockQuantized",
        "1.22.0",
        f"uint8 data (4-bit packed, shared with MatMulNBits): {_PR}24239 (2025-03)",
        (("data_type", "UINT8"),),
    ),
    OpRule(
        _MS,
        "GatherBlockQuantized",
        "1.23.0",
        f"bits=8 and zero points for uint8 data: {_PR}25214 (2025-07)",
        (("bits", 8),),
    ),
)

# Attribute defaults from the op schemas (onnxruntime's get_all_operator_schema), so a node that
# leaves one out is matched as the runtime reads it.
_DEFAULTS: dict[tuple[str, str], dict[str, object]] = {
    (_MS, "MatMulNBits"): {"bits": 4, "accuracy_level": 0},
    (_MS, "GatherBlockQuantized"): {"bits": 4, "block_size": 128},
}
# The attributes that pick a kernel (what the report and the .quant.json show per op).
_KEY_ATTRIBUTES: dict[tuple[str, str], tuple[str, ...]] = {
    (_MS, "MatMulNBits"): ("bits", "block_size", "accuracy_level"),
    (_MS, "GatherBlockQuantized"): ("bits", "block_size", "data_type"),
}
# Attribute values some rule was written for: another value (bits=2, say) is not in the table.
_KNOWN_VALUES: dict[tuple[str, str, str], frozenset[object]] = {
    (_MS, "MatMulNBits", "bits"): frozenset({4, 8}),
    (_MS, "GatherBlockQuantized", "bits"): frozenset({4, 8}),
}


def parse_version(text: str) -> Version | None:
    """'1.20.0', '1.20', '1.23.2-rc1' -> (1, 20, 0) ...; None when it is not a version."""
    match = re.fullmatch(r"\s*v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+.][0-9A-Za-z.\-+]*)?\s*", str(text))
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def parse_version_option(value: object, option: str = "--device-ort-version") -> str:
    """An option's version as given, or an InputError naming the option (usable as a parser)."""
    text = str(getattr(value, "value", value)).strip()
    if parse_version(text) is None:
        raise InputError(f"{option} {text!r}: not a version; use MAJOR.MINOR.PATCH, e.g. 1.20.0")
    return text


def app_ort_version(snippet: Path = GRADLE_SNIPPET) -> str:
    """The onnxruntime-android version the app's Gradle snippet pins."""
    try:
        match = _PIN.search(snippet.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"{snippet}: cannot be read ({err.strerror}); pass --device-ort-version") from None
    if match is None or parse_version(match.group(1)) is None:
        raise InputError(f"{snippet}: no com.microsoft.onnxruntime:onnxruntime-android:<version> dependency")
    return match.group(1)


@dataclass
class OpNeed:
    """One distinct op (by domain, type and kernel-picking attributes) in a model file."""

    domain: str
    op_type: str
    attributes: dict[str, object]
    count: int
    min_onnxruntime: str
    source: str

    @property
    def label(self) -> str:
        name = f"{self.domain}.{self.op_type}" if self.domain else self.op_type
        shown = ", ".join(f"{k}={v}" for k, v in self.attributes.items())
        return f"{name} ({shown})" if shown else name


@dataclass
class Need:
    """One thing a model file needs: `what` runs on ONNX Runtime >= `min_onnxruntime`."""

    what: str
    min_onnxruntime: str
    source: str


@dataclass
class ModelNeeds:
    path: str
    ir_version: int
    opsets: dict[str, int]
    ops: list[OpNeed] = field(default_factory=list)
    # Set when something is not in the tables: then it is assumed to need the ONNX Runtime that
    # produced and checked the file (the host's), and this says what it was.
    unknown: list[str] = field(default_factory=list)

    def needs(self) -> list[Need]:
        found = [Need(f"ONNX IR version {self.ir_version}", *_ir_need(self.ir_version))]
        opset = self.opsets.get("", self.opsets.get("ai.onnx"))
        if opset is not None:
            found.append(Need(f"opset {opset} (ai.onnx)", *_opset_need(opset)))
        found += [Need(op.label, op.min_onnxruntime, op.source) for op in self.ops]
        return found

    @property
    def min_onnxruntime(self) -> str:
        return max((n.min_onnxruntime for n in self.needs()), key=_key)

    def unmet(self, version: str) -> list[Need]:
        """What a device on ONNX Runtime `version` cannot run, the newest need first."""
        have = parse_version(version)
        if have is None:
            raise InputError(f"onnxruntime version {version!r}: not a version")
        missing = [n for n in self.needs() if _key(n.min_onnxruntime) > have]
        return sorted(missing, key=lambda n: _key(n.min_onnxruntime), reverse=True)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "min_onnxruntime": self.min_onnxruntime}


class OrtTooOldError(InputError):
    """A model needs a newer ONNX Runtime than the device's (exit 2: nothing was pushed)."""


def _key(version: str) -> Version:
    parsed = parse_version(version)
    assert parsed is not None, version  # the tables hold versions only
    return parsed


def _host_ort() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)


def _opset_need(opset: int) -> tuple[str, str]:
    if opset <= min(OPSET_MIN_ORT):
        return OPSET_MIN_ORT[min(OPSET_MIN_ORT)], _MATRIX
    if opset in OPSET_MIN_ORT:
        return OPSET_MIN_ORT[opset], _MATRIX
    return _host_ort(), f"opset {opset} is not in the table: assumed to need the host's onnxruntime"


def _ir_need(ir_version: int) -> tuple[str, str]:
    if ir_version <= min(IR_MIN_ORT):
        return IR_MIN_ORT[min(IR_MIN_ORT)], _MATRIX
    if ir_version in IR_MIN_ORT:
        return IR_MIN_ORT[ir_version], _MATRIX
    return _host_ort(), f"IR version {ir_version} is not in the table: assumed to need the host's onnxruntime"


def _features(node: Any, initializer_types: dict[str, str]) -> dict[str, object]:
    from onnx import helper

    key = (node.domain, node.op_type)
    features: dict[str, object] = dict(_DEFAULTS.get(key, {}))
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if isinstance(value, int | float | str | bytes):
            features[attribute.name] = value.decode() if isinstance(value, bytes) else value
    if node.input and node.input[0] in initializer_types:
        features["data_type"] = initializer_types[node.input[0]]
    return features


def _rule_for(domain: str, op_type: str, features: dict[str, object]) -> tuple[str, str] | None:
    """The newest matching rule's (min_ort, source); None when no rule names this op."""
    rules = [r for r in OP_RULES if (r.domain, r.op_type) == (domain, op_type)]
    if not rules:
        return None
    matching = [r for r in rules if all(features.get(k) == v for k, v in r.when)]
    if not matching:
        return None
    newest = max(matching, key=lambda r: _key(r.min_ort))
    return newest.min_ort, newest.source


def model_needs(path: Path | str) -> ModelNeeds:
    """Read a model file's graph (not its weights) and list what it needs from ONNX Runtime."""
    import onnx

    path = Path(path)
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(path), load_external_data=False)
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror or err})") from None
    except DecodeError:
        raise InputError(f"{path}: not an ONNX model (the protobuf does not parse)") from None
    from onnx import TensorProto

    initializer_types = {t.name: TensorProto.DataType.Name(t.data_type) for t in model.graph.initializer}
    needs = ModelNeeds(str(path), model.ir_version, {o.domain: o.version for o in model.opset_import})
    grouped: Counter[tuple[str, str, tuple[tuple[str, object], ...]]] = Counter()
    graphs = [model.graph] + [f for f in model.functions]  # local functions hold nodes too
    for graph in graphs:
        for node in graph.node:
            domain = "" if node.domain == "ai.onnx" else node.domain
            features = _features(node, initializer_types)
            shown = tuple((k, features[k]) for k in _KEY_ATTRIBUTES.get((domain, node.op_type), ()) if k in features)
            grouped[(domain, node.op_type, shown)] += 1
    for (domain, op_type, shown), count in sorted(grouped.items(), key=lambda item: item[0][:2]):
        attributes = dict(shown)
        unknown_value = any(
            (domain, op_type, name) in _KNOWN_VALUES and value not in _KNOWN_VALUES[(domain, op_type, name)]
            for name, value in attributes.items()
        )
        rule = None if unknown_value else _rule_for(domain, op_type, attributes)
        if rule is None and not domain:
            continue  # a plain ONNX op: the opset need covers it
        if rule is None:
            label = OpNeed(domain, op_type, attributes, count, "", "").label
            needs.unknown.append(label)
            rule = (_host_ort(), "not in the compatibility table: assumed to need the host's onnxruntime")
        needs.ops.append(OpNeed(domain, op_type, attributes, count, *rule))
    return needs


def required_ops(path: Path | str) -> list[dict[str, Any]]:
    """The quantization and contrib ops a model file needs, one dict per distinct op and
    kernel-picking attributes: domain, op_type, attributes, count, min_onnxruntime, source."""
    return [asdict(op) for op in model_needs(path).ops]


def check_device_ort(needs: ModelNeeds, device_version: str, *, label: str, where: str) -> None:
    """Raise OrtTooOldError (one line: the op and the version it needs) when a device on ONNX
    Runtime `device_version` cannot run the model; `where` says where that version came from."""
    missing = needs.unmet(device_version)
    if missing:
        first = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise OrtTooOldError(
            f"{label}: {first.what} needs onnxruntime-android >= {first.min_onnxruntime}; the device's is"
            f" {device_version} ({where}){more}; update the app's onnxruntime-android or choose another recipe"
        )


def check_model_for_device(path: Path | str, label: str, device_version: str | None) -> ModelNeeds:
    """What the file needs, checked against the device's ONNX Runtime before anything is pushed:
    `device_version` (--device-ort-version) when given, else the version the app's Gradle snippet
    pins. Raises OrtTooOldError naming the op and the version it needs."""
    needs = model_needs(path)
    if device_version is None:
        version = app_ort_version()
        where = f"as {GRADLE_SNIPPET.name} pins it; --device-ort-version overrides"
    else:
        version, where = parse_version_option(device_version), "--device-ort-version"
    check_device_ort(needs, version, label=label, where=where)
    return needs


def pin_note(min_onnxruntime: str, snippet: Path = GRADLE_SNIPPET) -> str | None:
    """One line when a model needs a newer onnxruntime-android than the app's Gradle snippet pins
    (a run with --device-ort-version above the pin, `tune` choosing such a recipe); else None."""
    try:
        pinned = app_ort_version(snippet)
    except InputError:
        return None
    needed = parse_version(min_onnxruntime)  # from a report: may be anything
    if needed is None or needed <= _key(pinned):
        return None
    return f"needs onnxruntime-android >= {min_onnxruntime}; the app's {snippet.name} pins {pinned}: update it"


def reported_version_gate(needs: ModelNeeds, reported: str) -> Gate | None:
    """After a run: a failing gate when the ONNX Runtime the device reported is older than the
    model needs (the declared version was wrong); None when it suffices or is not a version."""
    if parse_version(reported) is None:
        return None
    missing = needs.unmet(reported)
    if not missing:
        return None
    first = missing[0]
    return Gate(
        GATE_DEVICE_ORT,
        False,
        reported,
        f">= {first.min_onnxruntime}",
        f"{first.what} needs onnxruntime-android >= {first.min_onnxruntime}; the device reported {reported}",
    )


# Keys of a store's `.quant.json` that describe the file, not the recipe that made it.
_RECORD_BOOKKEEPING = frozenset({"id", "file", "sha256", "size_bytes", "source", "source_sha256"})


def recorded_recipe(path: Path | str) -> dict[str, Any] | None:
    """The recipe the `.quant.json` beside a model file records (every key but the file's own
    bookkeeping), or None when there is no record or it is for other bytes."""
    from harness.fileio import sha256_file

    path = Path(path)
    try:
        record = json.loads(path.with_suffix(".quant.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not path.is_file() or record.get("sha256") != sha256_file(path):
        return None
    return {k: v for k, v in record.items() if k not in _RECORD_BOOKKEEPING}
