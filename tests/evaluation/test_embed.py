"""Host embedding engine on the real models."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from harness.errors import InputError
from harness.evaluation.embed import Embedder, pool
from harness.evaluation.metrics import cosine_rows

SENTENCES = ["A man is playing a guitar.", "The weather is sunny today.", "ok", "Quantized models must rank alike."]


@pytest.fixture(scope="module")
def base(registry, model_file):
    model_file("AVA-ONX-384-BASE")
    return Embedder(registry.get("AVA-ONX-384-BASE"))


@pytest.fixture(scope="module")
def fast(registry, model_file):
    model_file("AVA-ONX-384-FAST")
    return Embedder(registry.get("AVA-ONX-384-FAST"))


def test_embeddings_are_unit_vectors_of_the_registered_dimension(base, fast):
    for embedder in (base, fast):
        result = embedder.embed(SENTENCES)
        assert result.vectors.shape == (4, 384) and result.vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
        assert not result.truncated.any()


def test_batching_does_not_change_results(base):
    together = base.embed(SENTENCES).vectors
    one_by_one = np.stack([base.embed([s]).vectors[0] for s in SENTENCES])
    assert np.abs(together - one_by_one).max() < 1e-5


def test_similar_sentences_are_closer(base):
    v = base.embed(
        ["A man is playing a guitar.", "A person plays the guitar.", "Stocks fell sharply on Monday."]
    ).vectors
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3


def test_pooled_output_of_the_byom_model_is_the_mean_of_its_token_output(fast):
    """Checks the registry's choice for the third-party ONNX: output 461 = mean pooling of the
    token vectors, so the engine's token-level pooling path gives the same vectors."""
    feeds = fast.feeds_for(fast.tokenize(SENTENCES).ids)
    tokens, pooled = fast.session.run(["onnx::Shape_422", "461"], feeds)
    assert tokens.ndim == 3 and pooled.ndim == 2
    mean = pool(tokens, feeds["attention_mask"], "mean", normalize=True)
    assert np.abs(mean - pool(pooled, feeds["attention_mask"], "none", normalize=True)).max() < 1e-5


def test_model_without_token_type_ids_gets_only_its_inputs(fast):
    assert set(fast.feeds_for([[101, 102]])) == {"input_ids", "attention_mask"}


def test_long_text_is_truncated_and_flagged(base):
    long_text = "retrieval " * 400
    result = base.embed(["short one", long_text])
    assert result.truncated.tolist() == [False, True]
    assert len(result.token_ids[1]) == base.spec.max_length and result.token_ids[1][-1] == base.sep_id
    with pytest.raises(InputError, match=r"text #2 has \d+ tokens; AVA-ONX-384-BASE accepts at most 256"):
        base.embed(["short one", long_text], strict_length=True)


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ([], "no texts"),
        (["fine", ""], "item #2 is empty"),
        (["   "], "item #1 is empty"),
        (["a", 3], "item #2 is int"),
        ("a string", "one string"),
    ],
)
def test_bad_texts(base, texts, message):
    with pytest.raises(InputError, match=message):
        base.embed(texts)


def test_non_ascii_text_embeds(base):
    result = base.embed(["Café crème brûlée ☕", "日本語のテキスト"])
    assert np.all(np.isfinite(result.vectors))


def test_model_parity_mode_uses_given_token_ids(base):
    ids = base.tokenize(SENTENCES).ids
    assert np.abs(base.embed_token_ids(ids) - base.embed(SENTENCES).vectors).max() == 0.0


def test_missing_model_file(registry, tmp_path):
    with pytest.raises(InputError, match=r"nope\.onnx: model file not found"):
        Embedder(registry.get("AVA-ONX-384-BASE"), tmp_path / "nope.onnx")


def test_cosine_rows():
    a = np.array([[1.0, 0.0], [1.0, 1.0]], dtype=np.float32)
    b = np.array([[0.0, 2.0], [2.0, 2.0]], dtype=np.float32)
    assert cosine_rows(a, b).tolist() == pytest.approx([0.0, 1.0])


def test_session_on_fp32_matches_onnxruntime_directly(base):
    session = ort.InferenceSession(str(base.model_path), providers=["CPUExecutionProvider"])
    feeds = base.feeds_for(base.tokenize(SENTENCES[:1]).ids)
    assert np.abs(session.run(None, feeds)[0] - base.embed(SENTENCES[:1]).vectors).max() == 0.0


# -- truncation keeps the model's own closing token ([SEP], or </s> for mpnet) ---------------------

LONG_TEXTS = ["retrieval " * 400, "ΣΟΦΟΣ [MASK] <mask> 北京 " * 200, "short one"]


def _tokenizer_cases() -> list[str]:
    from tests.android_jvm.test_kotlin_tokenizer import tokenizer_models

    return [*tokenizer_models(), "roberta-style"]


@pytest.mark.parametrize("case", _tokenizer_cases())
def test_truncation_ends_with_the_models_own_closing_token(case, registry, model_file, tmp_path):
    """A cut text is [CLS] ... [SEP] for BERT and <s> ... </s> (0 ... 2) for mpnet, as tokenizers'
    own truncation makes it (embed.py used to close every model's cut text with [SEP], 106 for mpnet)."""
    from tokenizers import Tokenizer

    from harness.evaluation.embed import HostTokenizer
    from tests.reference.test_wordpiece_matches_tokenizers import roberta_style_tokenizer

    spec = registry.get("AVA-ONX-384-BASE" if case == "roberta-style" else case)
    model_file(spec.id)
    path, limit = spec.tokenizer_path, spec.max_length
    if case == "roberta-style":  # mpnet's post-processor on every clone
        path, limit = roberta_style_tokenizer(path, tmp_path / "roberta.tokenizer.json"), 64
    host = HostTokenizer(path, limit)
    closing = {"all-mpnet-base-v2": (0, 2, 1), "roberta-style": (30522, 30523, 0)}
    cls_id, sep_id, pad_id = closing.get(case if case == "roberta-style" else spec.original, (101, 102, 0))
    assert (host.sep_id, host.pad_id) == (sep_id, pad_id)

    result = host.tokenize(LONG_TEXTS)
    assert result.truncated.tolist() == [True, True, False]
    assert all(count > limit for count in result.token_counts[:2]) and result.token_counts[2] < limit
    for ids in result.ids[:2]:
        assert len(ids) == limit and ids[0] == cls_id and ids[-1] == sep_id
    # Exactly tokenizers' own truncation; untruncated text as tokenizers encodes it.
    reference = Tokenizer.from_file(str(path))
    reference.no_padding()
    reference.enable_truncation(limit)
    assert result.ids == [list(e.ids) for e in reference.encode_batch(LONG_TEXTS)]
    # BASE/FAST: the same ids as the former hand truncation ([:limit - 1] + [SEP]), so cached host
    # evaluations stay valid.
    if cls_id == 101:
        untruncated = [list(e.ids) for e in host.tokenizer.encode_batch(LONG_TEXTS[:2])]
        assert result.ids[:2] == [[*ids[: limit - 1], 102] for ids in untruncated]
