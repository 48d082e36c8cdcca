"""A report that cannot be written is one typed error (ReportWriteError, exit code 3) naming the
path and the operating system's reason; each file is written on its own, so one failing file does
not stop the others; check_output_dir says so before any device work."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.errors import HarnessError
from harness.reports import writers
from harness.reports.writers import REPORT_FILES, ReportWriteError, check_output_dir, write_reports
from harness.signoff.results import SignoffRun


def _one_line(err: pytest.ExceptionInfo[ReportWriteError]) -> str:
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    assert isinstance(err.value, HarnessError) and err.value.exit_code == 3
    return message


def test_the_error_is_a_harness_error_with_exit_code_3() -> None:
    assert issubclass(ReportWriteError, HarnessError) and ReportWriteError.exit_code == 3


def test_a_directory_that_is_a_file(tmp_path: Path, run: SignoffRun) -> None:
    target = tmp_path / "reports"
    target.write_text("not a directory")
    with pytest.raises(ReportWriteError) as err:
        check_output_dir(target)
    assert _one_line(err) == f"reports directory {target} exists and is not a directory"
    with pytest.raises(ReportWriteError, match="exists and is not a directory"):
        write_reports(run, target)
    assert target.read_text() == "not a directory"


def test_a_directory_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ReportWriteError) as err:
        check_output_dir(tmp_path / "file" / "run-1")
    assert f"cannot be created: {tmp_path / 'file'} exists and is not a directory" in _one_line(err)


@pytest.mark.parametrize(("path", "fstype"), [("/proc/ava-reports/run-1", "proc"), ("/sys/ava-reports", "sysfs")])
def test_a_directory_on_a_kernel_file_system(path: str, fstype: str, run: SignoffRun) -> None:
    with pytest.raises(ReportWriteError) as err:
        check_output_dir(Path(path))
    assert _one_line(err) == f"reports directory {path} is on a {fstype} file system, which cannot hold report files"
    with pytest.raises(ReportWriteError, match=f"on a {fstype} file system"):
        write_reports(run, Path(path))


def test_the_prefix_decides_when_mountinfo_cannot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers, "_filesystem_type", lambda _path: None)
    with pytest.raises(ReportWriteError, match="is on a special file system"):
        check_output_dir(Path("/proc/self/reports"))


def _statvfs(flag: int = 0, free_blocks: int = 10**6) -> SimpleNamespace:
    return SimpleNamespace(f_flag=flag, f_bavail=free_blocks, f_frsize=4096)


def test_a_read_only_file_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers.os, "statvfs", lambda _path: _statvfs(flag=os.ST_RDONLY))
    with pytest.raises(ReportWriteError) as err:
        check_output_dir(tmp_path / "r")
    assert _one_line(err) == f"reports directory {tmp_path / 'r'} is on a read-only file system"
    assert not (tmp_path / "r").exists()


def test_a_full_file_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers.os, "statvfs", lambda _path: _statvfs(free_blocks=10))
    with pytest.raises(ReportWriteError) as err:
        check_output_dir(tmp_path / "r")
    assert _one_line(err) == f"reports directory {tmp_path / 'r'}: only 40 KB free on its file system"


def test_a_directory_that_cannot_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**_kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "r" / ".ava-write-check-x"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(ReportWriteError) as err:
        check_output_dir(tmp_path / "r")
    assert _one_line(err) == f"reports directory {tmp_path / 'r'}: Permission denied (errno 13)"


def test_check_creates_the_directory_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "run-1"
    check_output_dir(target)
    assert target.is_dir() and list(target.iterdir()) == []
    check_output_dir(target)  # an existing, empty or not, directory is fine


def test_a_full_disk_costs_one_file_and_the_others_are_written(
    tmp_path: Path, run: SignoffRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = writers._write

    def disk_full_for_html(final: Path, text: str, verify: object) -> None:
        if final.name == REPORT_FILES["html"]:
            raise OSError(errno.ENOSPC, "No space left on device", str(final.parent / ".signoff.html.x.partial"))
        real_write(final, text, verify)  # type: ignore[arg-type]

    monkeypatch.setattr(writers, "_write", disk_full_for_html)
    with pytest.raises(ReportWriteError) as err:
        write_reports(run, tmp_path / "r")
    message = _one_line(err)
    assert message == (
        f"could not write 1 of 4 report files in {tmp_path / 'r'}: signoff.html: No space left on device (errno 28)"
    )
    files = err.value.files
    assert files is not None and files.failed == {"html": "signoff.html: No space left on device (errno 28)"}
    assert set(files.written) == {"json", "junit", "manifest"}
    assert all(path.is_file() for path in files.written.values())
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["junit.xml", "manifest.json", "signoff.json"]


def test_a_renderer_that_raises_costs_only_its_own_file(
    tmp_path: Path, run: SignoffRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_run: SignoffRun) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(writers, "render_junit", broken)
    with pytest.raises(ReportWriteError, match=r"junit.xml: not rendered \(RuntimeError: a bug\)") as err:
        write_reports(run, tmp_path)
    assert err.value.files is not None and set(err.value.files) == {"json", "html", "manifest"}


def test_write_reports_returns_a_mapping_of_what_it_wrote(tmp_path: Path, run: SignoffRun) -> None:
    files = write_reports(run, tmp_path / "r")
    assert dict(files) == {key: tmp_path / "r" / name for key, name in REPORT_FILES.items()}
    assert files.failed == {} and files.directory == tmp_path / "r" and files.get("html") == files["html"]
