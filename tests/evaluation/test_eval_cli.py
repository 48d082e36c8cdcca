"""`eval`'s options, checked once before any work; `--json -`; an interrupt writes nothing; a
non-default preset evaluated in a file of its own, leaving the deployed file as it was."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from harness.cli.evaluate import at_least, check_eval_outputs
from harness.errors import InputError
from harness.evaluation.evaluate import EmbeddingCache
from harness.fileio import sha256_file
from tests.helpers import assert_user_error, run_cli

MODEL = "AVA-ONX-384-BASE-INT8"


def _refused_before_any_work(result, *needles: str) -> None:
    """Exit 2 and one `error:` line is all stderr holds: no progress line, so nothing was built,
    quantized or evaluated."""
    line = assert_user_error(result, *needles)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [line]
    assert result.stdout == ""


def test_at_least_parses_whole_numbers_from_the_minimum():
    parse = at_least(1, "--limit")
    assert parse("1") == 1 and parse("250") == 250 and parse(3) == 3
    for bad, needle in [("0", "--limit 0: must be >= 1"), ("-5", "--limit -5: must be >= 1"), ("2.5", "not a whole")]:
        with pytest.raises(InputError, match=needle):
            parse(bad)


def test_check_eval_outputs(tmp_path):
    check_eval_outputs(Path("-"), tmp_path / "m.json")  # stdout and a new file: fine
    check_eval_outputs(None, None)
    with pytest.raises(InputError, match="--manifest -: give a file name"):
        check_eval_outputs(None, Path("-"))
    with pytest.raises(InputError, match="--json and --manifest are both"):
        check_eval_outputs(tmp_path / "x.json", tmp_path / "x.json")
    with pytest.raises(InputError, match=r"^--manifest .*: is a directory"):
        check_eval_outputs(None, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "needles"),
    [
        (["--limit", "-5"], ["--limit -5", ">= 1"]),
        (["--limit", "0"], ["--limit 0", ">= 1"]),
        (["--limit", "ten"], ["--limit ten", "not a whole number"]),
        (["--threads", "0"], ["--threads 0", ">= 1"]),
        (["--preset", "riscv"], ["--preset riscv", "arm64, x86, chapter, fp16, fp16-occ"]),
        (["--preset", "fp16"], ["'fp16'", "fp16 preset, not int8"]),
        (["--json", "/proc/eval.json"], ["--json /proc/eval.json", "cannot create files in /proc"]),
        (["--manifest", "/proc/self/m.json"], ["--manifest /proc/self/m.json", "cannot create files"]),
        (["--json", "-", "--manifest", "-"], ["--manifest -", "give a file name"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v[0].startswith("--") else None,
)
def test_bad_options_are_one_line_before_any_work(options, needles):
    _refused_before_any_work(run_cli("eval", MODEL, *options), *needles)


def test_json_to_a_directory_or_under_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    _refused_before_any_work(run_cli("eval", MODEL, "--json", str(tmp_path)), f"--json {tmp_path}", "is a directory")
    under = tmp_path / "notes.txt" / "eval.json"
    _refused_before_any_work(run_cli("eval", MODEL, "--manifest", str(under)), "notes.txt is not a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_preset_for_an_fp32_model_is_refused():
    _refused_before_any_work(run_cli("eval", "AVA-ONX-384-BASE", "--preset", "chapter"), "FP32 model")


def test_help_lists_presets_and_ranges():
    result = run_cli("eval", "--help")
    assert result.returncode == 0
    assert "arm64|x86|chapter|fp16|fp16-occ" in result.stdout and "x>=1" in result.stdout


def test_an_interrupted_cache_write_leaves_no_file(tmp_path, monkeypatch):
    spec = SimpleNamespace(output="o", pooling="mean", normalize=True, max_length=8, dimension=4)
    embedder = SimpleNamespace(
        spec=spec,
        batch_size=1,
        embed=lambda texts, progress=None: SimpleNamespace(vectors=np.ones((len(texts), 4), np.float32)),
    )

    def interrupted_save(handle, _array):
        handle.write(b"\x93NUMPY half")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        EmbeddingCache(tmp_path).get_or_compute(embedder, "0" * 64, ["a text"])
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_evaluation_writes_no_report(tmp_path, monkeypatch, model_file):
    """Ctrl-C while evaluating: neither --json nor --manifest exists afterwards."""
    import harness.evaluation.evaluate as evaluate_module
    from harness.cli.evaluate import eval_command

    model_file(MODEL)

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate_module, "evaluate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        eval_command(MODEL, limit=5, json_out=tmp_path / "e.json", manifest=tmp_path / "m.json")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # quantizes MiniLM-L6 with the chapter recipe and evaluates it on 20 pairs / questions
def test_eval_with_a_non_default_preset_leaves_the_deployed_file_as_it_was(registry, model_file):
    """`eval --preset chapter` used to overwrite models/quantized/<ID>.onnx, and the next deploy-test
    re-quantized it back. Now the chapter file is its own; `--json -` puts only JSON on stdout."""
    from harness.models.store import ensure_model_file, quant_record_path, quantized_file

    default = model_file(MODEL)
    spec = registry.get(MODEL)
    assert default == spec.quantized_path
    before_bytes, before_sha = default.read_bytes(), sha256_file(default)

    result = run_cli("eval", MODEL, "--preset", "chapter", "--limit", "20", "--json", "-")
    report = json.loads(result.stdout)  # stdout is the JSON and nothing else
    assert result.returncode == (0 if report["passed"] else 1), result.stderr
    chapter = quantized_file(spec, "chapter")
    assert chapter.name == f"{MODEL}@chapter.onnx" and chapter.is_file()
    assert report["preset"] == "chapter" and report["model_path"] == str(chapter)
    assert report["model_sha256"] == sha256_file(chapter) != before_sha
    assert json.loads(quant_record_path(spec, "chapter").read_text())["preset"] == "chapter"
    assert "Quality Impact" in result.stderr  # the tables went to stderr

    assert default.read_bytes() == before_bytes and sha256_file(default) == before_sha
    messages: list[str] = []
    assert ensure_model_file(spec, registry, progress=messages.append) == default  # as deploy-test asks
    assert not any("quantizing" in m for m in messages), messages  # the default file is still valid
    assert sha256_file(default) == before_sha
