"""What quantization leaves on disk: nothing beside the input, nothing half-written when
interrupted, OUT checked before any work, a non-default preset in a file of its own."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import onnx
import pytest

from harness.errors import InputError
from harness.models.quantize import (
    DEFAULT_PRESET,
    PRESETS,
    ModeName,
    PresetName,
    parse_mode,
    parse_preset,
    preset_file_name,
    quantize_file,
)
from tests.helpers import assert_user_error, run_cli


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def read_only_input(tiny_model: Path):
    """The tiny model's folder made read-only (as root, writes still succeed: the spy in each test
    is what proves nothing is written there)."""
    folder = tiny_model.parent
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        yield tiny_model
    finally:
        folder.chmod(stat.S_IRWXU)


@pytest.fixture
def shape_inference_writes(monkeypatch):
    """Every path ONNX Runtime's quantizer writes a shape-inferred copy to."""
    written: list[Path] = []
    real = onnx.shape_inference.infer_shapes_path

    def spy(model_path, output_path="", *args, **kwargs):
        written.append(Path(output_path))
        return real(model_path, output_path, *args, **kwargs)

    monkeypatch.setattr(onnx.shape_inference, "infer_shapes_path", spy)
    return written


@pytest.mark.parametrize("preset", ["arm64", "fp16"])
def test_quantize_writes_nothing_beside_the_input(read_only_input, shape_inference_writes, tmp_path, preset):
    before = _listing(read_only_input.parent)
    out = quantize_file(read_only_input, tmp_path / "out" / "q.onnx", PRESETS[preset])
    assert out.is_file()
    assert _listing(read_only_input.parent) == before
    assert all(path.parent != read_only_input.parent for path in shape_inference_writes)
    assert all(not path.exists() for path in shape_inference_writes)  # its temporary folder is gone
    if preset == "arm64":
        assert shape_inference_writes  # the spy saw ORT's copy, so the check above means something


def test_interrupt_after_the_inferred_copy_leaves_no_file_anywhere(tiny_model, monkeypatch, tmp_path):
    """A Ctrl-C at the worst moment for the old code: ORT has just written `<input>-inferred.onnx`."""
    written: list[Path] = []
    real = onnx.shape_inference.infer_shapes_path

    def interrupted(model_path, output_path="", *args, **kwargs):
        real(model_path, output_path, *args, **kwargs)
        written.append(Path(output_path))
        raise KeyboardInterrupt

    monkeypatch.setattr(onnx.shape_inference, "infer_shapes_path", interrupted)
    before = _listing(tiny_model.parent)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(KeyboardInterrupt):
        quantize_file(tiny_model, out_dir / "q.onnx", PRESETS["arm64"])
    assert written and not written[0].exists()
    assert _listing(tiny_model.parent) == before
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("preset", ["arm64", "fp16"])
def test_keyboard_interrupt_from_verify_leaves_the_old_output_and_no_partial(tiny_model, tmp_path, preset):
    out = tmp_path / "out" / "q.onnx"
    out.parent.mkdir()
    out.write_bytes(b"previous good model")
    checked: list[Path] = []

    def verify(path: Path) -> None:
        checked.append(path)
        assert path.stat().st_size > 0  # a complete quantized file reached verify
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        quantize_file(tiny_model, out, PRESETS[preset], verify=verify)
    assert checked and not checked[0].exists()
    assert _listing(out.parent) == {"q.onnx": b"previous good model"}


def test_output_that_is_the_input_is_refused_before_reading_it(tiny_model):
    link = tiny_model.with_name("link.onnx")
    link.symlink_to(tiny_model)
    hard = tiny_model.with_name("hard.onnx")
    os.link(tiny_model, hard)
    before = tiny_model.read_bytes()
    for out in (tiny_model, link, hard, tiny_model.parent / ".." / "input" / "tiny.onnx"):
        with pytest.raises(InputError, match="is the input model"):
            quantize_file(tiny_model, out, PRESETS["arm64"])
    assert tiny_model.read_bytes() == before


def test_external_data_models_are_refused_with_one_line(tmp_path):
    from tests.models.conftest import write_tiny_model

    model = onnx.load(str(write_tiny_model(tmp_path / "src.onnx")))
    path = tmp_path / "ext" / "model.onnx"
    path.parent.mkdir()
    onnx.save(model, str(path), save_as_external_data=True, location="weights.bin", size_threshold=0)
    with pytest.raises(InputError, match="external data"):
        quantize_file(path, tmp_path / "q.onnx", PRESETS["arm64"])
    assert not (tmp_path / "q.onnx").exists()


# --- presets: choices, parsing, their own file names ---


def test_choices_are_the_real_modes_and_presets():
    assert [m.value for m in ModeName] == list(DEFAULT_PRESET) == ["int8", "fp16"]
    assert [p.value for p in PresetName] == list(PRESETS)
    assert parse_mode("INT8") == "int8" and parse_mode(ModeName.fp16) == "fp16"
    assert parse_preset("chapter") == "chapter" and parse_preset(PresetName["fp16-occ"]) == "fp16-occ"
    with pytest.raises(InputError, match=r"--mode int4: unknown mode; use int8 or fp16"):
        parse_mode("int4")
    with pytest.raises(InputError, match=r"--preset riscv: unknown preset; choose from arm64, x86, chapter"):
        parse_preset("riscv")


def test_only_the_default_preset_keeps_the_name_the_app_loads():
    assert preset_file_name("AVA-ONX-384-BASE-INT8", PRESETS["arm64"]) == "AVA-ONX-384-BASE-INT8.onnx"
    assert preset_file_name("AVA-ONX-384-BASE-FP16", PRESETS["fp16"]) == "AVA-ONX-384-BASE-FP16.onnx"
    assert preset_file_name("AVA-ONX-384-BASE-INT8", PRESETS["chapter"]) == "AVA-ONX-384-BASE-INT8@chapter.onnx"
    assert preset_file_name("AVA-ONX-384-BASE-INT8", PRESETS["x86"]) == "AVA-ONX-384-BASE-INT8@x86.onnx"
    assert preset_file_name("AVA-ONX-384-BASE-FP16", PRESETS["fp16-occ"]) == "AVA-ONX-384-BASE-FP16@fp16-occ.onnx"


# --- the real CLI: one line, exit 2, no traceback, nothing written, before any work ---


def _nothing_done(result) -> None:
    """Exit 2 and the error line is all stderr holds: no progress line, so no work started."""
    line = assert_user_error(result)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [line]


def test_cli_quantize_out_is_a_directory(tiny_model, tmp_path):
    result = run_cli("quantize", str(tiny_model), str(tmp_path))
    assert_user_error(result, f"OUT {tmp_path}", "is a directory")
    _nothing_done(result)


def test_cli_quantize_out_is_in(tiny_model):
    before = _listing(tiny_model.parent)
    result = run_cli("quantize", str(tiny_model), str(tiny_model))
    assert_user_error(result, str(tiny_model), "is the input model")
    _nothing_done(result)
    assert _listing(tiny_model.parent) == before


def test_cli_quantize_out_cannot_be_created(tiny_model):
    result = run_cli("quantize", str(tiny_model), "/proc/ava-harness/q.onnx")
    assert_user_error(result, "/proc/ava-harness/q.onnx", "cannot create files in /proc")
    _nothing_done(result)


@pytest.mark.parametrize(
    ("options", "needles"),
    [
        (["--mode", "int4"], ["--mode int4", "int8 or fp16"]),
        (["--preset", "riscv"], ["--preset riscv", "arm64, x86, chapter, fp16, fp16-occ"]),
        (["--mode", "fp16", "--preset", "chapter"], ["'chapter'", "int8 preset, not fp16"]),
    ],
    ids=["mode", "preset", "preset-of-other-mode"],
)
def test_cli_quantize_bad_option(tiny_model, tmp_path, options, needles):
    result = run_cli("quantize", str(tiny_model), str(tmp_path / "q.onnx"), *options)
    assert_user_error(result, *needles)
    _nothing_done(result)
    assert not (tmp_path / "q.onnx").exists()


def test_cli_quantize_help_lists_the_choices():
    result = run_cli("quantize", "--help")
    assert result.returncode == 0
    assert "int8|fp16" in result.stdout and "arm64|x86|chapter|fp16|fp16-occ" in result.stdout


def test_cli_quantize_in_a_read_only_folder_leaves_it_as_it_was(read_only_input, tmp_path):
    before = _listing(read_only_input.parent)
    out = tmp_path / "q.onnx"
    result = run_cli("quantize", str(read_only_input), str(out), "--mode", "INT8")
    assert result.returncode == 0, result.stderr
    assert out.is_file() and _listing(read_only_input.parent) == before


def test_cli_quantize_all_output_dir_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    result = run_cli("quantize-all", "models/originals", "--output-dir", str(tmp_path / "file"))
    assert_user_error(result, "--output-dir", "is not a directory")
    _nothing_done(result)
