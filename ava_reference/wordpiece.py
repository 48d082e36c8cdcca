"""A BERT WordPiece tokenizer read from a Hugging Face tokenizer.json, written from the algorithm
as an app would ship one (no native `tokenizers`): added tokens split out of the raw text, then
BertNormalizer (clean_text, handle_chinese_chars, strip_accents, lowercase), BertPreTokenizer
(whitespace, isolated punctuation), greedy longest-match WordPiece, and the post-processor's
special tokens ([CLS] ... [SEP], or RobertaProcessing's <s> ... </s>), truncated to a maximum
length that keeps the closing token.

It follows the Rust `tokenizers` rules character for character, as the Kotlin app's
WordPieceTokenizer.kt does, so it is an independent implementation of what the host's library does:
end-to-end mode compares the two and catches tokenizer drift. Where the Rust rules differ from
Python's string methods the Rust ones win (per-character lowercasing, Unicode White_Space).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Unicode White_Space, Rust's char::is_whitespace (str.isspace also takes U+001C..U+001F).
_WHITESPACE = frozenset(
    [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
)
# tokenizers' is_control is unicode_categories' is_other: its tables come from UnicodeData.txt, which
# lists no unassigned (Cn) code points, so an unassigned character is kept (and becomes [UNK]).
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
# The CJK blocks BERT pads with spaces (tokenizers' is_chinese_char; note 0x2B920, not 0x2B820).
_CHINESE_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
_BERT_DEFAULT_NORMALIZER = {"type": "BertNormalizer", "lowercase": True, "strip_accents": None}


def _is_whitespace(char: str) -> bool:
    return ord(char) in _WHITESPACE


def _is_control(char: str) -> bool:
    return char not in "\t\n\r" and unicodedata.category(char) in _CONTROL_CATEGORIES


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_chinese(code: int) -> bool:
    return any(low <= code <= high for low, high in _CHINESE_RANGES)


@dataclass(frozen=True)
class _AddedToken:
    content: str
    id: int
    lstrip: bool
    rstrip: bool


class WordPieceTokenizer:
    def __init__(self, tokenizer_json: Path) -> None:
        spec = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
        model = spec["model"]
        if model.get("type") != "WordPiece":
            raise ValueError(f"{tokenizer_json}: not a WordPiece tokenizer ({model.get('type')})")
        self.vocab: dict[str, int] = model["vocab"]
        self.unk = model.get("unk_token", "[UNK]")
        if self.unk not in self.vocab:
            raise ValueError(f"{tokenizer_json}: unk_token {self.unk!r} is not in the vocabulary")
        self.prefix = model.get("continuing_subword_prefix", "##")
        self.max_chars = int(model.get("max_input_chars_per_word", 100))

        # A tokenizer.json without the key at all (a hand-made minimal one) gets classic BERT's
        # normalizer and [CLS]/[SEP]; an explicit null means none, as in tokenizers.
        normalizer = spec.get("normalizer", _BERT_DEFAULT_NORMALIZER)
        if normalizer is not None and normalizer.get("type") != "BertNormalizer":
            raise ValueError(f"{tokenizer_json}: unsupported normalizer {normalizer.get('type')!r}")
        normalizer = normalizer or {}
        present = bool(normalizer)
        self.clean_text = present and bool(normalizer.get("clean_text", True))
        self.handle_chinese_chars = present and bool(normalizer.get("handle_chinese_chars", True))
        self.lowercase = present and bool(normalizer.get("lowercase", True))
        strip = normalizer.get("strip_accents")
        # strip_accents null means "as lowercase" (tokenizers' BertNormalizer, BERT's BasicTokenizer).
        self.strip_accents = self.lowercase if strip is None else bool(strip)

        pre = spec.get("pre_tokenizer") or {"type": "BertPreTokenizer"}
        if pre.get("type") != "BertPreTokenizer":
            raise ValueError(f"{tokenizer_json}: unsupported pre_tokenizer {pre.get('type')!r}")

        self.prefix_ids, self.suffix_ids = self._post_processor(spec, tokenizer_json)

        self._raw_added: list[_AddedToken] = []
        self._normalized_added: list[_AddedToken] = []
        for entry in spec.get("added_tokens") or []:
            if entry.get("single_word", False):
                raise ValueError(f"{tokenizer_json}: added token {entry['content']!r} with single_word")
            normalized = bool(entry.get("normalized", not entry.get("special", False)))
            # A normalized added token is looked for in normalized text, so its pattern is normalized too.
            content = self.normalize(entry["content"]) if normalized else entry["content"]
            if not content:
                continue
            token = _AddedToken(content, int(entry["id"]), bool(entry.get("lstrip")), bool(entry.get("rstrip")))
            (self._normalized_added if normalized else self._raw_added).append(token)
        self._raw_pattern = self._pattern(self._raw_added)
        self._normalized_pattern = self._pattern(self._normalized_added)
        self._raw_by_content = {t.content: t for t in self._raw_added}
        self._normalized_by_content = {t.content: t for t in self._normalized_added}

    @property
    def cls_id(self) -> int | None:
        return self.prefix_ids[0] if self.prefix_ids else None

    @property
    def sep_id(self) -> int | None:
        """The closing special token (the one truncation keeps): [SEP], or </s> for RoBERTa-style."""
        return self.suffix_ids[-1] if self.suffix_ids else None

    def _post_processor(self, spec: dict[str, Any], where: Path) -> tuple[list[int], list[int]]:
        """Ids before and after the text: the post-processor's single-sequence template."""
        if "post_processor" not in spec:
            return [self.vocab.get("[CLS]", 101)], [self.vocab.get("[SEP]", 102)]
        processor = spec["post_processor"]
        if processor is None:
            return [], []
        kind = processor.get("type")
        if kind in ("BertProcessing", "RobertaProcessing"):
            return [int(processor["cls"][1])], [int(processor["sep"][1])]
        if kind != "TemplateProcessing":
            raise ValueError(f"{where}: unsupported post_processor {kind!r}")
        specials = processor.get("special_tokens") or {}
        before: list[int] = []
        after: list[int] = []
        seen_sequence = False
        for item in processor["single"]:
            if "Sequence" in item:
                seen_sequence = True
                continue
            name = item["SpecialToken"]["id"]
            if name in specials:
                ids = [int(i) for i in specials[name]["ids"]]
            elif name in self.vocab:
                ids = [self.vocab[name]]
            else:
                raise ValueError(f"{where}: special token {name!r} has no id")
            (after if seen_sequence else before).extend(ids)
        return before, after

    def normalize(self, text: str) -> str:
        """BertNormalizer, in its order: clean_text, handle_chinese_chars, strip_accents, lowercase."""
        out = []
        for char in text:
            code = ord(char)
            if self.clean_text:
                if code == 0 or code == 0xFFFD or _is_control(char):
                    continue
                if _is_whitespace(char):
                    out.append(" ")
                    continue
            if self.handle_chinese_chars and _is_chinese(code):
                out.append(f" {char} ")
            else:
                out.append(char)
        result = "".join(out)
        if self.strip_accents:
            result = "".join(c for c in unicodedata.normalize("NFD", result) if unicodedata.category(c) != "Mn")
        if self.lowercase:
            # Per character, as Rust's char::to_lowercase: no context-dependent final sigma (str.lower
            # turns a word-final Σ into ς; tokenizers gives σ).
            result = "".join(c.lower() for c in result)
        return result

    @staticmethod
    def pre_tokenize(text: str) -> list[str]:
        """BertPreTokenizer: split on whitespace (dropped) and around each punctuation character (kept)."""
        words: list[str] = []
        current: list[str] = []
        for char in text:
            space = _is_whitespace(char)
            if space or _is_punctuation(char):
                if current:
                    words.append("".join(current))
                    current = []
                if not space:
                    words.append(char)
            else:
                current.append(char)
        if current:
            words.append("".join(current))
        return words

    def _wordpiece(self, word: str, out: list[int]) -> None:
        """Greedy longest-match-first; a word with any unmatched rest becomes one unk token."""
        unk = self.vocab[self.unk]
        if len(word) > self.max_chars:
            out.append(unk)
            return
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                found = self.vocab.get(word[start:end] if start == 0 else self.prefix + word[start:end])
                if found is not None:
                    break
                end -= 1
            if found is None:
                out.append(unk)
                return
            pieces.append(found)
            start = end
        out.extend(pieces)

    @staticmethod
    def _pattern(tokens: list[_AddedToken]) -> re.Pattern[str] | None:
        # Longest first: a regex alternation takes the first alternative that matches at the
        # leftmost position, which makes it tokenizers' leftmost-longest match.
        ordered = sorted(tokens, key=lambda t: len(t.content), reverse=True)
        return re.compile("|".join(re.escape(t.content) for t in ordered)) if tokens else None

    @staticmethod
    def _split_added(
        text: str, pattern: re.Pattern[str] | None, tokens: dict[str, _AddedToken]
    ) -> list[tuple[str, int | None]]:
        """Splits text at the leftmost-longest occurrences of added tokens (tokenizers'
        AddedVocabulary): (piece, None) between matches, (content, id) for a match; lstrip/rstrip
        tokens also take the whitespace next to them."""
        if pattern is None:
            return [(text, None)]
        parts: list[tuple[str, int | None]] = []
        piece_start = 0
        for match in pattern.finditer(text):
            token = tokens[match.group()]
            match_start, match_end = match.span()
            if token.lstrip:
                while match_start > piece_start and _is_whitespace(text[match_start - 1]):
                    match_start -= 1
            if token.rstrip:
                while match_end < len(text) and _is_whitespace(text[match_end]):
                    match_end += 1
            if match_start > piece_start:
                parts.append((text[piece_start:match_start], None))
            parts.append((token.content, token.id))
            piece_start = match_end
        if piece_start < len(text):
            parts.append((text[piece_start:], None))
        return parts

    def encode(self, text: str, max_length: int) -> list[int]:
        """Token ids with the special tokens, truncated to max_length ids (the closing token kept)."""
        room = max_length - len(self.prefix_ids) - len(self.suffix_ids)
        if room < 0:
            raise ValueError(f"max_length {max_length} leaves no room for the special tokens")
        body: list[int] = []
        for piece, raw_id in self._split_added(text, self._raw_pattern, self._raw_by_content):
            if raw_id is not None:
                body.append(raw_id)
                continue
            for normalized, added_id in self._split_added(
                self.normalize(piece), self._normalized_pattern, self._normalized_by_content
            ):
                if added_id is not None:
                    body.append(added_id)
                else:
                    for word in self.pre_tokenize(normalized):
                        self._wordpiece(word, body)
        return [*self.prefix_ids, *body[:room], *self.suffix_ids]
