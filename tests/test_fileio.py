"""The one JSON write policy: strict JSON, non-finite floats as null, numpy and Paths converted;
atomic writes and their stale temporary files; the one check of an output file or folder."""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from harness import fileio
from harness.errors import InputError
from harness.fileio import (
    atomic_output,
    check_output_dir,
    check_output_file,
    dumps_json,
    json_safe,
    sweep_stale_partials,
    write_json_atomic,
)


def _strict_load(text: str) -> object:
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), np.float32("nan"), np.float64("inf")])
def test_non_finite_floats_become_null(value: float) -> None:
    assert json_safe(value) is None
    assert _strict_load(dumps_json({"x": value})) == {"x": None}


def test_finite_values_pass_through_unchanged() -> None:
    data = {"a": 1, "b": 0.25, "c": "s", "d": None, "e": True, "f": [1, 2.5], "g": {"h": -0.0}}
    assert json_safe(data) == data
    assert _strict_load(dumps_json(data)) == data


def test_numpy_scalars_and_arrays_become_python_types() -> None:
    data = {
        "i": np.int64(3),
        "f": np.float32(0.5),
        "b": np.bool_(True),
        "arr": np.array([[1.0, np.nan], [np.inf, 2.0]]),
        "zero_d": np.array(7),
    }
    safe = json_safe(data)
    assert safe == {"i": 3, "f": 0.5, "b": True, "arr": [[1.0, None], [None, 2.0]], "zero_d": 7}
    assert [type(safe[k]) for k in ("i", "f", "b", "zero_d")] == [int, float, bool, int]


def test_paths_tuples_and_keys() -> None:
    assert json_safe({"p": Path("/tmp/x.onnx"), "t": (1, (2, 3)), 4: "four"}) == {
        "p": "/tmp/x.onnx",
        "t": [1, [2, 3]],
        "4": "four",
    }


def test_unknown_types_are_an_error_not_a_repr() -> None:
    with pytest.raises(TypeError, match="set"):
        dumps_json({"s": {1, 2}})


def test_write_json_atomic_writes_strict_indented_json(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "out.json"
    write_json_atomic(path, {"spearman": math.nan, "n": np.int32(2)})
    text = path.read_text()
    assert text == '{\n  "spearman": null,\n  "n": 2\n}\n'
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.json"]  # no partial file left behind


# --- interrupted writes: nothing half-written, stale temporary files swept at the next run ---

DAY = 86_400.0


def _age(path: Path, seconds: float) -> None:
    """Set a file's mtime `seconds` before its current one (no clock reading in assertions)."""
    info = os.stat(path, follow_symlinks=False)
    then = info.st_mtime - seconds
    os.utime(path, (then, then), follow_symlinks=False)


class _Stop(Exception):
    """Leaves an atomic_output block the way a failure would."""


@pytest.mark.parametrize("where", ["block", "verify"])
def test_keyboard_interrupt_leaves_the_old_file_and_no_partial(tmp_path: Path, where: str) -> None:
    final = tmp_path / "model.onnx"
    final.write_bytes(b"previous good model")

    def verify(_path: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), atomic_output(final, verify=verify if where == "verify" else None) as tmp:
        tmp.write_bytes(b"half a new mod")
        if where == "block":
            raise KeyboardInterrupt
    assert final.read_bytes() == b"previous good model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_sweep_removes_a_stale_temporary_file_atomic_output_named(tmp_path: Path) -> None:
    """The real names atomic_output gives: one left by a killed run (old) is removed, a live one
    (a concurrent run's, just written) is not."""
    with pytest.raises(_Stop), atomic_output(tmp_path / "a.onnx") as live:
        live.write_bytes(b"being written")
        assert sweep_stale_partials(tmp_path, older_than_seconds=3600) == []
        assert live.exists()
        _age(live, DAY)
        assert sweep_stale_partials(tmp_path, older_than_seconds=3600) == [live]
        assert not live.exists()
        raise _Stop
    assert list(tmp_path.iterdir()) == []


def test_sweep_touches_only_old_regular_files_with_the_exact_pattern(tmp_path: Path) -> None:
    stale = tmp_path / ".model.onnx.k3x_9az0.partial"
    others = [
        tmp_path / ".model.onnx.k3x_9az1.partial",  # fresh: a live run's temporary file
        tmp_path / ".model.onnx.partial",  # no random part
        tmp_path / "model.onnx.k3x_9az0.partial",  # no leading dot
        tmp_path / ".model.onnx.K3X_9AZ0.partial",  # not mkstemp's alphabet
        tmp_path / ".model.onnx.k3x_9az0.partial.bak",
        tmp_path / "model.onnx",
    ]
    for path in [stale, *others]:
        path.write_bytes(b"x")
    for path in [stale, *others[1:]]:
        _age(path, DAY)
    folder = tmp_path / ".dir.onnx.abcdefgh.partial"  # a directory with the name: not a file
    folder.mkdir()
    _age(folder, DAY)
    link = tmp_path / ".link.onnx.abcdefgh.partial"  # a symlink with the name: not ours
    link.symlink_to(tmp_path / "model.onnx")
    _age(link, DAY)

    assert sweep_stale_partials(tmp_path, older_than_seconds=3600) == [stale]
    assert all(p.exists() for p in others) and folder.is_dir() and link.is_symlink()
    assert (tmp_path / "model.onnx").read_bytes() == b"x"  # the symlink's target is untouched


def test_sweep_only_for_given_final_names(tmp_path: Path) -> None:
    mine, theirs = tmp_path / ".out.onnx.abcdefgh.partial", tmp_path / ".other.onnx.abcdefgh.partial"
    for path in (mine, theirs):
        path.write_bytes(b"x")
        _age(path, DAY)
    assert sweep_stale_partials(tmp_path, 3600, only_for={"out.onnx"}) == [mine]
    assert theirs.exists()


def test_sweep_of_a_missing_folder_removes_nothing(tmp_path: Path) -> None:
    assert sweep_stale_partials(tmp_path / "nope") == []
    with pytest.raises(ValueError, match="older_than_seconds"):
        sweep_stale_partials(tmp_path, -1)


# --- output paths checked before any work: one InputError line, label, path and reason ---


def _refusal(check: Callable[..., Path], path: Path, label: str, **kwargs: int) -> str:
    with pytest.raises(InputError) as caught:
        check(path, label, **kwargs)
    message = str(caught.value)
    assert message.startswith(f"{label} {path}: ") and "\n" not in message and "Traceback" not in message
    assert caught.value.exit_code == 2
    return message


def _statvfs(flag: int = 0, free_blocks: int = 10**6) -> SimpleNamespace:
    return SimpleNamespace(f_flag=flag, f_bavail=free_blocks, f_frsize=4096)


def _under_a_file(folder: Path) -> Path:
    (folder / "file.txt").write_text("x")
    return folder / "file.txt" / "sub" / "out.json"


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda folder: folder, "is a directory; give a file name"),
        (lambda _folder: Path("/dev/null"), "exists and is not a regular file"),
        (_under_a_file, "cannot be created: {folder}/file.txt is not a directory"),
        (
            lambda _folder: Path("/proc/ava-harness-out.json"),
            "cannot create files in /proc: on a proc file system, which cannot hold files",
        ),
    ],
    ids=["directory", "device", "parent-is-a-file", "proc"],
)
def test_check_output_file_refuses(tmp_path: Path, make, needle: str) -> None:
    path = make(tmp_path)
    assert _refusal(check_output_file, path, "--json") == f"--json {path}: {needle.format(folder=tmp_path)}"
    assert Path("/dev/null").is_char_device()  # refused, not replaced


def test_check_output_file_accepts_a_new_nested_path_and_leaves_no_trace(tmp_path: Path) -> None:
    (tmp_path / "keep.json").write_text("{}")
    assert check_output_file(tmp_path / "a" / "b" / "out.json", "--json") == tmp_path / "a" / "b" / "out.json"
    assert check_output_file(tmp_path / "keep.json", "--json") == tmp_path / "keep.json"  # replacing is fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.json"]  # no folder made, no probe left


@pytest.mark.unvalidated_reports  # its signoff.json is a placeholder file, not a report
def test_check_output_dir_accepts_a_new_or_existing_folder_and_leaves_no_trace(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "signoff.json").write_text("{}")
    assert check_output_dir(tmp_path / "new" / "dir", "--output-dir") == tmp_path / "new" / "dir"
    assert check_output_dir(tmp_path / "old", "--output-dir") == tmp_path / "old"  # not empty: fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]  # nothing created
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["signoff.json"]  # no probe left


def test_check_output_dir_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "reports"
    target.write_text("not a directory")
    assert (
        _refusal(check_output_dir, target, "--reports-dir") == f"--reports-dir {target}: exists and is not a directory"
    )
    assert target.read_text() == "not a directory"


def test_check_output_dir_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "run-1"
    assert _refusal(check_output_dir, target, "--reports-dir") == (
        f"--reports-dir {target}: cannot be created: {tmp_path / 'file'} is not a directory"
    )


@pytest.mark.parametrize(
    ("path", "folder", "fstype"), [("/proc/ava-reports/run-1", "/proc", "proc"), ("/sys/ava-reports", "/sys", "sysfs")]
)
def test_check_output_dir_on_a_kernel_file_system(path: str, folder: str, fstype: str) -> None:
    assert _refusal(check_output_dir, Path(path), "--reports-dir") == (
        f"--reports-dir {path}: cannot create files in {folder}: on a {fstype} file system, which cannot hold files"
    )


def test_the_prefix_decides_when_mountinfo_cannot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fileio, "_filesystem_type", lambda _path: None)
    message = _refusal(check_output_dir, Path("/proc/self/reports"), "--reports-dir")
    assert message.endswith(": cannot create files in /proc/self: on a special file system, which cannot hold files")


def test_a_read_only_file_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "statvfs", lambda _path: _statvfs(flag=os.ST_RDONLY))
    target = tmp_path / "r"
    assert (
        _refusal(check_output_dir, target, "--reports-dir")
        == f"--reports-dir {target}: cannot create files in {tmp_path}: on a read-only file system"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_folder_where_no_file_can_be_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**_kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".probe.abcdefgh.partial"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    target = tmp_path / "r"
    assert _refusal(check_output_dir, target, "--reports-dir") == (
        f"--reports-dir {target}: cannot create files in {tmp_path}: Permission denied (errno 13)"
    )


def test_too_little_free_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "statvfs", lambda _path: _statvfs(free_blocks=10))
    target = tmp_path / "r"
    assert _refusal(check_output_dir, target, "--reports-dir") == (
        f"--reports-dir {target}: only 40 KB free on its file system, at least 1024 KB needed"
    )
    assert _refusal(check_output_file, target / "m.onnx", "OUT", min_free_bytes=50 * 1024).endswith(
        "only 40 KB free on its file system, at least 50 KB needed"
    )
    assert check_output_dir(target, "--reports-dir", min_free_bytes=40 * 1024) == target  # exactly enough
    assert check_output_file(target / "m.onnx", "OUT", min_free_bytes=0) == target / "m.onnx"  # 0: not checked
    assert list(tmp_path.iterdir()) == []
