"""Is this file a usable embedding model? Parse it, check its I/O against the registry, load it
in ONNX Runtime and run it once. Every model file the harness writes passes this before it is
moved to its final path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import InputError
from harness.models.registry import ModelSpec


@dataclass(frozen=True)
class ModelCheck:
    path: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    dimension: int
    weight_types: dict[str, int]


def read_onnx(path: Path, label: str | None = None):  # -> onnx.ModelProto
    """Parse an ONNX file; errors name `label` (the final path when checking a temporary file)."""
    import onnx
    from google.protobuf.message import DecodeError

    path = Path(path)
    name = label or str(path)
    if path.is_dir():
        raise InputError(f"{name}: is a directory, not an ONNX model file")
    if not path.is_file():
        raise InputError(f"{name}: file not found")
    if path.stat().st_size == 0:
        raise InputError(f"{name}: empty file, not an ONNX model")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, RuntimeError, OSError) as err:
        raise InputError(f"{name}: not an ONNX model or truncated ({type(err).__name__})") from None
    if not model.graph.node:
        raise InputError(f"{name}: not an ONNX model (no graph nodes; is it truncated?)")
    if any(onnx.external_data_helper.uses_external_data(t) for t in model.graph.initializer):
        raise InputError(f"{name}: keeps its weights in external data files; give a single-file ONNX model")
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "invalid"
        raise InputError(f"{name}: invalid ONNX model: {first}") from None
    return model


def weight_type_histogram(model) -> dict[str, int]:
    import onnx

    counts: dict[str, int] = {}
    for init in model.graph.initializer:
        name = onnx.TensorProto.DataType.Name(init.data_type)
        counts[name] = counts.get(name, 0) + int(np.prod(init.dims)) if init.dims else counts.get(name, 0) + 1
    return counts


def check_onnx_model(path: Path, spec: ModelSpec, *, run: bool = True, label: str | None = None) -> ModelCheck:
    """Parse, check I/O names against the registry and (by default) run once on CPU."""
    name = label or str(path)
    model = read_onnx(path, name)
    inputs = tuple(i.name for i in model.graph.input)
    outputs = tuple(o.name for o in model.graph.output)
    missing_in = [name for name in spec.inputs if name not in inputs]
    if missing_in:
        raise InputError(
            f"{name}: model {spec.id} expects input(s) {', '.join(missing_in)}; the file has {', '.join(inputs)}"
        )
    extra_in = [name for name in inputs if name not in spec.inputs]
    if extra_in:
        raise InputError(f"{name}: unexpected input(s) {', '.join(extra_in)} for model {spec.id}")
    if spec.output not in outputs:
        raise InputError(f"{name}: model {spec.id} expects output {spec.output!r}; the file has {', '.join(outputs)}")
    dimension = spec.dimension
    if run:
        dimension = _run_once(path, spec, name)
    return ModelCheck(str(path), inputs, outputs, dimension, weight_type_histogram(model))


def _run_once(path: Path, spec: ModelSpec, name: str) -> int:
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as err:  # ORT raises its own Fail/InvalidGraph types with long texts
        raise InputError(f"{name}: ONNX Runtime cannot load it: {_first_line(err)}") from None
    ids = np.array([[101, 7592, 2088, 102, 0]], dtype=np.int64)  # [CLS] hello world [SEP] [PAD]
    mask = np.array([[1, 1, 1, 1, 0]], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    try:
        out = session.run([spec.output], {name: feeds[name] for name in spec.inputs})[0]
    except Exception as err:
        raise InputError(f"{name}: ONNX Runtime fails to run it: {_first_line(err)}") from None
    if out.dtype != np.float32:
        raise InputError(f"{name}: output {spec.output} is {out.dtype}, expected float32")
    if out.shape[-1] != spec.dimension:
        raise InputError(f"{name}: output {spec.output} has dimension {out.shape[-1]}, expected {spec.dimension}")
    if not np.all(np.isfinite(out)):
        raise InputError(f"{name}: output {spec.output} is not finite on a smoke input")
    return int(out.shape[-1])


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__
