"""Static QDQ INT8 for recipes.py: activations calibrated on texts tokenized as the app does."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.errors import InputError
from harness.models.registry import ModelSpec


def quantize_static_qdq(
    source: Path,
    target: Path,
    spec: ModelSpec,
    texts: list[str],
    *,
    calibration: str,
    per_channel: bool,
    op_types: Sequence[str] = (),
    nodes_to_exclude: Sequence[str] = (),
) -> None:
    """`calibration` is a recipes.Calibration value: minmax, percentile or entropy."""
    """Static QDQ INT8, activations calibrated one text at a time (the app's batch of one)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    feeds = calibration_feeds(spec, texts)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(feeds)

        def get_next(self):
            return next(self.items, None)

    method = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }[str(calibration)]
    # The histogram calibrators print their progress on stdout, which belongs to the results.
    with tempfile.TemporaryDirectory(prefix="ava-static-") as work, contextlib.redirect_stdout(sys.stderr):
        staged = Path(work) / "model.onnx"
        staged.symlink_to(source.resolve())
        quantize_static(
            str(staged),
            str(target),
            Reader(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(op_types) or None,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=list(nodes_to_exclude) or None,
            calibrate_method=method,
            extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
        )


def calibration_feeds(spec: ModelSpec, texts: Sequence[str]) -> list[dict[str, np.ndarray]]:
    """One text per batch, tokenized as the app does (truncated at max_length, [SEP] kept), all
    padded to one length: the histogram calibrators (percentile, entropy) stack every batch's
    activations and fail on ragged shapes. (harness.evaluation's Embedder would do this, but
    models must not import evaluation: evaluation imports models.)"""
    from tokenizers import Tokenizer

    if not spec.tokenizer_path.is_file():
        raise InputError(f"{spec.tokenizer_path}: tokenizer for {spec.id} not found (run `make models`)")
    tokenizer = Tokenizer.from_file(str(spec.tokenizer_path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    pad, sep = tokenizer.token_to_id("[PAD]") or 0, tokenizer.token_to_id("[SEP]")
    rows = []
    for encoding in tokenizer.encode_batch(list(texts)):
        ids = list(encoding.ids)
        if len(ids) > spec.max_length:
            ids = [*ids[: spec.max_length - 1], sep if sep is not None else ids[-1]]
        rows.append(ids)
    width = max(len(r) for r in rows)
    feeds = []
    for ids in rows:
        input_ids = np.full((1, width), pad, dtype=np.int64)
        mask = np.zeros((1, width), dtype=np.int64)
        input_ids[0, : len(ids)], mask[0, : len(ids)] = ids, 1
        named = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        feeds.append({name: named[name] for name in spec.inputs})
    return feeds
