"""Tests for harness.android.instrument_run: the `am instrument` command builder's quoting, and
collect_output over a real socket pair (transcripts from tests/android/data/transcripts, see its NOTICE)."""

from __future__ import annotations

import random
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.android import instrumentation as instr
from harness.errors import InputError

DATA = Path(__file__).parent / "data" / "transcripts"
CHUNK_SIZES = [1, 2, 3, 5, 7, 16, 61, 512, 4096]
Status = instr.TestStatus


def load(name: str) -> str:
    header, _, body = (DATA / name).read_text(encoding="utf-8").partition("\n")
    assert header.startswith("# source: "), f"{name} lacks its source header"
    return body


# -- command line ------------------------------------------------------------------------------

NASTY_ARGS = {
    "class": "com.example.EmbeddingParityTest#embeddingsMatchHost",
    "model_path": "/sdcard/Android/data/com.example/files/my model (int8).onnx",
    "quotes": "it's \"quoted\" and 'single'",
    "shell": "$HOME; rm -rf / && `reboot` | cat > /dev/null &",
    "newline": "line one\nline two\n",
    "empty": "",
    "glob": "*.onnx ?",
    "unicode": "héllo wörld ✓",
    "backslash": "a\\b\\\\c",
    "dashes": "-e not_a_flag",
}
PACKAGE = "com.example.ava.test"
RUNNER = "androidx.test.runner.AndroidJUnitRunner"


def expected_argv(args: dict[str, str]) -> list[str]:
    argv = ["am", "instrument", "-w", "-r"]
    for key, value in args.items():
        argv += ["-e", key, value]
    return [*argv, f"{PACKAGE}/{RUNNER}"]


def test_command_plain() -> None:
    assert instr.build_instrument_command(PACKAGE, RUNNER) == f"am instrument -w -r {PACKAGE}/{RUNNER}"
    assert instr.build_instrument_command(PACKAGE, RUNNER, wait=False, raw=False) == (
        f"am instrument {PACKAGE}/{RUNNER}"
    )


def test_command_round_trips_through_shlex() -> None:
    command = instr.build_instrument_command(PACKAGE, RUNNER, NASTY_ARGS)
    assert shlex.split(command) == expected_argv(NASTY_ARGS)


def test_command_round_trips_through_a_real_shell() -> None:
    # `adb shell` gives the device shell one string; a POSIX sh parses single quotes the same way.
    command = instr.build_instrument_command(PACKAGE, RUNNER, NASTY_ARGS)
    script = 'am() { printf "%s\\0" "$@"; }\n' + command
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True, timeout=10).stdout
    assert out.decode("utf-8").split("\0")[:-1] == expected_argv(NASTY_ARGS)[1:]


@pytest.mark.parametrize("runner", [".CustomRunner", "com.example.Outer$Runner", "Runner"])
def test_command_accepts_relative_and_nested_runner_names(runner: str) -> None:
    command = instr.build_instrument_command(PACKAGE, runner)
    assert shlex.split(command)[-1] == f"{PACKAGE}/{runner}"


@pytest.mark.parametrize(
    "package",
    [
        "",
        "com..example",
        "1com.example",
        "com.example.",
        ".com",
        "com example",
        "com/example",
        "com.ex$ample",
        "com.example;reboot",
        "com.example\n",
        "-w",
    ],
)
def test_command_rejects_bad_package(package: str) -> None:
    with pytest.raises(InputError) as err:
        instr.build_instrument_command(package, RUNNER)
    assert "test package" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("runner", ["", "a b", "Runner;", "x/y", "..Runner", "com.example.", "$(reboot)"])
def test_command_rejects_bad_runner(runner: str) -> None:
    with pytest.raises(InputError) as err:
        instr.build_instrument_command(PACKAGE, runner)
    assert "runner" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("key", ["", "a b", "a=b", "-e", "a;b", "ké", "a\nb", "$x"])
def test_command_rejects_bad_argument_names(key: str) -> None:
    with pytest.raises(InputError) as err:
        instr.build_instrument_command(PACKAGE, RUNNER, {key: "v"})
    assert "argument name" in str(err.value) and "\n" not in str(err.value)


def test_command_rejects_unpassable_values() -> None:
    with pytest.raises(InputError, match="must be a string"):
        instr.build_instrument_command(PACKAGE, RUNNER, {"numShards": 4})  # type: ignore[dict-item]
    with pytest.raises(InputError, match="NUL"):
        instr.build_instrument_command(PACKAGE, RUNNER, {"x": "a\0b"})


# -- collect_output over a real socket pair ----------------------------------------------------


class Writer:
    """Writes to one end of a socketpair from a thread: chunks with small pauses, then either
    closes (EOF) or holds the connection open until released."""

    def __init__(self, sock: socket.socket, data: bytes, *, seed: int = 0, close: bool = True) -> None:
        self.sock = sock
        self.data = data
        self.seed = seed
        self.close = close
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rng = random.Random(self.seed)
        try:
            pos = 0
            while pos < len(self.data):
                size = rng.choice(CHUNK_SIZES)
                self.sock.sendall(self.data[pos : pos + size])
                pos += size
                if rng.random() < 0.05:
                    time.sleep(0.002)
            if not self.close:
                self.release.wait(30)
        finally:
            self.sock.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    reader, writer = socket.socketpair()
    try:
        yield reader, writer
    finally:
        reader.close()
        writer.close()


def run_writer(writer: Writer, reader_sock: socket.socket, **kwargs: object) -> instr.InstrumentationRun:
    writer.thread.start()
    try:
        parser = instr.InstrumentationResultParser()
        return instr.collect_output(instr.socket_reader(reader_sock), parser, **kwargs)  # type: ignore[arg-type]
    finally:
        writer.release.set()
        writer.thread.join(10)
        assert not writer.thread.is_alive()


def test_collect_output_matches_whole_parse_and_reports_lines(pair: tuple[socket.socket, socket.socket]) -> None:
    text = load("mobly_multiple_tests.txt").replace("\n", "\r\n")
    lines: list[str] = []
    run = run_writer(
        Writer(pair[1], text.encode("utf-8"), seed=7),
        pair[0],
        overall_timeout=30,
        idle_timeout=10,
        on_line=lines.append,
    )
    assert run.to_dict() == instr.parse_output(text).to_dict()
    assert lines == text.split("\r\n")[:-1]


def test_collect_output_decodes_utf8_split_across_reads(pair: tuple[socket.socket, socket.socket]) -> None:
    text = load("mobly_passing_test.txt").replace("basicTest", "größeTest✓")
    data = text.encode("utf-8")
    # CHUNK_SIZES starts with 1, 2, 3 bytes: multi-byte characters get cut.
    run = run_writer(Writer(pair[1], data, seed=1), pair[0], overall_timeout=30, idle_timeout=10)
    assert [t.test_name for t in run.tests] == ["größeTest✓"]
    assert run.passed


def test_collect_output_invalid_utf8_is_replaced(pair: tuple[socket.socket, socket.socket]) -> None:
    data = load("mobly_passing_test.txt").encode("utf-8").replace(b"basicTest", b"basic\xffTest")
    run = run_writer(Writer(pair[1], data), pair[0], overall_timeout=30, idle_timeout=10)
    assert [t.test_name for t in run.tests] == ["basic\ufffdTest"]


def test_collect_output_idle_timeout(pair: tuple[socket.socket, socket.socket]) -> None:
    text = load("mobly_passing_test.txt")
    first_start = text.index("INSTRUMENTATION_STATUS_CODE: 1\n") + len("INSTRUMENTATION_STATUS_CODE: 1\n")
    writer = Writer(pair[1], text[:first_start].encode("utf-8"), close=False)
    run = run_writer(writer, pair[0], overall_timeout=30, idle_timeout=0.3)
    (test,) = run.tests
    assert (test.test_name, test.status) == ("basicTest", Status.INCOMPLETE)
    assert "no output for 0.3 s" in (test.stack or "")
    assert run.run_failure is not None and run.run_failure.startswith("no output for 0.3 s")
    assert not run.passed


def test_collect_output_overall_timeout_with_trickling_output(pair: tuple[socket.socket, socket.socket]) -> None:
    stop = threading.Event()

    def trickle() -> None:
        try:
            sock = pair[1]
            sock.sendall(load("mobly_passing_test.txt").split("INSTRUMENTATION_STATUS_CODE: 1\n")[0].encode())
            while not stop.wait(0.02):
                sock.sendall(b"\tat com.example.Slow.frame(Slow.java:1)\n")
        except OSError:
            pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        run = instr.collect_output(
            instr.socket_reader(pair[0]),
            instr.InstrumentationResultParser(),
            overall_timeout=0.5,
            idle_timeout=5,
        )
    finally:
        stop.set()
        thread.join(10)
    assert run.run_failure is not None and run.run_failure.startswith("timed out after 0.5 s")
    assert not run.passed


def test_collect_output_immediate_eof(pair: tuple[socket.socket, socket.socket]) -> None:
    run = run_writer(Writer(pair[1], b""), pair[0], overall_timeout=30, idle_timeout=10)
    assert run.run_failure == "no test results"
    assert not run.passed


def test_collect_output_deadlines_use_the_injected_clock() -> None:
    now = [0.0]

    def clock() -> float:
        return now[0]

    def read(timeout: float) -> bytes | None:
        assert 0 < timeout <= 10
        now[0] += timeout  # nothing arrives: time passes by the whole wait
        raise TimeoutError

    run = instr.collect_output(
        read, instr.InstrumentationResultParser(), overall_timeout=25, idle_timeout=10, clock=clock
    )
    assert run.run_failure is not None and run.run_failure.startswith("no output for 10 s")

    now[0] = 0.0
    sent = iter([b"INSTRUMENTATION_STATUS: numtests=1\n"] * 100)

    def chatty(timeout: float) -> bytes | None:
        now[0] += 1.0
        return next(sent)

    run = instr.collect_output(
        chatty, instr.InstrumentationResultParser(), overall_timeout=25, idle_timeout=10, clock=clock
    )
    assert run.run_failure is not None and run.run_failure.startswith("timed out after 25 s")


def test_collect_output_connection_lost_is_a_failed_run_not_an_exception() -> None:
    chunks = iter([load("mobly_passing_test.txt")[:400].encode()])

    def read(timeout: float) -> bytes | None:
        for chunk in chunks:
            return chunk
        raise ConnectionResetError(104, "Connection reset by peer")

    run = instr.collect_output(read, instr.InstrumentationResultParser(), overall_timeout=30, idle_timeout=10)
    assert run.run_failure is not None and run.run_failure.startswith("connection lost:")
    assert [t.status for t in run.tests] == [Status.INCOMPLETE]
    # None is EOF too.
    run = instr.collect_output(lambda _t: None, instr.InstrumentationResultParser(), overall_timeout=1, idle_timeout=1)
    assert run.run_failure == "no test results"


def test_collect_output_stops_reading_past_its_byte_bound() -> None:
    """A device that streams without end (a 1 GB stack) costs the host max_bytes, not its memory."""
    head = load("mobly_passing_test.txt")
    start = head[: head.index("INSTRUMENTATION_STATUS_CODE: 1") + len("INSTRUMENTATION_STATUS_CODE: 1\n")]
    chunks = iter([start.encode(), b"INSTRUMENTATION_STATUS: stack=" + b"x" * 1000])
    sizes: list[int] = []

    def read(timeout: float) -> bytes | None:
        chunk = next(chunks, b"y" * 4096)  # then more, forever
        sizes.append(len(chunk))
        return chunk

    bound = 64 * 1024
    run = instr.collect_output(
        read, instr.InstrumentationResultParser(), overall_timeout=30, idle_timeout=10, max_bytes=bound
    )
    assert run.run_failure is not None and run.run_failure.startswith(f"more than {bound} bytes of output")
    assert [t.status for t in run.tests] == [Status.INCOMPLETE]
    assert sum(sizes[:-1]) <= bound < sum(sizes)  # it stopped at the first read past the bound
