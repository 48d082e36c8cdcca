"""`am instrument -w -r` on a device: the command line, and its raw output read as it streams
into harness.android.instrumentation's parser, with deadlines."""

from __future__ import annotations

import codecs
import re
import shlex
import socket
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from harness.android.instrument_results import InstrumentationRun
from harness.errors import InputError

__all__ = [
    "MAX_OUTPUT_BYTES",
    "LineSplitter",
    "Reader",
    "StreamParser",
    "build_instrument_command",
    "collect_output",
    "socket_reader",
]


class StreamParser(Protocol):
    """What collect_output feeds: harness.android.instrumentation.InstrumentationResultParser. A
    Protocol, so this module sits below the parser's and never imports it."""

    def feed(self, text: str) -> None: ...

    def finish(self, interrupted: str | None = None) -> InstrumentationRun: ...


class LineSplitter:
    """Cuts a stream of text into lines at any chunk boundary. Pieces of an unfinished line are
    kept in a list so a 32 KB stack arriving a byte at a time costs linear, not quadratic, time."""

    def __init__(self) -> None:
        self._partial: list[str] = []

    def push(self, text: str) -> list[str]:
        if "\n" not in text:
            if text:
                self._partial.append(text)
            return []
        pieces = text.split("\n")
        pieces[0] = "".join(self._partial) + pieces[0]
        tail = pieces.pop()
        self._partial = [tail] if tail else []
        # adb with a pty turns \n into \r\n, some old devices into \r\r\n.
        return [p.rstrip("\r") for p in pieces]

    def flush(self) -> str | None:
        if not self._partial:
            return None
        line = "".join(self._partial).rstrip("\r")
        self._partial = []
        return line


# -- command line --------------------------------------------------------------------------------

_JAVA_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_PACKAGE_RE = re.compile(rf"{_JAVA_IDENT}(?:\.{_JAVA_IDENT})*")
# Fully qualified or manifest-relative (".Runner"); '$' for nested classes (quoted below).
_CLASS_IDENT = r"[A-Za-z_$][A-Za-z0-9_$]*"
_RUNNER_RE = re.compile(rf"\.?{_CLASS_IDENT}(?:\.{_CLASS_IDENT})*")
_ARG_KEY_RE = re.compile(r"[A-Za-z0-9_.]+")


def build_instrument_command(
    test_package: str,
    runner: str,
    args: Mapping[str, str] | None = None,
    *,
    wait: bool = True,
    raw: bool = True,
) -> str:
    """The device shell command line for `am instrument`. `adb shell` hands its command to the
    device's shell as one string, so every word is shlex-quoted here: values with spaces, quotes,
    `$`, `;` or newlines reach InstrumentationRegistry.getArguments() unchanged. (Mobly passes
    -e values unquoted, so a value with a space splits into two arguments there.)"""
    if not isinstance(test_package, str) or not _PACKAGE_RE.fullmatch(test_package):
        raise InputError(f"invalid test package {test_package!r}: expected a Java package name")
    if not isinstance(runner, str) or not _RUNNER_RE.fullmatch(runner):
        raise InputError(f"invalid instrumentation runner {runner!r}: expected a Java class name")
    argv = ["am", "instrument"]
    if wait:
        argv.append("-w")
    if raw:
        argv.append("-r")
    for key, value in (args or {}).items():
        if not isinstance(key, str) or not _ARG_KEY_RE.fullmatch(key):
            raise InputError(f"invalid instrumentation argument name {key!r}: use letters, digits, _ and .")
        if not isinstance(value, str):
            raise InputError(f"instrumentation argument {key!r} must be a string, got {type(value).__name__}")
        if "\0" in value:
            raise InputError(f"instrumentation argument {key!r} contains a NUL byte")
        argv += ["-e", key, value]
    argv.append(f"{test_package}/{runner}")
    return " ".join(shlex.quote(word) for word in argv)


# -- reading the stream --------------------------------------------------------------------------

Reader = Callable[[float], bytes | None]
# An `am instrument -r` session of the sign-off prints a few kB per model; a device that sends more
# than this is not running the contract's tests, and the host's memory must not follow it.
MAX_OUTPUT_BYTES = 64 * 1024 * 1024


def collect_output(
    read: Reader,
    parser: StreamParser,
    *,
    overall_timeout: float,
    idle_timeout: float,
    on_line: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    max_bytes: int = MAX_OUTPUT_BYTES,
) -> InstrumentationRun:
    """Pump `read(timeout_seconds)` into `parser` until EOF (b"" or None), an overall deadline,
    `idle_timeout` seconds without a byte, or more than `max_bytes` of output (the rest is not
    read). A timeout, too much output or a dropped connection does not raise: the run comes back
    failed, with the running test INCOMPLETE, so the caller can still report every test that did
    finish. Stopping the remote process after such an interruption is the caller's job."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = LineSplitter() if on_line is not None else None
    start = clock()
    last_data = start
    received = 0
    interrupted: str | None = None

    def consume(text: str) -> None:
        if not text:
            return
        parser.feed(text)
        if lines is not None and on_line is not None:
            for line in lines.push(text):
                on_line(line)

    while True:
        now = clock()
        overall_left = start + overall_timeout - now
        idle_left = last_data + idle_timeout - now
        if overall_left <= 0:
            interrupted = f"timed out after {overall_timeout:g} s"
            break
        if idle_left <= 0:
            interrupted = f"no output for {idle_timeout:g} s"
            break
        try:
            chunk = read(min(overall_left, idle_left))
        except TimeoutError:  # socket.timeout is an alias of TimeoutError since Python 3.10
            continue  # the deadlines above decide whether to wait again
        except OSError as exc:
            interrupted = f"connection lost: {exc}"
            break
        if not chunk:
            break
        last_data = clock()
        if received + len(chunk) > max_bytes:
            consume(decoder.decode(chunk[: max_bytes - received]))
            interrupted = f"more than {max_bytes} bytes of output"
            break
        received += len(chunk)
        consume(decoder.decode(chunk))

    consume(decoder.decode(b"", final=True))
    if lines is not None and on_line is not None:
        tail = lines.flush()
        if tail is not None:
            on_line(tail)
    return parser.finish(interrupted)


def socket_reader(sock: socket.socket) -> Reader:
    """A `read` for collect_output over a connected socket (e.g. an adb shell stream)."""

    def read(timeout_seconds: float) -> bytes | None:
        # settimeout(0) would make the socket non-blocking (BlockingIOError, not a timeout).
        sock.settimeout(max(timeout_seconds, 0.001))
        return sock.recv(65536)

    return read
