"""The Python device reference's WordPiece tokenizer (ava_reference/wordpiece.py) against the host's
`tokenizers` library: identical token ids for every registered model's tokenizer.json (MiniLM BASE
and FAST, mpnet QUAL when it is built here) on the sign-off texts, a sample of STS-B and hostile text
(final sigma, CJK extension blocks, [MASK]/<mask> written in the text, controls, texts longer than
the model's max length). A RoBERTa-style tokenizer.json made from BASE's (<s>/</s> post-processor,
an lstrip <mask>, a normalized <unk>) covers mpnet's rules on a fresh clone, where the large model
is not built.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ava_reference.wordpiece import WordPieceTokenizer
from harness.evaluation.datasets import STSB_TEST, load_sts_csv
from harness.models.registry import load_registry
from harness.signoff.compare import default_signoff_set
from tests.android_jvm.test_kotlin_tokenizer import HOSTILE, host_ids, tokenizer_models

# Beyond the Kotlin test's hostile list: each line is one of the reference's former bugs or a rule
# where Python's string methods differ from the Rust library's.
MORE_HOSTILE = [
    "ΣΑΣ ΟΔΟΣ. ΟΔΟΣ, Σ.",  # str.lower() gives word-final ς; tokenizers gives σ
    "a \U0002b820 \U0002b91f \U0002b920 \U0002ceaf b",  # the CJK range starts at 0x2B920
    "[CLS][SEP][MASK] <s></s><mask> <MASK> <Mask> [mask]",
    "hello<mask>world  <mask>  x \t<mask>",  # mpnet's <mask> takes the whitespace before it
    "<UNK> <Unk> <unk>",  # mpnet's <unk> is a normalized added token
    "a \u0378 b \U000e0080 c",  # unassigned code points are kept (unicode_categories lists no Cn)
    "a\u00adb\u2060c\U000e0001d \u061c e",  # format characters (Cf) are removed
    "a\u001cb\u001fc",  # str.isspace() is true for these; Rust's is_whitespace is not
    "\u0130stanbul \u212a \ufb01 \u1e9e",
    "ΣΟΦΟΣ [MASK] <mask> 北京 " * 200,  # cut at max_length, added tokens and CJK up to the cut
]


def sample_texts() -> list[str]:
    texts = list(default_signoff_set().texts)
    for pair in load_sts_csv(STSB_TEST)[::8]:
        texts += [pair.sentence1, pair.sentence2]
    return list(dict.fromkeys(texts + HOSTILE + MORE_HOSTILE))


def roberta_style_tokenizer(bert_tokenizer: Path, out: Path) -> Path:
    """BERT's tokenizer.json given mpnet's post-processor and added tokens (new ids past the vocab)."""
    spec = json.loads(bert_tokenizer.read_text(encoding="utf-8"))
    spec = copy.deepcopy(spec)
    vocab = spec["model"]["vocab"]
    base = len(vocab)
    extra = {"<s>": base, "</s>": base + 1, "<unk>": base + 2, "<mask>": base + 3}
    vocab.update(extra)
    spec["post_processor"] = {
        "type": "RobertaProcessing",
        "sep": ["</s>", extra["</s>"]],
        "cls": ["<s>", extra["<s>"]],
        "trim_offsets": True,
        "add_prefix_space": False,
    }
    spec["added_tokens"] += [  # BERT's [MASK] etc. stay, as mpnet keeps its [UNK]
        {"id": i, "content": c, "single_word": False, "lstrip": c == "<mask>", "rstrip": False}
        | {"normalized": c == "<unk>", "special": True}
        for c, i in extra.items()
    ]
    spec["truncation"] = spec["padding"] = None
    out.write_text(json.dumps(spec), encoding="utf-8")
    return out


def assert_same_ids(tokenizer: Path, max_length: int, texts: list[str]) -> list[list[int]]:
    expected = host_ids(tokenizer, texts, max_length)
    reference = WordPieceTokenizer(tokenizer)
    got = [reference.encode(text, max_length) for text in texts]
    wrong = [i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b]
    assert not wrong, (
        f"{len(wrong)} of {len(texts)} texts differ; first: {texts[wrong[0]]!r}\n{expected[wrong[0]]}\n{got[wrong[0]]}"
    )
    # The comparison covered what it claims: texts cut at max_length, empty ones.
    assert sum(len(ids) == max_length for ids in expected) >= 3
    assert sum(len(ids) == 2 for ids in expected) >= 2
    return expected


@pytest.mark.parametrize("model_id", tokenizer_models())
def test_reference_tokenizer_matches_host_tokenizers(model_id: str, model_file: Callable[[str], Path]) -> None:
    spec = load_registry().get(model_id)
    model_file(model_id)  # builds the original and its tokenizer.json on a fresh clone
    expected = assert_same_ids(spec.tokenizer_path, spec.max_length, sample_texts())
    reference = WordPieceTokenizer(spec.tokenizer_path)
    # Each text starts and ends with the post-processor's own tokens (mpnet: <s> = 0, </s> = 2).
    assert {ids[0] for ids in expected} == {reference.cls_id}
    assert {ids[-1] for ids in expected} == {reference.sep_id}
    if spec.original == "all-mpnet-base-v2":
        assert (reference.cls_id, reference.sep_id) == (0, 2)
    else:
        assert (reference.cls_id, reference.sep_id) == (101, 102)


def test_reference_tokenizer_matches_host_tokenizers_roberta_style(
    model_file: Callable[[str], Path], tmp_path: Path
) -> None:
    """mpnet's rules on every clone: <s>/</s> from RobertaProcessing, <mask> with lstrip, normalized <unk>."""
    spec = load_registry().get("AVA-ONX-384-BASE")
    model_file(spec.id)
    tokenizer = roberta_style_tokenizer(spec.tokenizer_path, tmp_path / "roberta.tokenizer.json")
    reference = WordPieceTokenizer(tokenizer)
    size = len(json.loads(spec.tokenizer_path.read_text(encoding="utf-8"))["model"]["vocab"])
    assert (reference.cls_id, reference.sep_id) == (size, size + 1)
    assert_same_ids(tokenizer, 64, sample_texts())
    # The added tokens are split out (the lstrip one eats its leading spaces), not word-pieced.
    ids = reference.encode("hello  <mask> <UNK> [MASK]", 64)
    assert ids == [size, reference.vocab["hello"], size + 3, size + 2, 103, size + 1]


def test_reference_tokenizer_rules_the_old_one_broke(model_file: Callable[[str], Path]) -> None:
    spec = load_registry().get("AVA-ONX-384-BASE")
    model_file(spec.id)
    reference = WordPieceTokenizer(spec.tokenizer_path)
    assert reference.normalize("ΟΔΟΣ") == "οδοσ"  # not "οδος"
    assert reference.normalize("\U0002b820\U0002b920") == "\U0002b820 \U0002b920 "
    assert reference.encode("[MASK] x", 16) == [101, 103, reference.vocab["x"], 102]
    long_ids = reference.encode("word " * 40, 16)
    assert len(long_ids) == 16 and long_ids[-1] == 102


def test_reference_tokenizer_rejects_what_it_does_not_implement(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}
    for spec, message in [
        ({"model": {"type": "BPE", "vocab": {}}}, "not a WordPiece tokenizer"),
        ({"model": {"type": "WordPiece", "vocab": {}}}, "unk_token '\\[UNK\\]' is not in the vocabulary"),
        ({"model": {"type": "WordPiece", "vocab": vocab}, "post_processor": {"type": "ByteLevel"}}, "post_processor"),
        ({"model": {"type": "WordPiece", "vocab": vocab}, "normalizer": {"type": "NFKC"}}, "normalizer"),
    ]:
        path.write_text(json.dumps(spec), encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            WordPieceTokenizer(path)


def test_minimal_tokenizer_json_gets_bert_defaults(tmp_path: Path) -> None:
    """A hand-made tokenizer.json with only the model (the device-contract tests' tiny one)
    lowercases and adds [CLS]/[SEP] as BERT does; explicit nulls mean none, as in tokenizers."""
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "ai", "AI"])}
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"model": {"type": "WordPiece", "vocab": vocab}}), encoding="utf-8")
    assert WordPieceTokenizer(path).encode("AI", 8) == [2, 4, 3]
    path.write_text(
        json.dumps({"model": {"type": "WordPiece", "vocab": vocab}} | dict.fromkeys(["normalizer", "post_processor"])),
        encoding="utf-8",
    )
    assert WordPieceTokenizer(path).encode("AI", 8) == [5]
