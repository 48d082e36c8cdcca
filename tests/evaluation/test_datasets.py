"""Evaluation-set loaders on the real STS-B and XQuAD files, and every malformed-input shape."""

from __future__ import annotations

import json

import pytest

from harness.errors import InputError
from harness.evaluation.datasets import STSB_TEST, XQUAD_EN, load_beir, load_squad_retrieval, load_sts_csv
from tests.helpers import assert_user_error, run_cli


def test_real_stsb_test_split():
    pairs = load_sts_csv(STSB_TEST)
    assert len(pairs) == 1379
    assert pairs[0].sentence1 == "A girl is styling her hair." and pairs[0].score == 2.5
    assert all(0.0 <= p.score <= 5.0 for p in pairs)


def test_real_xquad_as_retrieval():
    data = load_squad_retrieval(XQUAD_EN)
    assert len(data.corpus) == 240 and len(data.queries) == 1190
    assert all(len(rel) == 1 and next(iter(rel)) in data.corpus for rel in data.qrels.values())


def test_sts_header_is_skipped(tmp_path):
    path = tmp_path / "sts.csv"
    path.write_text("sentence1,sentence2,score\na cat,a dog,1.0\na car,an auto,4.5\n")
    assert [p.score for p in load_sts_csv(path)] == [1.0, 4.5]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"a,b,1\nonly two,fields\n", "line 2: expected 3 fields"),
        (b"a,b,1\nc,d,high\n", "line 2: score 'high' is not a number"),
        (b"a,b,1\n,d,2\n", "line 2: empty sentence"),
        (b"a,b,1\nc,d,nan\n", "line 2: score 'nan' is not finite"),
        (b"a,b,1\n", "at least 2 scored pairs"),
        (b"a,b,1\ncaf\xe9,d,2\n", "line 2: not UTF-8"),
    ],
)
def test_malformed_sts_csv(tmp_path, content, message):
    path = tmp_path / "mine.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_sts_csv(path)


def _beir(tmp_path, corpus=None, queries=None, qrels=None):
    root = tmp_path / "beir"
    (root / "qrels").mkdir(parents=True)
    docs = (
        corpus
        if corpus is not None
        else [
            {"_id": "d1", "title": "AI", "text": "AI transforms industries"},
            {"_id": "d2", "text": "Weather is sunny"},
        ]
    )
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) if isinstance(docs, list) else docs)
    qs = queries if queries is not None else [{"_id": "q1", "text": "artificial intelligence"}]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in qs) if isinstance(qs, list) else qs)
    (root / "qrels" / "test.tsv").write_text(qrels if qrels is not None else "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    return root


def test_beir_folder(tmp_path):
    data = load_beir(_beir(tmp_path))
    assert data.corpus["d1"] == "AI AI transforms industries"
    assert data.qrels == {"q1": {"d1": 1}}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"corpus": "{not json"}, "corpus.jsonl: line 1: not valid JSON"),
        ({"corpus": [{"text": "no id"}]}, "corpus.jsonl: line 1: missing field '_id'"),
        ({"queries": [{"_id": "q1", "text": ""}]}, "query 'q1' is empty"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td9\t1\n"}, "line 2: unknown corpus id 'd9'"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1 d1 1\n"}, "line 2: expected 3 tab-separated fields"),
        ({"qrels": "query-id\tcorpus-id\tscore\n"}, "no query has a relevant document"),
        ({"corpus": ""}, "corpus.jsonl: file is empty"),
    ],
)
def test_malformed_beir(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        load_beir(_beir(tmp_path, **kwargs))


def test_beir_missing_file(tmp_path):
    root = _beir(tmp_path)
    (root / "queries.jsonl").unlink()
    with pytest.raises(InputError, match=r"queries\.jsonl: file not found"):
        load_beir(root)


def test_xquad_not_squad(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"version": 1}))
    with pytest.raises(InputError, match="not SQuAD format"):
        load_squad_retrieval(path)


def test_cli_eval_with_malformed_sts_file(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"a,b,1\ncaf\xe9,d,2\n")
    assert_user_error(run_cli("eval", "AVA-ONX-384-FAST-INT8", "--sts", str(path)), "broken.csv", "not UTF-8")


def test_cli_eval_with_malformed_beir(tmp_path):
    root = _beir(tmp_path, qrels="query-id\tcorpus-id\tscore\nq1\td1\tx\n")
    assert_user_error(run_cli("eval", "AVA-ONX-384-FAST-INT8", "--beir", str(root)), "test.tsv", "line 2")
