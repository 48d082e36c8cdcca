"""Per-device artifacts without a device: the directory name, the logcat excerpt, the bounds, the
writer (each file on its own) and what signoff.json and the page show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.android.adb import ShellResult
from harness.reports.html_page import render_html
from harness.reports.json_report import signoff_document
from harness.reports.writers import ReportWriteError, write_reports
from harness.signoff.artifacts import (
    DIR_NAME_MAX,
    LogcatCapture,
    OutputRecorder,
    device_dir_name,
    keep_tail,
    logcat_excerpt,
    unique_dir_names,
)
from harness.signoff.results import DeviceRun, SignoffRun


@pytest.mark.parametrize(
    ("serial", "name"),
    [
        ("127.0.0.1:5555", "127.0.0.1_5555"),
        ("emulator-5554", "emulator-5554"),
        ("R58M12ABCDE", "R58M12ABCDE"),
        ("adb-XYZ._adb-tls-connect._tcp", "adb-XYZ._adb-tls-connect._tcp"),
        ("../../etc", "_.._etc"),
        ("..", "device"),
        ("", "device"),
        ('a/b\\c:d*e?f"g<h>i|j', "a_b_c_d_e_f_g_h_i_j"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("COM1", "_COM1"),
        ("séri\u00e9 \x00\u202e", "s_ri____"),
        ("host.", "host"),
    ],
)
def test_device_dir_name_is_safe_on_every_os(serial: str, name: str) -> None:
    got = device_dir_name(serial)
    assert got == name
    assert got not in (".", "..") and not got.startswith(".") and not got.endswith(".")
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in got)


def test_device_dir_name_is_bounded_and_unique_per_run() -> None:
    assert len(device_dir_name("x" * 1000)) == DIR_NAME_MAX
    assert unique_dir_names(["a:1", "a_1", "A_1", "b"]) == ["a_1", "a_1-2", "A_1-3", "b"]


def test_keep_tail_keeps_whole_lines_and_says_so() -> None:
    data = b"".join(f"line {i}\n".encode() for i in range(1000))
    kept, note = keep_tail(data, 100, "logcat.txt")
    assert len(kept) <= 100 and kept.startswith(b"line ") and kept.endswith(b"line 999\n")
    assert note is not None and f"of {len(data)} bytes" in note
    assert keep_tail(b"short", 100, "x") == (b"short", None)


LOGCAT = """\
--------- beginning of main
11-29 20:00:00.000   100   100 I ActivityManager: Start proc 4321:com.augmentalis.ava.test/u0a1 for instrumentation
11-29 20:00:00.100  4321  4321 I TestRunner: started: embed
11-29 20:00:00.200   555   555 I chatty: unrelated noise
11-29 20:00:00.300  4321  4330 E AndroidRuntime: FATAL EXCEPTION: main
11-29 20:00:00.301  4321  4330 E AndroidRuntime: java.lang.OutOfMemoryError: <script>alert(1)</script>
11-29 20:00:00.302   777   777 W other: mentions com.augmentalis.ava once
"""


def test_the_excerpt_keeps_the_test_process_and_crash_lines() -> None:
    lines = logcat_excerpt(LOGCAT, ("com.augmentalis.ava", "com.augmentalis.ava.test"))
    assert [line.split()[-1] for line in lines] == [
        "instrumentation",
        "embed",
        "main",
        "<script>alert(1)</script>",
        "once",
    ]
    assert logcat_excerpt(LOGCAT * 100, ("com.augmentalis.ava",), lines=3) == lines[-3:]
    assert all(len(line) <= 400 for line in logcat_excerpt("FATAL " + "x" * 5000, ()))


def test_the_recorder_keeps_the_bytes_as_received_bounded() -> None:
    chunks = iter([b"INSTRUMENTATION_STATUS: a=1\r\n", b"\xff\xfe bytes", b"x" * 100, b""])
    recorder = OutputRecorder(limit=50)
    read = recorder.wrap(lambda _timeout: next(chunks))
    while read(1.0):
        pass
    assert recorder.data() == (b"INSTRUMENTATION_STATUS: a=1\r\n\xff\xfe bytes" + b"x" * 100)[:50]


def _run(*devices: DeviceRun) -> SignoffRun:
    return SignoffRun("r1", "2026-11-29T20:00:00Z", "0", "1.32.0", ["a"], devices=list(devices))


def _failed_device(serial: str = "127.0.0.1:5555") -> DeviceRun:
    device = DeviceRun(serial=serial, status="failed", error="instrumentation: Process crashed.")
    device.artifact_data.update({"instrumentation.txt": b"raw \xff output", "logcat.txt": LOGCAT.encode()})
    device.logcat_excerpt = logcat_excerpt(LOGCAT, ("com.augmentalis.ava.test",))
    device.artifact_notes.append("logcat unavailable: `logcat -c` exited 127: logcat: not found")
    return device


def test_the_writer_writes_each_artifact_and_the_reports_list_and_link_them(tmp_path: Path) -> None:
    run = _run(_failed_device(), DeviceRun(serial="emulator-5554", status="passed"))
    write_reports(run, tmp_path)
    assert (tmp_path / "127.0.0.1_5555" / "instrumentation.txt").read_bytes() == b"raw \xff output"
    assert (tmp_path / "127.0.0.1_5555" / "logcat.txt").read_text() == LOGCAT
    assert not (tmp_path / "emulator-5554").exists()
    signoff = json.loads((tmp_path / "signoff.json").read_text())
    first = signoff["devices"][0]
    assert first["artifacts"] == {
        "instrumentation.txt": "127.0.0.1_5555/instrumentation.txt",
        "logcat.txt": "127.0.0.1_5555/logcat.txt",
    }
    assert "artifact_data" not in first and first["artifact_notes"][0].startswith("logcat unavailable: ")
    page = (tmp_path / "signoff.html").read_text()
    assert 'href="127.0.0.1_5555/logcat.txt"' in page and "logcat unavailable: " in page
    errors = page[page.index('id="errors"') : page.index("Models × devices")]
    assert "java.lang.OutOfMemoryError: &lt;script&gt;alert(1)&lt;/script&gt;" in errors
    assert "<script>" not in page


def test_an_artifact_that_cannot_be_written_costs_only_that_file(tmp_path: Path) -> None:
    (tmp_path / "127.0.0.1_5555").write_text("a file where the device's directory would go")
    with pytest.raises(ReportWriteError) as caught:
        write_reports(_run(_failed_device()), tmp_path)
    files = caught.value.files
    assert files is not None and set(files) == {"json", "junit", "html", "manifest"}
    assert "artifact:127.0.0.1_5555/logcat.txt" in files.failed
    signoff = json.loads((tmp_path / "signoff.json").read_text())
    assert signoff["devices"][0]["artifacts"] == {}
    assert any("logcat.txt could not be written" in n for n in signoff["devices"][0]["artifact_notes"])


def test_hostile_artifact_data_never_breaks_the_writers(tmp_path: Path) -> None:
    device = _failed_device("../evil")
    device.artifact_data["../../escape.txt"] = b"x"
    device.artifact_data["not-bytes"] = object()  # type: ignore[assignment]
    with pytest.raises(ReportWriteError):
        write_reports(_run(device), tmp_path)
    assert (tmp_path / "_evil" / "_.._escape.txt").read_bytes() == b"x"
    assert not (tmp_path.parent / "escape.txt").exists()
    assert json.loads((tmp_path / "signoff.json").read_text())["verdict"] != "passed"
    assert "artifact_data" not in signoff_document(_run(device))["devices"][0]
    assert "</html>" in render_html(_run(device))


class _Device:
    """A device whose shell answers each logcat command with a canned (exit code, stdout, stderr)."""

    def __init__(self, answers: dict[str, tuple[int, str, str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def shell(self, argv: list[str], *, timeout: float | None = None) -> ShellResult:
        command = " ".join(argv)
        self.asked.append(command)
        code, out, err = self.answers[command]
        return ShellResult(command, code, out, err)


def test_a_device_without_logcat_is_a_note_never_an_error() -> None:
    device = _Device({"logcat -c": (127, "", "/system/bin/sh: logcat: inaccessible or not found\n")})
    record = DeviceRun(serial="s", status="passed")
    capture = LogcatCapture(("com.augmentalis.ava",))
    capture.start(device, record)  # type: ignore[arg-type]
    capture.finish(device, record, failed=True)  # type: ignore[arg-type]
    assert record.artifact_notes == [
        "logcat unavailable: `logcat -c` exited 127: /system/bin/sh: logcat: inaccessible or not found"
    ]
    assert device.asked == ["logcat -c"] and record.artifact_data == {} and record.status == "passed"


def test_the_crash_buffer_is_added_only_when_the_run_failed() -> None:
    answers = {
        "logcat -c": (0, "", ""),
        "logcat -d -v threadtime": (0, LOGCAT, ""),
        "logcat -b crash -d -v threadtime": (0, "11-29 20:00:00.300  4321  4330 E AndroidRuntime: crash stack\n", ""),
    }
    for failed in (False, True):
        device, record = _Device(answers), DeviceRun(serial="s")
        capture = LogcatCapture(("com.augmentalis.ava.test",))
        capture.start(device, record)  # type: ignore[arg-type]
        capture.finish(device, record, failed=failed)  # type: ignore[arg-type]
        logcat = record.artifact_data["logcat.txt"].decode()
        assert ("crash stack" in logcat) is failed and logcat.startswith(LOGCAT)
        assert bool(record.logcat_excerpt) is failed and record.artifact_notes == []


def test_a_device_that_failed_a_gate_shows_its_log_lines_at_the_top() -> None:
    device = DeviceRun(serial="s", status="failed")  # a gate failed: no error line of its own
    device.logcat_excerpt = ["11-29 20:00:00.300  4321  4330 E AvaSignoff: modelParity[X]: failed: cosine 0.5"]
    page = render_html(_run(device))
    errors = page[page.index('id="errors"') : page.index("Models × devices")]
    assert "a gate failed (see the banner)" in errors and "modelParity[X]: failed: cosine 0.5" in errors
    assert 'id="errors"' not in render_html(_run(DeviceRun(serial="s", status="failed")))
