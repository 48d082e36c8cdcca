"""Chapter 28A's own commands, as it writes them: `python3 scripts/quantize-models.py IN OUT
int8|fp16` and `./scripts/quantize-all-models.sh models/ int8` write the same bytes as the
`ava-harness quantize` / `quantize-all` commands they wrap, with the chapter's output names, and a
usage mistake is one error line with exit status 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import PROJECT_ROOT, assert_user_error, run_cli
from tests.models.conftest import write_tiny_model

SCRIPT = PROJECT_ROOT / "scripts" / "quantize-models.py"
BATCH = PROJECT_ROOT / "scripts" / "quantize-all-models.sh"


def _run(
    command: list[str], env: dict[str, str] | None = None, cwd: Path = PROJECT_ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )


def _fake_fast_original(path: Path) -> Path:
    """A small stand-in for paraphrase-MiniLM-L3-v2.onnx with the registry's inputs, output name
    ("461") and dimension (384), so quantize-all accepts and checks it in a second."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    table = numpy_helper.from_array(rng.standard_normal((8000, 16)).astype(np.float32), "table")
    weight = numpy_helper.from_array(rng.standard_normal((16, 384)).astype(np.float32), "weight")
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["tokens"]),
            helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["mask_f", "axes2"], ["mask3"]),
            helper.make_node("Mul", ["tokens", "mask3"], ["masked"]),
            helper.make_node("ReduceSum", ["masked", "axes"], ["pooled"], keepdims=0),
            helper.make_node("MatMul", ["pooled", "weight"], ["461"]),
        ],
        "fake-fast",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("461", TensorProto.FLOAT, ["batch", 384])],
        initializer=[table, weight, axes, numpy_helper.from_array(np.array([2], dtype=np.int64), "axes2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("mode", ["int8", "fp16"])
def test_script_writes_the_same_file_as_the_cli(tmp_path, mode):
    source = write_tiny_model(tmp_path / "in" / "tiny.onnx")
    by_script = tmp_path / "script" / f"tiny-{mode}.onnx"
    by_cli = tmp_path / "cli" / f"tiny-{mode}.onnx"
    by_script.parent.mkdir()
    by_cli.parent.mkdir()
    script = _run([sys.executable, str(SCRIPT), str(source), str(by_script), mode])
    assert script.returncode == 0, script.stderr
    cli = run_cli("quantize", str(source), str(by_cli), "--mode", mode)
    assert cli.returncode == 0, cli.stderr
    assert by_script.read_bytes() == by_cli.read_bytes()
    assert by_script.read_bytes() != source.read_bytes()


def test_script_mode_defaults_to_int8_as_in_the_chapter(tmp_path):
    source = write_tiny_model(tmp_path / "in" / "tiny.onnx")
    default, explicit = tmp_path / "default.onnx", tmp_path / "int8.onnx"
    assert _run([sys.executable, str(SCRIPT), str(source), str(default)]).returncode == 0
    assert _run([sys.executable, str(SCRIPT), str(source), str(explicit), "int8"]).returncode == 0
    assert default.read_bytes() == explicit.read_bytes()


def test_system_python3_runs_the_script_through_the_venv(tmp_path):
    """The chapter's `python3`: an interpreter that cannot import the harness hands over to .venv."""
    python3 = shutil.which("python3")
    if python3 is None:
        pytest.skip("no python3 on PATH")
    probe = _run([python3, "-c", "import harness, onnxruntime"], cwd=tmp_path)  # not the checkout's folder
    if probe.returncode == 0:
        pytest.skip(f"{python3} imports the harness itself: nothing to hand over")
    source = write_tiny_model(tmp_path / "in" / "tiny.onnx")
    out = tmp_path / "out.onnx"
    result = _run([python3, str(SCRIPT), str(source), str(out), "int8"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.is_file()


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["{src}", "{out}", "fp32"], ["mode 'fp32'", "int8 or fp16"]),
        (["{missing}", "{out}", "int8"], ["missing.onnx", "not found"]),
        (["{src}"], ["expected an input and an output model"]),
        (["{src}", "{out}", "int8", "extra"], ["expected an input and an output model"]),
        (["--all", "{missing}", "int8"], ["missing.onnx", "not a directory"]),
    ],
)
def test_script_usage_mistakes_are_one_line_exit_2(tmp_path, args, needles):
    source = write_tiny_model(tmp_path / "in" / "tiny.onnx")
    values = {"src": str(source), "out": str(tmp_path / "out.onnx"), "missing": str(tmp_path / "missing.onnx")}
    result = _run([sys.executable, str(SCRIPT), *(a.format(**values) for a in args)])
    assert result.returncode == 2
    assert_user_error(result, *needles)
    assert not (tmp_path / "out.onnx").exists()


def test_script_says_how_to_install_when_the_harness_is_not_importable(tmp_path):
    # -S: no site-packages, so neither the harness nor onnxruntime imports; the marker stops the
    # hand-over to .venv, as it does after one.
    source = write_tiny_model(tmp_path / "in" / "tiny.onnx")
    result = _run(
        [sys.executable, "-S", str(SCRIPT), str(source), str(tmp_path / "o.onnx"), "int8"],
        env={"AVA_QUANTIZE_SCRIPT_REEXEC": "1"},
    )
    assert result.returncode == 2
    assert_user_error(result, "cannot be imported", "make install")


@pytest.mark.parametrize("mode", ["int8", "fp16"])
def test_batch_script_names_files_as_the_chapter_and_matches_quantize_all(tmp_path, mode):
    models = tmp_path / "models"
    _fake_fast_original(models / "originals" / "paraphrase-MiniLM-L3-v2.onnx")
    result = _run(["bash", str(BATCH), f"{models}/", mode], env={"PYTHON": sys.executable})
    assert result.returncode == 0, result.stderr
    name = f"AVA-ONX-384-FAST-{mode.upper()}.onnx"
    assert f"Processing: paraphrase-MiniLM-L3-v2.onnx \u2192 {name}" in result.stdout
    written = models / "quantized" / name
    assert written.is_file()
    cli = run_cli(
        "-q", "quantize-all", str(models / "originals"), "--mode", mode, "--output-dir", str(tmp_path / "cli")
    )
    assert cli.returncode == 0, cli.stderr
    assert written.read_bytes() == (tmp_path / "cli" / name).read_bytes()
    assert sorted(p.name for p in (models / "originals").iterdir()) == ["paraphrase-MiniLM-L3-v2.onnx"]


def test_batch_script_accepts_a_flat_folder(tmp_path):
    _fake_fast_original(tmp_path / "flat" / "paraphrase-MiniLM-L3-v2.onnx")
    result = _run(["bash", str(BATCH), str(tmp_path / "flat"), "int8"], env={"PYTHON": sys.executable})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "flat" / "AVA-ONX-384-FAST-INT8.onnx").is_file()


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        ([], ["expected a models folder"]),
        (["{dir}", "int8", "more"], ["expected a models folder"]),
        (["{dir}", "int4"], ["mode 'int4'", "int8 or fp16"]),
        (["{missing}", "int8"], ["missing", "not a directory"]),
        (["{dir}", "int8"], ["no registered original model"]),
    ],
)
def test_batch_script_usage_mistakes_are_one_line_exit_2(tmp_path, args, needles):
    values = {"dir": str(tmp_path), "missing": str(tmp_path / "missing")}
    result = _run(["bash", str(BATCH), *(a.format(**values) for a in args)], env={"PYTHON": sys.executable})
    assert result.returncode == 2
    assert_user_error(result, *needles)
