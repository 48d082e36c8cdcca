"""INT8 and FP16 quantization of embedding models, with presets as plain dataclasses.

Fixes the chapter-28A script: its "fp16" mode called quantize_dynamic(QUInt8), which is 8-bit;
its `optimize_model=` argument was removed from ONNX Runtime in 1.16. Here FP16 is a real
float16 conversion that keeps float32 graph I/O and loads on the CPU execution provider, and
INT8 defaults to per-channel symmetric weights (0.992 vs 0.968 mean cosine, same size).
"""

from __future__ import annotations

import enum
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from harness.errors import InputError
from harness.fileio import atomic_output
from harness.models.registry import ModelSpec
from harness.models.validate import check_onnx_model, read_onnx, weight_type_histogram

QUANTIZED_OP_TYPES = frozenset(
    {
        "DynamicQuantizeLinear",
        "MatMulInteger",
        "QuantizeLinear",
        "DequantizeLinear",
        "DynamicQuantizeMatMul",
        "MatMulNBits",
        "QLinearMatMul",
        "GatherBlockQuantized",
    }
)

Mode = Literal["int8", "fp16"]


@dataclass(frozen=True)
class QuantizationPreset:
    """One recipe. INT8 fields mirror onnxruntime.quantization.quantize_dynamic."""

    name: str
    mode: Mode
    description: str
    per_channel: bool = True
    reduce_range: bool = False
    weight_symmetric: bool = True
    activation_symmetric: bool = False
    op_types_to_quantize: tuple[str, ...] | None = None
    nodes_to_exclude: tuple[str, ...] = ()
    # FP16 converter. onnxruntime.transformers' converter handles both registered models;
    # onnxconverter-common's retypes Cast outputs to float16 where float is expected (MiniLM
    # does not load; with Cast blocked it loads, but paraphrase-MiniLM-L3-v2 then fails on a
    # float/float16 Mul), so it stays available by name only.
    fp16_converter: Literal["onnxruntime", "onnxconverter-common"] = "onnxruntime"
    fp16_op_block_list_extra: tuple[str, ...] = ()
    extra_options: dict[str, object] = field(default_factory=dict)

    def describe(self) -> dict[str, object]:
        return asdict(self)


PRESETS: dict[str, QuantizationPreset] = {
    # ARM64 phones: ORT/Optimum's arm64 config: per-channel S8 weights, no reduce_range
    # (ARM's int8 dot products do not saturate the way x86 U8S8 without VNNI does).
    "arm64": QuantizationPreset(
        name="arm64",
        mode="int8",
        description="dynamic INT8, per-channel signed symmetric weights, full range (ARM64 phones)",
    ),
    # x86 hosts/emulators without VNNI: reduce_range avoids U8S8 saturation (ORT docs).
    "x86": QuantizationPreset(
        name="x86",
        mode="int8",
        description="dynamic INT8, per-channel signed symmetric weights, 7-bit range (x86 without VNNI)",
        reduce_range=True,
    ),
    # Chapter 28A's recipe, kept by name for comparison: per-tensor QInt8 symmetric weights.
    "chapter": QuantizationPreset(
        name="chapter",
        mode="int8",
        description="chapter 28A recipe: dynamic INT8, per-tensor signed symmetric weights",
        per_channel=False,
    ),
    "fp16": QuantizationPreset(
        name="fp16",
        mode="fp16",
        description="float16 weights and compute, float32 graph inputs and outputs (ONNX Runtime converter)",
    ),
    "fp16-occ": QuantizationPreset(
        name="fp16-occ",
        mode="fp16",
        description="float16 via onnxconverter-common with Cast kept in float32 (for comparison)",
        fp16_converter="onnxconverter-common",
        fp16_op_block_list_extra=("Cast",),
    ),
}
DEFAULT_PRESET = {"int8": "arm64", "fp16": "fp16"}

# The choices the command line shows in --help (built from the tables above, so they cannot drift).
ModeName = enum.StrEnum("ModeName", {name: name for name in DEFAULT_PRESET})  # type: ignore[misc]
PresetName = enum.StrEnum("PresetName", {name: name for name in PRESETS})  # type: ignore[misc]


def parse_mode(value: object) -> str:
    """A --mode value (any case) as its canonical name; anything else is an InputError naming the
    choices. Usable as a Typer `parser=`, so a bad value is one line before any work."""
    name = str(getattr(value, "value", value)).lower()
    if name not in DEFAULT_PRESET:
        raise InputError(f"--mode {value!s}: unknown mode; use {' or '.join(DEFAULT_PRESET)}")
    return name


def parse_preset(value: object) -> str:
    """A --preset value as a known preset name, or an InputError naming the choices."""
    name = str(getattr(value, "value", value))
    if name not in PRESETS:
        raise InputError(f"--preset {name}: unknown preset; choose from {', '.join(PRESETS)}")
    return name


def is_default_preset(preset: QuantizationPreset) -> bool:
    return DEFAULT_PRESET[preset.mode] == preset.name


def preset_file_name(model_id: str, preset: QuantizationPreset) -> str:
    """The file a variant quantized with `preset` is kept in: `<ID>.onnx` (the name the app loads)
    for its mode's default preset, `<ID>@<preset>.onnx` for any other, so a comparison recipe never
    replaces the file that is deployed. '@' never occurs in a model ID, so no ID's file is hit."""
    return f"{model_id}.onnx" if is_default_preset(preset) else f"{model_id}@{preset.name}.onnx"


def resolve_preset(mode: str, preset: str | None = None) -> QuantizationPreset:
    mode = mode.lower()
    if mode not in DEFAULT_PRESET:
        raise InputError(f"unknown mode {mode!r}: use int8 or fp16")
    name = preset or DEFAULT_PRESET[mode]
    chosen = PRESETS.get(name)
    if chosen is None:
        raise InputError(f"unknown preset {name!r}: choose from {', '.join(PRESETS)}")
    if chosen.mode != mode:
        raise InputError(f"preset {name!r} is an {chosen.mode} preset, not {mode}")
    return chosen


def quantize_file(
    source: Path,
    output: Path,
    preset: QuantizationPreset,
    *,
    spec: ModelSpec | None = None,
    verify: Callable[[Path], None] | None = None,
) -> Path:
    """Quantize `source` into `output`. The result is loaded and run once (against `spec` when
    given) before it is renamed into place; on failure `output` is untouched."""
    source, output = Path(source), Path(output)
    check_not_input(source, output)
    model = read_onnx(source)
    quantized_ops = QUANTIZED_OP_TYPES.intersection(node.op_type for node in model.graph.node)
    if quantized_ops:
        raise InputError(f"{source}: is quantized already (has {', '.join(sorted(quantized_ops))} nodes)")
    weights = weight_type_histogram(model)
    if weights.get("FLOAT16", 0) > weights.get("FLOAT", 0):
        raise InputError(f"{source}: is a float16 model already; quantize its FP32 original")

    def check(path: Path) -> None:
        if spec is not None:
            check_onnx_model(path, spec, label=str(output))
        else:
            _smoke_run(path, str(output))
        if verify is not None:
            verify(path)

    with atomic_output(output, verify=check) as tmp:
        if preset.mode == "int8":
            _quantize_int8(source, tmp, preset)
        else:
            _convert_fp16(model, tmp, preset)
    return output


def check_not_input(source: Path, output: Path) -> None:
    """OUT must not be IN (the same path, a link to it, or a hard link of it)."""
    same = os.path.samefile(source, output) if source.exists() and output.exists() else False
    if same or Path(os.path.abspath(source)).resolve() == Path(os.path.abspath(output)).resolve():
        raise InputError(f"{output}: is the input model; write the quantized model to another file")


def _quantize_int8(source: Path, target: Path, preset: QuantizationPreset) -> None:
    """ONNX Runtime writes a shape-inferred copy, `<input>-inferred.onnx`, beside the model it is
    given (and leaves it there if interrupted, or fails in a read-only folder), so it is given a
    link to `source` in a private temporary folder instead: the input's folder is never written."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    extra: dict[str, object] = {
        "WeightSymmetric": preset.weight_symmetric,
        "ActivationSymmetric": preset.activation_symmetric,
        **preset.extra_options,
    }
    # quantize_dynamic logs a pre-processing hint on every call; the harness reports instead.
    logging.getLogger().setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="ava-quantize-") as work:
        staged = Path(work) / "model.onnx"
        staged.symlink_to(Path(source).resolve())
        quantize_dynamic(
            model_input=str(staged),
            model_output=str(target),
            weight_type=QuantType.QInt8,
            per_channel=preset.per_channel,
            reduce_range=preset.reduce_range,
            op_types_to_quantize=list(preset.op_types_to_quantize) if preset.op_types_to_quantize else None,
            nodes_to_exclude=list(preset.nodes_to_exclude) or None,
            extra_options=extra,
        )


def _convert_fp16(model, target: Path, preset: QuantizationPreset) -> None:
    import warnings

    import onnx

    if preset.fp16_converter == "onnxruntime":
        from onnxruntime.transformers import float16
    else:
        from onnxconverter_common import float16

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns for every value it clamps to float16 range
        converted = float16.convert_float_to_float16(
            model,
            keep_io_types=True,
            op_block_list=list(float16.DEFAULT_OP_BLOCK_LIST) + list(preset.fp16_op_block_list_extra),
        )
    onnx.save(converted, str(target))


def _smoke_run(path: Path, label: str) -> None:
    """Without a registry entry: load and run once with every input fed a tiny int64 batch."""
    import numpy as np
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {
            i.name: np.array([[101, 2023, 102]], dtype=np.int64)
            if "mask" not in i.name
            else np.ones((1, 3), dtype=np.int64)
            for i in session.get_inputs()
        }
        if "token_type_ids" in feeds:
            feeds["token_type_ids"] = np.zeros((1, 3), dtype=np.int64)
        session.run(None, feeds)
    except Exception as err:
        raise InputError(f"{label}: quantized model does not load and run: {str(err).splitlines()[0][:200]}") from None
