"""Quantization recipes beyond the fixed presets: what `tune` and `sensitivity` search over.

A `Recipe` is one point of the space: dynamic INT8 (per-channel or per-tensor) with nodes kept in
FP32, weight-only INT8/INT4 `MatMulNBits` (block size, accuracy level; mixed INT4/INT8 per node)
with INT8/INT4 `GatherBlockQuantized` word embeddings, or static QDQ INT8 calibrated on texts.
`apply_recipe` writes the file (loaded and run once before it is renamed into place) and returns
the record kept in the `.quant.json` beside it: the recipe, the calibration set hash, the ONNX
Runtime version and the ops the file needs (`required_ops`), so a device's ORT can be checked.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from harness.errors import HarnessError, InputError
from harness.fileio import atomic_output, sha256_file
from harness.models.compatibility import model_needs, required_ops
from harness.models.registry import ModelSpec

# MatMulNBits' output (ORT >= 1.2x) declares opset 21 but does not convert the graph; a model
# exported at opset 17 then fails to load (ReduceL2 `axes` became an input), so convert first.
WEIGHT_ONLY_OPSET = 21
# A Gather whose constant table has at least this many rows is a word embedding (the position and
# token-type tables are small and quantizing them buys nothing but error).
EMBEDDING_MIN_ROWS = 1024


class Method(enum.StrEnum):
    DYNAMIC = "dynamic"  # quantize_dynamic: INT8 weights, activations quantized at run time
    WEIGHT_ONLY = "weight-only"  # MatMulNBits: INT8/INT4 block-quantized weights
    STATIC = "static"  # quantize_static QDQ: activations calibrated on texts


class Calibration(enum.StrEnum):
    MINMAX = "minmax"
    PERCENTILE = "percentile"
    ENTROPY = "entropy"


class Embeddings(enum.StrEnum):
    FP32 = "fp32"
    INT8 = "int8"  # GatherBlockQuantized bits=8
    INT4 = "int4"  # GatherBlockQuantized bits=4


@dataclass(frozen=True)
class Recipe:
    """One quantization recipe. Fields that do not apply to `method` keep their defaults."""

    name: str
    method: Method = Method.DYNAMIC
    bits: int = 8  # weight-only: 4 or 8; dynamic and static are 8-bit
    per_channel: bool = True  # dynamic/static weights
    block_size: int = 32  # weight-only block along K
    accuracy_level: int = 4  # MatMulNBits: 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 compute
    embeddings: Embeddings = Embeddings.FP32  # weight-only only (dynamic INT8 quantizes Gather itself)
    embedding_block_size: int = 32
    calibration: Calibration | None = None  # static only
    calibration_size: int = 32  # texts the static calibration runs
    op_types: tuple[str, ...] = ()  # dynamic/static: op types to quantize (empty: ORT's default)
    nodes_to_exclude: tuple[str, ...] = ()  # kept in FP32
    int8_nodes: tuple[str, ...] = ()  # weight-only INT4: MatMuls kept at 8 bits (mixed per layer)
    # Weight-only: MatMuls computed in FP32 (accuracy_level 1) from their quantized weights: the
    # same size, no activation quantization error where it hurts most, slower on those nodes only.
    fp32_compute_nodes: tuple[str, ...] = ()
    # Weight-only: MatMuls quantized in `fine_block_size` blocks. At accuracy level 4 the kernel
    # quantizes the activations per block of K too, so finer blocks on the most sensitive nodes keep
    # their worst texts at full speed, for a few more scales (MiniLM-L6, block 16 everywhere: min
    # cosine 0.9987 vs 0.9978 at block 32, 29.2% of FP32).
    fine_nodes: tuple[str, ...] = ()
    fine_block_size: int = 16

    def __post_init__(self) -> None:
        where = f"recipe {self.name!r}"
        for attr, kind in (("method", Method), ("embeddings", Embeddings)):
            value = getattr(self, attr)
            try:
                object.__setattr__(self, attr, kind(value))
            except ValueError:
                raise InputError(f"{where}: {attr} {value!r}: use {', '.join(k.value for k in kind)}") from None
        if self.calibration is not None:
            try:
                object.__setattr__(self, "calibration", Calibration(self.calibration))
            except ValueError:
                raise InputError(
                    f"{where}: calibration {self.calibration!r}: use minmax, percentile or entropy"
                ) from None
        if not self.name or "/" in self.name:
            raise InputError(f"recipe name {self.name!r}: must be non-empty, without '/'")
        allowed_bits = (4, 8) if self.method is Method.WEIGHT_ONLY else (8,)
        if self.bits not in allowed_bits:
            raise InputError(f"{where}: bits {self.bits}: {self.method} allows {allowed_bits}")
        for attr in ("block_size", "embedding_block_size", "fine_block_size"):
            size = getattr(self, attr)
            if size < 16 or size & (size - 1):
                raise InputError(f"{where}: {attr} {size}: must be a power of two >= 16")
        if self.accuracy_level not in range(5):
            raise InputError(f"{where}: accuracy_level {self.accuracy_level}: must be 0..4")
        if (self.method is Method.STATIC) != (self.calibration is not None):
            raise InputError(f"{where}: a calibration method goes with (and only with) method static")
        if self.calibration_size < 1:
            raise InputError(f"{where}: calibration_size must be >= 1")
        if self.embeddings is not Embeddings.FP32 and self.method is not Method.WEIGHT_ONLY:
            raise InputError(f"{where}: embeddings {self.embeddings} need method weight-only")
        if self.int8_nodes and not (self.method is Method.WEIGHT_ONLY and self.bits == 4):
            raise InputError(f"{where}: int8_nodes (mixed INT4/INT8) need method weight-only with bits 4")
        object.__setattr__(self, "nodes_to_exclude", tuple(self.nodes_to_exclude))
        if self.fp32_compute_nodes and self.method is not Method.WEIGHT_ONLY:
            raise InputError(f"{where}: fp32_compute_nodes need method weight-only")
        object.__setattr__(self, "int8_nodes", tuple(self.int8_nodes))
        object.__setattr__(self, "fp32_compute_nodes", tuple(self.fp32_compute_nodes))
        if self.fine_nodes and self.method is not Method.WEIGHT_ONLY:
            raise InputError(f"{where}: fine_nodes need method weight-only")
        object.__setattr__(self, "fine_nodes", tuple(self.fine_nodes))
        object.__setattr__(self, "op_types", tuple(self.op_types))

    def describe(self) -> dict[str, object]:
        data = asdict(self)
        return {
            k: (v.value if isinstance(v, enum.Enum) else list(v) if isinstance(v, tuple) else v)
            for k, v in data.items()
        }

    def key(self) -> str:
        """A stable hash of everything but the name: two recipes with the same key write the same file."""
        settings = {k: v for k, v in self.describe().items() if k != "name"}
        # Later fields, when unset, leave the key as it was before they existed (caches hold).
        if not settings["fp32_compute_nodes"]:
            del settings["fp32_compute_nodes"]
        if not settings["fine_nodes"]:
            del settings["fine_nodes"], settings["fine_block_size"]
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]

    def with_name(self, name: str) -> Recipe:
        return replace(self, name=name)


def recipe_from_dict(data: dict) -> Recipe:
    """A recipe read back from a `.quant.json` or a cache entry; bad fields are InputErrors."""
    known = {f for f in Recipe.__dataclass_fields__}
    unknown = set(data) - known
    if unknown:
        raise InputError(f"recipe: unknown field(s) {', '.join(sorted(unknown))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return Recipe(**values)


# Named starting points (the calibration figures on all-MiniLM-L6-v2 in the comments).
DEFAULT_DYNAMIC = Recipe("dynamic-int8")  # = the arm64 preset: 25.4%, mean/min 0.994/0.986
WEIGHT_ONLY_INT8 = Recipe(  # 26.7%, 0.9994/0.9988, latency 0.66x FP32
    "w8-b32-a4-emb8", Method.WEIGHT_ONLY, bits=8, block_size=32, accuracy_level=4, embeddings=Embeddings.INT8
)
WEIGHT_ONLY_INT4 = Recipe(  # 15.9%, ranking kept, mean cosine ~0.97
    "w4-b32-a4-emb4", Method.WEIGHT_ONLY, bits=4, block_size=32, accuracy_level=4, embeddings=Embeddings.INT4
)


def quantizable_nodes(model) -> list[dict[str, object]]:
    """The nodes a recipe can quantize (MatMul with a constant weight, Gather on a constant
    table): name, op type and weight element count, in graph order."""
    inits = {i.name: i for i in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        if node.op_type == "MatMul" and len(node.input) > 1 and node.input[1] in inits:
            dims = list(inits[node.input[1]].dims)
        elif node.op_type == "Gather" and node.input and node.input[0] in inits:
            dims = list(inits[node.input[0]].dims)
        else:
            continue
        if len(dims) == 2 and node.name:
            nodes.append({"name": node.name, "op_type": node.op_type, "elements": int(np.prod(dims)), "shape": dims})
    return nodes


def texts_hash(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()


def apply_recipe(
    source: Path,
    target: Path,
    recipe: Recipe,
    *,
    spec: ModelSpec | None = None,
    calibration_texts: Sequence[str] = (),
) -> dict[str, object]:
    """Quantize `source` into `target` with `recipe`; returns the record for its `.quant.json`.
    A model with nothing to quantize, or a static recipe without texts, is an InputError."""
    import onnx
    import onnxruntime

    from harness.models.quantize import QUANTIZED_OP_TYPES, _smoke_run, check_not_input
    from harness.models.validate import check_onnx_model

    source, target = Path(source), Path(target)
    check_not_input(source, target)
    model = onnx.load(str(source))
    done = QUANTIZED_OP_TYPES.intersection(n.op_type for n in model.graph.node)
    if done:
        raise InputError(f"{source}: is quantized already (has {', '.join(sorted(done))} nodes)")
    if not quantizable_nodes(model):
        raise InputError(f"{source}: no quantizable nodes (no MatMul or Gather with a constant 2-D weight)")
    calibration: list[str] = []
    if recipe.method is Method.STATIC:
        calibration = list(calibration_texts)[: recipe.calibration_size]
        if not calibration:
            raise InputError(f"recipe {recipe.name}: static calibration needs texts (none given)")
        if spec is None:
            raise InputError(f"recipe {recipe.name}: static calibration needs the model's registry entry")

    def check(path: Path) -> None:
        if spec is not None:
            check_onnx_model(path, spec, label=str(target))
        else:
            _smoke_run(path, str(target))

    # ORT's quantizers log every node at INFO (the MatMulNBits one on a logger of its own).
    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.ERROR)
    with atomic_output(target, verify=check) as tmp:
        try:
            if recipe.method is Method.DYNAMIC:
                _dynamic(source, tmp, recipe)
            elif recipe.method is Method.WEIGHT_ONLY:
                onnx.save(_weight_only(model, recipe), str(tmp))
            else:
                from harness.models.static_qdq import quantize_static_qdq

                assert spec is not None
                quantize_static_qdq(
                    source,
                    tmp,
                    spec,
                    calibration,
                    calibration=str(recipe.calibration),
                    per_channel=recipe.per_channel,
                    op_types=recipe.op_types,
                    nodes_to_exclude=recipe.nodes_to_exclude,
                )
        except HarnessError:
            raise
        except Exception as err:  # the quantizer refused this model or recipe: one line, not a traceback
            first = (str(err).splitlines() or [type(err).__name__])[0][:200]
            raise InputError(
                f"recipe {recipe.name}: ONNX Runtime {onnxruntime.__version__} cannot apply it to {source.name}: "
                f"{first}"
            ) from None
    return {
        "recipe": recipe.describe(),
        "recipe_key": recipe.key(),
        "calibration_texts": len(calibration),
        "calibration_sha256": texts_hash(calibration) if calibration else None,
        "onnxruntime_version": onnxruntime.__version__,
        "required_ops": required_ops(target),
        "min_onnxruntime": model_needs(target).min_onnxruntime,
        "sha256": sha256_file(target),
        "size_bytes": target.stat().st_size,
    }


def _dynamic(source: Path, target: Path, recipe: Recipe) -> None:
    from harness.models.quantize import QuantizationPreset, _quantize_int8

    preset = QuantizationPreset(
        name=recipe.name,
        mode="int8",
        description="dynamic INT8 recipe",
        per_channel=recipe.per_channel,
        op_types_to_quantize=recipe.op_types or None,
        nodes_to_exclude=recipe.nodes_to_exclude,
    )
    _quantize_int8(source, target, preset)


def _weight_only(model, recipe: Recipe):
    """MatMulNBits for the MatMuls (the nodes in `int8_nodes` at 8 bits first), own
    GatherBlockQuantized for word embeddings (ORT's quantizer does Gather at 4 bits only)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    if (
        model.opset_import
        and max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) < WEIGHT_ONLY_OPSET
    ):
        model = onnx.version_converter.convert_version(model, WEIGHT_ONLY_OPSET)
    excluded = set(recipe.nodes_to_exclude)
    if recipe.embeddings is not Embeddings.FP32:
        bits = 8 if recipe.embeddings is Embeddings.INT8 else 4
        _quantize_embeddings(model, bits, recipe.embedding_block_size, excluded)
    # ORT's nodes_to_include adds to the op types rather than restricting them, so the 8-bit pass
    # of a mixed recipe excludes every other MatMul instead.
    matmuls = {str(n["name"]) for n in quantizable_nodes(model) if n["op_type"] == "MatMul"}
    # One pass per (bits, accuracy level, block): the 8-bit, FP32-compute and fine nodes apart.
    groups: dict[tuple[int, int, int], set[str]] = {}
    for name in matmuls - excluded:
        bits = 8 if name in recipe.int8_nodes else recipe.bits
        level = 1 if name in recipe.fp32_compute_nodes else recipe.accuracy_level
        block = recipe.fine_block_size if name in recipe.fine_nodes else recipe.block_size
        groups.setdefault((bits, level, block), set()).add(name)
    passes = [(key, excluded | (matmuls - names)) for key, names in sorted(groups.items())]
    for (bits, level, block), exclude in passes:
        config = DefaultWeightOnlyQuantConfig(
            block_size=block,
            is_symmetric=True,
            accuracy_level=level or None,
            bits=bits,
            op_types_to_quantize=("MatMul",),
        )
        quantizer = MatMulNBitsQuantizer(
            model,
            bits=bits,
            block_size=block,
            is_symmetric=True,
            accuracy_level=level or None,
            nodes_to_exclude=sorted(exclude),
            algo_config=config,
        )
        quantizer.process()
        model = quantizer.model.model
    return model


def _quantize_embeddings(model, bits: int, block_size: int, excluded: set[str]) -> None:
    """Replace each word-embedding Gather (constant table, >= EMBEDDING_MIN_ROWS rows) with a
    GatherBlockQuantized: uint8 data (two 4-bit values a byte, low bits first, at bits=4),
    symmetric blocks along the row, default zero point 2^(bits-1), float scales."""
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    for index, node in enumerate(list(model.graph.node)):
        if node.op_type != "Gather" or node.name in excluded or node.input[0] not in inits:
            continue
        table = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        if table.ndim != 2 or axis != 0 or table.shape[0] < EMBEDDING_MIN_ROWS:
            continue
        rows, cols = table.shape
        block = min(block_size, 1 << (cols.bit_length() - 1))
        padded = -(-cols // block) * block
        work = np.zeros((rows, padded), dtype=np.float32)
        work[:, :cols] = table
        blocks = work.reshape(rows, padded // block, block)
        top = (1 << (bits - 1)) - 1
        scales = np.abs(blocks).max(axis=2) / top
        scales[scales == 0] = 1.0
        q = np.clip(np.rint(blocks / scales[..., None]), -top - 1, top).astype(np.int32) + (1 << (bits - 1))
        q = q.reshape(rows, padded)[:, :cols].astype(np.uint8)
        if bits == 4:
            if cols % 2:
                q = np.concatenate([q, np.full((rows, 1), 8, dtype=np.uint8)], axis=1)
            q = (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8)
        name = node.input[0]
        model.graph.initializer.remove(inits[name])
        model.graph.initializer.extend(
            [
                numpy_helper.from_array(q, f"{name}_Q{bits}"),
                numpy_helper.from_array(scales.astype(np.float32), f"{name}_scales"),
            ]
        )
        replacement = helper.make_node(
            "GatherBlockQuantized",
            [f"{name}_Q{bits}", node.input[1], f"{name}_scales"],
            list(node.output),
            name=f"{node.name}_Q{bits}",
            domain="com.microsoft",
            bits=bits,
            block_size=block,
            gather_axis=0,
            quantize_axis=1,
        )
        model.graph.node.remove(node)
        model.graph.node.insert(index, replacement)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
