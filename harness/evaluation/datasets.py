"""Evaluation sets: STS CSV (s1,s2,score), XQuAD/SQuAD JSON as a retrieval set, and BEIR
folders (corpus.jsonl, queries.jsonl, qrels/*.tsv). Bad files fail with one line naming the
file, line and field."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputError
from harness.settings import DATA_DIR

STSB_TEST = DATA_DIR / "stsb-en-test.csv"
XQUAD_EN = DATA_DIR / "xquad.en.json"


@dataclass(frozen=True)
class StsPair:
    sentence1: str
    sentence2: str
    score: float


@dataclass(frozen=True)
class RetrievalSet:
    name: str
    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance > 0}

    def head(self, n_queries: int) -> RetrievalSet:
        """The first n queries (with the whole corpus): a smaller set for quick checks."""
        ids = list(self.queries)[:n_queries]
        return RetrievalSet(self.name, self.corpus, {q: self.queries[q] for q in ids}, {q: self.qrels[q] for q in ids})


def _read_utf8(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(f"{path}: line {line}: not UTF-8 text (byte 0x{data[err.start]:02x})") from None
    if not text.strip():
        raise InputError(f"{path}: file is empty")
    return text


def load_sts_csv(path: Path) -> list[StsPair]:
    """STS pairs `sentence1,sentence2,score`; a header row (non-numeric score) is skipped."""
    text = _read_utf8(path)
    pairs: list[StsPair] = []
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise InputError(f"{path}: line {line_no}: expected 3 fields (sentence1,sentence2,score), got {len(row)}")
        s1, s2, raw_score = row
        try:
            score = float(raw_score)
        except ValueError:
            if line_no == 1:
                continue  # header
            raise InputError(f"{path}: line {line_no}: score {raw_score!r} is not a number") from None
        if not math.isfinite(score):
            raise InputError(f"{path}: line {line_no}: score {raw_score!r} is not finite")
        if not s1.strip() or not s2.strip():
            raise InputError(f"{path}: line {line_no}: empty sentence")
        pairs.append(StsPair(s1, s2, score))
    if len(pairs) < 2:
        raise InputError(f"{path}: needs at least 2 scored pairs for a Spearman correlation, found {len(pairs)}")
    return pairs


def load_squad_retrieval(path: Path, name: str | None = None) -> RetrievalSet:
    """A SQuAD-v1.1-format file (XQuAD) as retrieval: each question -> its paragraph."""
    text = _read_utf8(path)
    try:
        data = json.loads(text)
        corpus: dict[str, str] = {}
        queries: dict[str, str] = {}
        qrels: dict[str, dict[str, int]] = {}
        for a, article in enumerate(data["data"]):
            for p, paragraph in enumerate(article["paragraphs"]):
                doc_id = f"a{a}p{p}"
                corpus[doc_id] = paragraph["context"]
                for qa in paragraph["qas"]:
                    queries[qa["id"]] = qa["question"]
                    qrels[qa["id"]] = {doc_id: 1}
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: line {err.lineno}: not valid JSON ({err.msg})") from None
    except (KeyError, TypeError) as err:
        raise InputError(f"{path}: not SQuAD format (missing or wrong field {err})") from None
    if not corpus or not queries:
        raise InputError(f"{path}: no paragraphs or questions")
    return RetrievalSet(name or Path(path).stem, corpus, queries, qrels)


def _read_jsonl(path: Path, fields: tuple[str, ...]) -> list[dict]:
    rows = []
    for line_no, line in enumerate(_read_utf8(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}: line {line_no}: not valid JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}: line {line_no}: expected a JSON object")
        for field in fields:
            if field not in row:
                raise InputError(f"{path}: line {line_no}: missing field {field!r}")
        rows.append(row)
    return rows


def load_beir(directory: Path, split: str = "test") -> RetrievalSet:
    """A BEIR-format folder: corpus.jsonl (_id, title, text), queries.jsonl (_id, text),
    qrels/<split>.tsv (query-id, corpus-id, score; header row)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory (expected a BEIR folder)")
    corpus = {}
    for row in _read_jsonl(directory / "corpus.jsonl", ("_id", "text")):
        body = " ".join(part for part in (str(row.get("title") or ""), str(row["text"])) if part.strip())
        if not body.strip():
            raise InputError(f"{directory / 'corpus.jsonl'}: document {row['_id']!r} has no text")
        corpus[str(row["_id"])] = body
    queries = {}
    for row in _read_jsonl(directory / "queries.jsonl", ("_id", "text")):
        if not str(row["text"]).strip():
            raise InputError(f"{directory / 'queries.jsonl'}: query {row['_id']!r} is empty")
        queries[str(row["_id"])] = str(row["text"])
    qrels_path = directory / "qrels" / f"{split}.tsv"
    qrels: dict[str, dict[str, int]] = {}
    for line_no, line in enumerate(_read_utf8(qrels_path).splitlines(), start=1):
        fields = line.rstrip("\n").split("\t")
        if not line.strip() or (line_no == 1 and not fields[-1].strip().lstrip("-").isdigit()):
            continue
        if len(fields) != 3:
            raise InputError(f"{qrels_path}: line {line_no}: expected 3 tab-separated fields, got {len(fields)}")
        query_id, doc_id, raw = fields
        try:
            relevance = int(raw)
        except ValueError:
            raise InputError(f"{qrels_path}: line {line_no}: score {raw!r} is not an integer") from None
        if query_id not in queries:
            raise InputError(f"{qrels_path}: line {line_no}: unknown query id {query_id!r}")
        if doc_id not in corpus:
            raise InputError(f"{qrels_path}: line {line_no}: unknown corpus id {doc_id!r}")
        if relevance > 0:
            qrels.setdefault(query_id, {})[doc_id] = relevance
    queries = {q: t for q, t in queries.items() if q in qrels}
    if not queries:
        raise InputError(f"{qrels_path}: no query has a relevant document")
    return RetrievalSet(directory.name, corpus, queries, qrels)
