"""A report that cannot be written is one typed error (ReportWriteError, exit code 3: found at
write time, the verdict's exit code stands) naming the path and the operating system's reason. A
directory that cannot hold the reports (harness.fileio.check_output_dir, tested in
tests/test_fileio.py) is refused before anything is written; otherwise each file is written on
its own, so one failing file does not stop the others, and the error carries `files`."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.errors import HarnessError
from harness.reports import writers
from harness.reports.writers import REPORT_FILES, ReportWriteError, write_reports
from harness.signoff.results import SignoffRun


def _one_line(err: pytest.ExceptionInfo[ReportWriteError]) -> str:
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    assert isinstance(err.value, HarnessError) and err.value.exit_code == 3
    return message


def test_the_error_is_a_harness_error_with_exit_code_3() -> None:
    assert issubclass(ReportWriteError, HarnessError) and ReportWriteError.exit_code == 3


def _a_file(tmp_path: Path, _monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "reports").write_text("not a directory")
    return tmp_path / "reports"


def _on_proc(_tmp_path: Path, _monkeypatch: pytest.MonkeyPatch) -> Path:
    return Path("/proc/ava-reports/run-1")


def _read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(os, "statvfs", lambda _path: SimpleNamespace(f_flag=os.ST_RDONLY, f_bavail=1, f_frsize=1))
    return tmp_path / "r"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_a_file, "{tmp}/reports: exists and is not a directory"),
        (
            _on_proc,
            "/proc/ava-reports/run-1: cannot create files in /proc: on a proc file system, which cannot hold files",
        ),
        (_read_only, "{tmp}/r: cannot create files in {tmp}: on a read-only file system"),
    ],
    ids=["a-file", "proc", "read-only"],
)
def test_a_bad_directory_raises_before_anything_is_written(
    tmp_path: Path, run: SignoffRun, monkeypatch: pytest.MonkeyPatch, make, message: str
) -> None:
    target = make(tmp_path, monkeypatch)
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(ReportWriteError) as err:
        write_reports(run, target)
    assert _one_line(err) == "reports directory " + message.format(tmp=tmp_path)
    assert err.value.files is None and err.value.__cause__ is None
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing written, nothing created


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
    files = write_reports(run, tmp_path / "r" / "run-1")  # the directory and its parent are created
    assert sorted(p.name for p in (tmp_path / "r" / "run-1").iterdir()) == sorted(REPORT_FILES.values())  # no probe
    files = write_reports(run, tmp_path / "r")  # an existing, non-empty directory is fine
    assert dict(files) == {key: tmp_path / "r" / name for key, name in REPORT_FILES.items()}
    assert files.failed == {} and files.directory == tmp_path / "r" and files.get("html") == files["html"]
