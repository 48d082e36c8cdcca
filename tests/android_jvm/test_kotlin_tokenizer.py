"""The reference app's Kotlin WordPiece tokenizer (device_tests/android/app/) against the host's
`tokenizers` library: identical token ids for every registered model's tokenizer.json on the
project's evaluation sentences (the sign-off texts, the chapter's texts, every STS-B test sentence,
every XQuAD paragraph) and on hostile text (accents, CJK, punctuation, controls, added tokens,
texts longer than the model's max length). The Kotlin side is compiled with kotlinc by
device_tests/android/app/jvm/build-checks.sh (cached under device_tests/android/build/, stamped
by an input hash) and run on the JVM through its TokenizerCheck tool.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from ava_reference.wordpiece import WordPieceTokenizer as PythonWordPiece
from harness.evaluation import chapter
from harness.evaluation.datasets import STSB_TEST, XQUAD_EN, load_squad_retrieval, load_sts_csv
from harness.models.registry import load_registry
from harness.signoff.compare import default_signoff_set

ROOT = Path(__file__).resolve().parents[2]
ANDROID = ROOT / "device_tests" / "android"
BUILD_CHECKS = ANDROID / "app" / "jvm" / "build-checks.sh"
KOTLIN_LIB = ANDROID / ".tools" / "node_modules" / "kotlin-compiler" / "lib"
TOOL = "com.augmentalis.ava.embedding.tools.TokenizerCheckKt"

pytestmark = pytest.mark.jvm

HOSTILE = [
    "Café naïve résumé, Ångström, façade, jalapeño, Tiếng Việt có dấu",
    "ΟΔΟΣ ΣΟΦΟΣ Σ σ ς",  # final sigma: tokenizers lowercases per character
    "İstanbul KELVIN K ﬁne ligature",
    "北京欢迎你 and 東京タワー, 한국어 문장, 𠀀𪜀 CJK Ext B",
    "𫠠x 𫠝y",  # U+2B820..U+2B91F: outside tokenizers' CJK ranges
    "a \u0378 b",  # unassigned (Cn): kept, so [UNK], not dropped as a control character
    "don't stop—believing… «quoted» „deutsch“ ¿qué? ¡sí! a/b\\c [x] {y} (z) ~`^ ±×÷ §¶",
    "tab\tnew\nline\r\nnbsp\u00a0ideographic\u3000sep\u2028para\u2029nel\u0085vt\u000bff\u000c",
    "\u0000null \ufffdreplacement zero\u200bwidth soft\u00adhyphen bidi\u202etext\u202c private\ue000use",
    "emoji 😀👩‍👩‍👧 flags 🇫🇷 skin 👍🏽",
    "[MASK] is a [CLS] token, [SEP][PAD] and [UNK]; [mask] in lowercase",
    "hello <mask> world, <s> and </s>, <UNK> <unk> <pad>",
    "x" * 150 + " " + "y" * 99 + " short",  # over and at max_input_chars_per_word
    "",
    "   \t\n ",
    "…",
    "The " + "quick brown fox jumps over the lazy dog and " * 120,
    " ".join(f"word{n}" for n in range(600)),
]


def evaluation_texts() -> list[str]:
    texts = list(default_signoff_set().texts)
    texts += [chapter.TEST_TEXT, chapter.SIMILARITY_TEXT, chapter.RAG_QUERY, *chapter.RAG_DOCUMENTS.values()]
    for pair in load_sts_csv(STSB_TEST):
        texts += [pair.sentence1, pair.sentence2]
    xquad = load_squad_retrieval(XQUAD_EN)
    texts += list(xquad.corpus.values()) + list(xquad.queries.values())[:200]
    return list(dict.fromkeys(texts))


@pytest.fixture(scope="session")
def checks_jar() -> Path:
    result = subprocess.run(["bash", str(BUILD_CHECKS)], capture_output=True, text=True, timeout=1500, cwd=ROOT)
    assert result.returncode == 0, f"{BUILD_CHECKS} failed:\n{result.stdout}\n{result.stderr}"
    return Path(result.stdout.strip().splitlines()[-1])


def run_tool(jar: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    classpath = f"{jar}:{ANDROID / 'build' / 'org-json.jar'}:{KOTLIN_LIB / 'kotlin-stdlib.jar'}"
    return subprocess.run(
        ["java", "-cp", classpath, TOOL, *map(str, args)], capture_output=True, text=True, timeout=300
    )


def kotlin_ids(jar: Path, tokenizer: Path, texts: list[str], max_length: int, tmp_path: Path) -> list[list[int]]:
    texts_file = tmp_path / "texts.json"
    texts_file.write_text(json.dumps(texts), encoding="utf-8")
    result = run_tool(jar, "tokenize", tokenizer, texts_file, str(max_length))
    assert result.returncode == 0, result.stderr
    ids = json.loads(result.stdout)
    assert len(ids) == len(texts)
    return ids


def host_ids(tokenizer: Path, texts: list[str], max_length: int) -> list[list[int]]:
    """tokenizers' own truncation (the special tokens kept) at the registry's max length."""
    from tokenizers import Tokenizer

    host = Tokenizer.from_file(str(tokenizer))
    host.no_padding()
    host.enable_truncation(max_length)
    return [list(e.ids) for e in host.encode_batch(texts)]


def tokenizer_models() -> list[str]:
    """Every available registered model; a large one only when it is built here (make models-large)."""
    registry = load_registry()
    large = [i for i in registry.available_base_ids(include_large=True) if registry.get(i).large]
    return registry.available_base_ids() + [i for i in large if registry.get(i).tokenizer_path.is_file()]


@pytest.mark.parametrize("model_id", tokenizer_models())
def test_kotlin_tokenizer_matches_host_tokenizers(
    model_id: str, checks_jar: Path, model_file: Callable[[str], Path], tmp_path: Path
) -> None:
    spec = load_registry().get(model_id)
    model_file(model_id)  # builds the original and its tokenizer.json on a fresh clone
    texts = evaluation_texts() + HOSTILE
    expected = host_ids(spec.tokenizer_path, texts, spec.max_length)
    got = kotlin_ids(checks_jar, spec.tokenizer_path, texts, spec.max_length, tmp_path)
    wrong = [i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b]
    assert not wrong, (
        f"{len(wrong)} of {len(texts)} texts differ; first: {texts[wrong[0]]!r}\n{expected[wrong[0]]}\n{got[wrong[0]]}"
    )
    # The comparison covered what it claims: texts cut at max_length, empty ones.
    truncated = sum(len(ids) == spec.max_length for ids in expected)
    assert truncated >= 3, f"only {truncated} texts reach max_length {spec.max_length}"
    assert sum(len(ids) == 2 for ids in expected) >= 2  # empty and whitespace-only texts


def test_kotlin_tokenizer_matches_python_reference(
    checks_jar: Path, model_file: Callable[[str], Path], tmp_path: Path
) -> None:
    """On the evaluation texts the Kotlin tokenizer and ava_reference/wordpiece.py agree too."""
    spec = load_registry().get("AVA-ONX-384-BASE")
    model_file(spec.id)
    texts = evaluation_texts()
    reference = PythonWordPiece(spec.tokenizer_path)
    expected = [reference.encode(text, spec.max_length) for text in texts]
    assert kotlin_ids(checks_jar, spec.tokenizer_path, texts, spec.max_length, tmp_path) == expected


def test_kotlin_tokenizer_truncates_at_the_given_length(
    checks_jar: Path, model_file: Callable[[str], Path], tmp_path: Path
) -> None:
    spec = load_registry().get("AVA-ONX-384-BASE")
    model_file(spec.id)
    text = "one two three four five six seven eight nine ten"
    full, short = (kotlin_ids(checks_jar, spec.tokenizer_path, [text], n, tmp_path)[0] for n in (64, 6))
    assert len(full) == 12 and full[0] == 101 and full[-1] == 102
    assert short == [*full[:5], 102]


def test_kotlin_tokenizer_rejects_a_non_wordpiece_tokenizer(checks_jar: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bpe.tokenizer.json"
    bad.write_text(json.dumps({"model": {"type": "BPE", "vocab": {}}}), encoding="utf-8")
    texts = tmp_path / "t.json"
    texts.write_text("[]", encoding="utf-8")
    result = run_tool(checks_jar, "tokenize", bad, texts, "16")
    assert result.returncode == 2
    assert result.stderr.strip() == f'error: {bad}: not a WordPiece tokenizer (model.type = "BPE")'


def test_kotlin_model_map_matches_registry(checks_jar: Path) -> None:
    """The provider's model-ID map and configurations are the registry's (models/registry.toml)."""
    result = run_tool(checks_jar, "models")
    assert result.returncode == 0, result.stderr
    kotlin = json.loads(result.stdout)
    registry = load_registry()
    raw = {m["id"]: m for m in tomllib.loads(registry.path.read_text(encoding="utf-8"))["model"]}
    for model_id in registry.available_base_ids(include_large=True):
        spec = registry.get(model_id)
        assert kotlin["models"][model_id] == {
            "original": spec.original,
            "dimension": spec.dimension,
            "inputs": list(spec.inputs),
            "output": spec.output,
            "pooling": spec.pooling,
            "normalize": spec.normalize,
            "maxLength": spec.max_length,
        }
        for variant in ("", "-INT8", "-FP16"):
            assert kotlin["modelIdMap"][model_id + variant] == spec.original
    # The chapter's own map (28A.5) names the multilingual model too.
    multi = "AVA-ONX-384-MULTI"
    assert kotlin["modelIdMap"][f"{multi}-INT8"] == raw[multi]["original"] == "paraphrase-multilingual-MiniLM-L12-v2"
