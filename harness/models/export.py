"""FP32 ONNX export of a sentence-transformers model from its local weights.

Uses the standard exporter (torch.onnx through transformers), which lives in the optional
`export` extra: nothing at run time imports torch. Mean pooling and L2 normalisation go inside
the graph so the app gets a ready `sentence_embedding`; batch and sequence axes are dynamic.
Every export is checked against the PyTorch reference before it is moved into place.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import HarnessError, InputError
from harness.fileio import atomic_output

# Mixed lengths so padding and masking are exercised in the parity check.
PARITY_SENTENCES = (
    "Artificial intelligence is transforming the world",
    "A man is playing a guitar.",
    "The weather is sunny today, with a light breeze from the west and no rain expected.",
    "ok",
)
MAX_EXPORT_ABS_DIFF = 1e-4


@dataclass(frozen=True)
class ExportReport:
    output: str
    opset: int
    max_abs_diff_vs_pytorch: float
    torch_version: str
    transformers_version: str


def export_sentence_transformer(
    model_dir: Path,
    output: Path,
    *,
    input_names: tuple[str, ...],
    pooling: str = "mean",
    normalize: bool = True,
    opset: int = 17,
) -> ExportReport:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights come from the package, never a hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import torch
        import transformers
    except ImportError:
        raise HarnessError(
            "exporting needs the optional 'export' extra: pip install -e '.[export]' (make install does it)"
        ) from None
    import onnxruntime as ort
    from tokenizers import Tokenizer

    if not (model_dir / "config.json").is_file():
        raise InputError(f"{model_dir}: not a transformers model directory (no config.json)")
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    model = transformers.AutoModel.from_pretrained(
        str(model_dir), local_files_only=True, attn_implementation="eager"
    ).eval()

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            named = dict(zip(input_names, args, strict=True))
            hidden = self.encoder(**named).last_hidden_state
            mask = named["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = hidden[:, 0] if pooling == "cls" else (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if normalize:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            return pooled

    wrapper = SentenceEmbedding(model).eval()
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    encodings = tokenizer.encode_batch(list(PARITY_SENTENCES))
    feeds = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    feeds = {name: feeds[name] for name in input_names}
    example = tuple(torch.from_numpy(feeds[name]) for name in input_names)
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    dynamic_axes["sentence_embedding"] = {0: "batch"}

    with torch.no_grad():
        reference = wrapper(*example).numpy()

    def verify(path: Path) -> None:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(["sentence_embedding"], feeds)[0]
        diff = float(np.max(np.abs(got - reference)))
        if not diff <= MAX_EXPORT_ABS_DIFF:
            raise HarnessError(f"{output}: export differs from PyTorch by {diff:.2e} (> {MAX_EXPORT_ABS_DIFF})")
        verify.max_abs_diff = diff  # type: ignore[attr-defined]

    with atomic_output(output, verify=verify) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow in transformers
        torch.onnx.export(
            wrapper,
            example,
            str(tmp),
            input_names=list(input_names),
            output_names=["sentence_embedding"],
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            dynamo=False,  # the TorchScript exporter gives a plain opset-17 graph mobile ORT builds accept
        )
    return ExportReport(
        output=str(output),
        opset=opset,
        max_abs_diff_vs_pytorch=verify.max_abs_diff,  # type: ignore[attr-defined]
        torch_version=torch.__version__,
        transformers_version=transformers.__version__,
    )


def read_pooling_config(model_dir: Path) -> tuple[str, bool]:
    """What sentence-transformers does after the encoder: ("mean"|"cls", normalize)."""
    pooling = "mean"
    config = model_dir / "1_Pooling" / "config.json"
    if config.is_file():
        data = json.loads(config.read_text())
        if data.get("pooling_mode_cls_token"):
            pooling = "cls"
    modules = model_dir / "modules.json"
    normalize = False
    if modules.is_file():
        normalize = any(m.get("type", "").endswith("Normalize") for m in json.loads(modules.read_text()))
    return pooling, normalize
