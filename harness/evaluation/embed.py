"""Host embedding engine: tokenizer.json (tokenizers) + ONNX Runtime + the registry's pooling.

Handles models with or without token_type_ids and with pooled or token-level outputs, batches
by length, and truncates at the model's maximum length, flagging which texts were truncated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import InputError
from harness.models.registry import ModelSpec


@dataclass(frozen=True)
class TokenizedTexts:
    ids: list[list[int]]
    truncated: np.ndarray  # bool per text
    token_counts: np.ndarray  # tokens before truncation, including special tokens


@dataclass(frozen=True)
class EmbeddingResult:
    vectors: np.ndarray  # float32 [n, dimension]
    truncated: np.ndarray  # bool [n]
    token_ids: list[list[int]]

    @property
    def truncated_count(self) -> int:
        return int(self.truncated.sum())


def check_texts(texts: Sequence[str], where: str = "texts") -> list[str]:
    if isinstance(texts, str):
        raise InputError(f"{where}: expected a list of texts, got one string")
    checked = []
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"{where}: item #{index + 1} is {type(text).__name__}, not text")
        if not text.strip():
            raise InputError(f"{where}: item #{index + 1} is empty")
        checked.append(text)
    if not checked:
        raise InputError(f"{where}: no texts")
    return checked


# Bumped whenever the ids HostTokenizer gives for some text change (2: cut texts end in the model's
# own closing token, e.g. mpnet's </s>): the host-evaluation caches include it in their keys.
TOKENIZATION_REVISION = 2


class HostTokenizer:
    """A model's tokenizer.json through `tokenizers`, as the post-processor says: [CLS] ... [SEP] for
    BERT, <s> ... </s> for mpnet (RobertaProcessing). Texts are encoded untruncated to count their
    true length; only those over max_length are encoded again with the library's own truncation,
    which keeps the closing special token, so a cut text ends in the model's own [SEP] or </s>."""

    def __init__(self, tokenizer_path: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self.max_length = max_length
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The file's own padding names the pad token (<pad> = 1 for mpnet, where [PAD] is an
        # ordinary vocabulary entry); read it before padding is switched off.
        padding = self.tokenizer.padding
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.pad_id: int = padding["pad_id"] if padding else (self.tokenizer.token_to_id("[PAD]") or 0)
        self.truncating = Tokenizer.from_file(str(tokenizer_path))
        self.truncating.no_padding()
        self.truncating.enable_truncation(max_length)
        # The post-processor's closing token: what an empty text ends with.
        specials = self.tokenizer.encode("").ids
        self.sep_id: int | None = specials[-1] if specials else None

    def tokenize(self, texts: Sequence[str]) -> TokenizedTexts:
        texts = check_texts(texts)
        ids = [list(encoding.ids) for encoding in self.tokenizer.encode_batch(list(texts))]
        counts = np.array([len(tokens) for tokens in ids], dtype=np.int64)
        truncated = counts > self.max_length
        long_rows = np.flatnonzero(truncated).tolist()
        if long_rows:
            cut = self.truncating.encode_batch([texts[row] for row in long_rows])
            for row, encoding in zip(long_rows, cut, strict=True):
                ids[row] = list(encoding.ids)
        return TokenizedTexts(ids, truncated, counts)


class Embedder:
    def __init__(
        self,
        spec: ModelSpec,
        model_path: Path | None = None,
        *,
        threads: int | None = None,
        batch_size: int = 32,
    ) -> None:
        import onnxruntime as ort

        self.spec = spec
        self.model_path = Path(model_path or spec.path)
        if not self.model_path.is_file():
            raise InputError(f"{self.model_path}: model file not found for {spec.id} (run `make models` / quantize)")
        if not spec.tokenizer_path.is_file():
            raise InputError(f"{spec.tokenizer_path}: tokenizer for {spec.id} not found (run `make models`)")
        self.batch_size = batch_size
        self.host_tokenizer = HostTokenizer(spec.tokenizer_path, spec.max_length)
        self.tokenizer = self.host_tokenizer.tokenizer
        self.pad_id = self.host_tokenizer.pad_id
        self.sep_id = self.host_tokenizer.sep_id
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        started = time.perf_counter()
        try:
            self.session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        except Exception as err:
            raise InputError(
                f"{self.model_path}: ONNX Runtime cannot load it: {str(err).splitlines()[0][:200]}"
            ) from None
        self.load_seconds = time.perf_counter() - started
        names = {i.name for i in self.session.get_inputs()}
        missing = [name for name in spec.inputs if name not in names]
        if missing:
            raise InputError(f"{self.model_path}: missing input(s) {', '.join(missing)} that {spec.id} needs")
        outputs = {o.name for o in self.session.get_outputs()}
        if spec.output not in outputs:
            raise InputError(f"{self.model_path}: no output {spec.output!r} (has {', '.join(sorted(outputs))})")

    def tokenize(self, texts: Sequence[str]) -> TokenizedTexts:
        return self.host_tokenizer.tokenize(texts)

    def embed(
        self, texts: Sequence[str], *, strict_length: bool = False, progress: Callable[[int], None] | None = None
    ) -> EmbeddingResult:
        """`progress(n)` is told after each batch how many more texts are embedded."""
        tokenized = self.tokenize(texts)
        if strict_length and tokenized.truncated.any():
            first = int(np.argmax(tokenized.truncated))
            raise InputError(
                f"text #{first + 1} has {tokenized.token_counts[first]} tokens; "
                f"{self.spec.id} accepts at most {self.spec.max_length}"
            )
        vectors = self.embed_token_ids(tokenized.ids, progress=progress)
        return EmbeddingResult(vectors, tokenized.truncated, tokenized.ids)

    def embed_token_ids(
        self, token_ids: Sequence[Sequence[int]], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embed already-tokenized inputs (model-parity mode: the same ids on host and device)."""
        if not token_ids:
            raise InputError("no token sequences to embed")
        order = sorted(range(len(token_ids)), key=lambda i: len(token_ids[i]))
        out = np.empty((len(token_ids), self.spec.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._run_batch([token_ids[i] for i in batch])
            if progress is not None:
                progress(len(batch))
        return out

    def feeds_for(self, token_ids: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
        width = max(len(t) for t in token_ids)
        ids = np.full((len(token_ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, tokens in enumerate(token_ids):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return {name: feeds[name] for name in self.spec.inputs}

    def _run_batch(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        feeds = self.feeds_for(token_ids)
        output = self.session.run([self.spec.output], feeds)[0]
        return pool(output, feeds["attention_mask"], self.spec.pooling, self.spec.normalize)


def pool(output: np.ndarray, attention_mask: np.ndarray, pooling: str, normalize: bool) -> np.ndarray:
    """Apply the registry's pooling to a model output (pooled [n, d] or token-level [n, s, d])."""
    output = output.astype(np.float32, copy=False)
    if output.ndim == 3:
        if pooling == "cls":
            output = output[:, 0, :]
        else:  # token-level output with "mean" (or "none" on a token output: mean is the only sane default)
            mask = attention_mask[..., None].astype(np.float32)
            output = (output * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
    elif output.ndim != 2:
        raise InputError(f"model output has shape {output.shape}; expected [batch, dim] or [batch, seq, dim]")
    if normalize:
        norms = np.linalg.norm(output, axis=1, keepdims=True)
        output = output / np.clip(norms, 1e-12, None)
    return output.astype(np.float32, copy=False)
