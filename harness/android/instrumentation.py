"""`am instrument -w -r` on a device: turn its raw output into per-test results a gate can trust.
The command line and the reading of the stream live in instrument_run, the result types in
instrument_results; every public name is importable from here.

The parser follows ddmlib's InstrumentationResultParser (what Tradefed and Android Studio use) and
fixes the places where ddmlib can report a run that did not finish as a pass: a run only passes
when the session ended with code -1, nothing reported a run-level error, every started test
finished, and as many tests finished as the runner announced (`numtests`).

Output shape, as printed by frameworks/base cmds/am Instrument.java (one line per bundle key,
keys sorted, multi-line values printed raw):

    INSTRUMENTATION_STATUS: class=com.example.EmbeddingParityTest
    INSTRUMENTATION_STATUS: test=embeddingsMatchHost
    INSTRUMENTATION_STATUS_CODE: 1
    INSTRUMENTATION_STATUS: stack=java.lang.AssertionError: ...
        at ...
    INSTRUMENTATION_STATUS_CODE: -2
    INSTRUMENTATION_RESULT: stream=
    Time: 1,745.755
    INSTRUMENTATION_CODE: -1
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.android.instrument_results import OK_STATUSES, InstrumentationRun, TestResult, TestStatus
from harness.android.instrument_run import LineSplitter, build_instrument_command, collect_output, socket_reader

__all__ = [
    "InstrumentationResultParser",
    "InstrumentationRun",
    "TestResult",
    "TestStatus",
    "build_instrument_command",
    "collect_output",
    "parse_output",
    "socket_reader",
]


# Per-test status codes (androidx InstrumentationResultPrinter.REPORT_VALUE_RESULT_*).
_CODE_START = 1
_CODE_IN_PROGRESS = 2
_END_CODES: dict[int, TestStatus] = {
    0: TestStatus.PASSED,
    -1: TestStatus.ERROR,
    -2: TestStatus.FAILED,
    -3: TestStatus.IGNORED,
    -4: TestStatus.ASSUMPTION_FAILURE,
}

# Status keys the runner itself sends; everything else in a status bundle is a test's own metric.
_KNOWN_STATUS_KEYS = frozenset({"class", "test", "stack", "numtests", "current", "id", "stream", "Error"})
# Result keys that describe the session; everything else in the final bundle is a run metric.
_KNOWN_RESULT_KEYS = frozenset({"stream", "shortMsg", "longMsg"})

_FATAL_EXCEPTION_MSG = "Fatal exception when running tests"
_INCOMPLETE_TEST_MSG = "test failed to run to completion"

_PREFIX_RE = re.compile(
    r"(INSTRUMENTATION_STATUS_CODE|INSTRUMENTATION_STATUS|INSTRUMENTATION_RESULT|INSTRUMENTATION_CODE"
    r"|INSTRUMENTATION_FAILED|INSTRUMENTATION_ABORTED|onError):(?: |$)(.*)",
    re.DOTALL,
)
# A JUnit time line: "Time: 0.214", "Time: 1,745.755", "Time: 0.001)" (ddmlib's forms). ASCII digits
# only: int() and float() also read other scripts' digits ("٣"), so anything else is unknown.
_TIME_LINE_RE = re.compile(r"Time:(.*)", re.DOTALL)
_TIME_VALUE_RE = re.compile(r"\s*([0-9][0-9,]*(?:\.[0-9]*)?)\)?\s*", re.ASCII)
_INT_RE = re.compile(r"\s*([-+]?[0-9]{1,18})\s*", re.ASCII)
_ON_ERROR_RE = re.compile(r"commandError=(?:true|false) message=(.*)", re.DOTALL)
_JUNIT_FAILURES_RE = re.compile(r"^(Tests (?:found|run): .*)$", re.MULTILINE)


@dataclass
class _Started:
    class_name: str
    test_name: str
    order: int
    metrics: dict[str, str] = field(default_factory=dict)
    # What happened while it ran that a single-threaded runner would not do (another test
    # started, another test's result came): the reason it gets if its own result never comes.
    overtaken: str | None = None


def _parse_int(text: str) -> int | None:
    match = _INT_RE.fullmatch(text)
    return int(match.group(1)) if match else None


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


class InstrumentationResultParser:
    """Streaming parser for `am instrument -r` output: `feed()` text in chunks of any size (split
    mid-line or mid-\\r\\n is fine), then `finish()` once the stream has ended."""

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._section: str | None = None  # "status" or "result": where the open key belongs
        self._key: str | None = None
        self._value: list[str] = []
        self._bundle: dict[str, str] = {}
        self._result: dict[str, str] = {}
        # Started tests without a result yet, by (class, test): a result is matched to its test by
        # name, so one that arrives after the next test started still counts.
        self._open: dict[tuple[str, str], _Started] = {}
        self._pending_metrics: dict[str, str] = {}  # metrics sent while no test was open
        self._tests: list[TestResult] = []
        self._order = 0
        self._expected: int | None = None
        self._session_code: int | None = None
        self._session_ended = False
        self._time: float | None = None
        self._problems: list[str] = []
        self._saw_protocol = False
        self._run: InstrumentationRun | None = None

    # -- input ---------------------------------------------------------------------------------

    def feed(self, text: str) -> None:
        if self._run is not None:
            raise RuntimeError("feed() after finish()")
        for line in self._lines.push(text):
            self._line(line)

    def finish(self, interrupted: str | None = None) -> InstrumentationRun:
        """Close the run. `interrupted` says why the output stopped early (a timeout, a lost
        connection); it leads the run failure and is the reason given to any unfinished test."""
        if self._run is not None:
            return self._run
        last = self._lines.flush()
        if last is not None:
            self._line(last)
        self._submit()
        self._run = self._build_run(interrupted)
        return self._run

    # -- line handling -------------------------------------------------------------------------

    def _line(self, line: str) -> None:
        match = _PREFIX_RE.match(line)
        if match is None:
            self._plain_line(line)
            return
        self._saw_protocol = True
        prefix, rest = match.group(1), match.group(2)
        if prefix == "INSTRUMENTATION_STATUS_CODE":
            self._submit()
            self._close_bundle(rest)
        elif prefix in ("INSTRUMENTATION_STATUS", "INSTRUMENTATION_RESULT"):
            self._submit()
            self._open_key("status" if prefix == "INSTRUMENTATION_STATUS" else "result", rest)
        elif prefix == "INSTRUMENTATION_CODE":
            self._submit()
            self._session_ended = True
            self._session_code = _parse_int(rest)
            if self._session_code is None:
                self._problem(f"unreadable INSTRUMENTATION_CODE: {rest.strip()!r}")
        elif prefix == "INSTRUMENTATION_FAILED":
            self._submit()
            self._problem(f"INSTRUMENTATION_FAILED: {rest.strip()}")
        elif prefix == "INSTRUMENTATION_ABORTED":
            # am prints this from another thread, so it can land inside a bundle: record it
            # without closing the value being collected.
            self._problem(f"INSTRUMENTATION_ABORTED: {rest.strip()}")
        else:  # onError, same interleaving as above
            on_error = _ON_ERROR_RE.match(rest)
            self._problem(on_error.group(1).strip() if on_error else f"am error: {rest.strip()}")

    def _plain_line(self, line: str) -> None:
        time_match = _TIME_LINE_RE.match(line)
        if time_match:
            value = _TIME_VALUE_RE.fullmatch(time_match.group(1))
            self._time = float(value.group(1).replace(",", "")) if value else None
            # ddmlib drops the line; inside the final stream it is part of the JUnit summary, so
            # keep it there, but never let it leak into a test's status value.
            if self._key is not None and self._section == "result":
                self._value.append(line)
            return
        if self._key is not None:
            self._value.append(line)  # a multi-line value (stack, stream) continues
            return
        # Outside any value: am's own exception when it cannot start the instrumentation,
        # ("android.util.AndroidException: INSTRUMENTATION_FAILED: pkg/runner") or noise.
        failed_at = line.find("INSTRUMENTATION_FAILED: ")
        if failed_at >= 0:
            self._problem(line[failed_at:].strip())

    def _open_key(self, section: str, rest: str) -> None:
        key, sep, value = rest.partition("=")
        if not sep or not key.strip():
            return  # not a key=value line; its continuation lines have nowhere to go
        self._section = section
        self._key = key.strip()
        self._value = [value]

    def _submit(self) -> None:
        if self._key is None:
            return
        value = "\n".join(self._value)
        if self._section == "status":
            self._bundle[self._key] = value
        else:
            self._result[self._key] = value
        self._key = None
        self._value = []
        self._section = None

    def _problem(self, message: str) -> None:
        if message and message not in self._problems:
            self._problems.append(message)

    # -- bundles -------------------------------------------------------------------------------

    def _close_bundle(self, raw_code: str) -> None:
        # ddmlib's rule: an unreadable code ("-1at com.android.commands.am...") is an error.
        code = _parse_int(raw_code)
        if code is None:
            code = -1
        bundle, self._bundle = self._bundle, {}

        numtests = _parse_int(bundle.get("numtests", ""))
        if numtests is not None:
            self._expected = numtests if self._expected is None else max(self._expected, numtests)
        if "Error" in bundle:
            self._problem(bundle["Error"].strip() or "instrumentation reported an error")

        metrics = {k: v for k, v in bundle.items() if k not in _KNOWN_STATUS_KEYS}
        class_name = bundle.get("class", "").strip()
        test_name = bundle.get("test", "").strip()
        if code == _CODE_IN_PROGRESS:
            self._metrics_for(class_name, test_name).update(metrics)
            return
        if not (class_name and test_name):
            # Not a test (ddmlib's "a test counts only with class, test and a code"). Custom
            # sendStatus calls with a wrong code land here (androidx benchmark 1.0 sent -1), so
            # their keys still count as the running test's metrics. A stack with no test is a
            # failure in @BeforeClass or a crash the orchestrator saw: the run did not pass.
            self._metrics_for("", "").update(metrics)
            if code in (-1, -2) and bundle.get("stack", "").strip() and "Error" not in bundle:
                self._problem(f"failure outside any test: {_first_line(bundle['stack'])}")
            return
        if code == _CODE_START:
            self._start(class_name, test_name, metrics)
        else:
            self._end(class_name, test_name, code, bundle.get("stack"), metrics)

    def _metrics_for(self, class_name: str, test_name: str) -> dict[str, str]:
        """Where a bundle's own metrics go: the open test it names, else the test that started
        last and is still open, else the metrics of no test yet."""
        named = self._open.get((class_name, test_name))
        if named is not None:
            return named.metrics
        if self._open:
            return next(reversed(self._open.values())).metrics
        return self._pending_metrics

    def _overtake(self, reason: str) -> None:
        for started in self._open.values():
            started.overtaken = started.overtaken or reason

    def _start(self, class_name: str, test_name: str, metrics: dict[str, str]) -> None:
        again = self._open.get((class_name, test_name))
        if again is not None:
            self._close_incomplete(again, f"{class_name}#{test_name} started again before it finished")
        self._overtake(f"the next test, {class_name}#{test_name}, started first")
        self._order += 1
        self._open[(class_name, test_name)] = _Started(class_name, test_name, self._order, dict(metrics))
        self._pending_metrics = {}

    def _end(self, class_name: str, test_name: str, code: int, stack: str | None, metrics: dict[str, str]) -> None:
        status = _END_CODES.get(code, TestStatus.ERROR)
        if stack is not None:
            stack = stack.rstrip("\n") or None
        if code not in _END_CODES and stack is None:
            stack = f"unknown instrumentation status code {code}"
        started = self._open.pop((class_name, test_name), None)
        if started is not None:
            order, earlier = started.order, started.metrics
        else:
            self._overtake(f"a result for {class_name}#{test_name} arrived before it finished")
            if any(t.class_name == class_name and t.test_name == test_name for t in self._tests):
                # AJUR re-reports the previous test when the process dies in a later class's
                # @BeforeClass; counting it twice would hide the tests that never ran.
                detail = f": {_first_line(stack)}" if stack else ""
                self._problem(f"{class_name}#{test_name} reported a second result ({status.value}){detail}")
                self._pending_metrics = {}
                return
            self._order += 1
            order, earlier = self._order, self._pending_metrics
        self._tests.append(
            TestResult(
                class_name=class_name,
                test_name=test_name,
                status=status,
                stack=stack,
                metrics={**earlier, **metrics},
                started_order=order,
            )
        )
        self._pending_metrics = {}

    def _close_incomplete(self, started: _Started, reason: str) -> None:
        del self._open[(started.class_name, started.test_name)]
        self._tests.append(
            TestResult(
                class_name=started.class_name,
                test_name=started.test_name,
                status=TestStatus.INCOMPLETE,
                stack=f"{_INCOMPLETE_TEST_MSG}. Reason: {reason}",
                metrics=dict(started.metrics),
                started_order=started.order,
            )
        )

    # -- verdict -------------------------------------------------------------------------------

    def _build_run(self, interrupted: str | None) -> InstrumentationRun:
        problems: list[str] = []
        if interrupted:
            problems.append(interrupted)
        if not self._saw_protocol:
            # Nothing from an instrumentation at all: an empty stream, or `am` usage text.
            problems.append("no test results")
        problems.extend(self._problems)

        result = dict(self._result)
        short_msg = result.get("shortMsg", "").strip()
        long_msg = result.get("longMsg", "").strip()
        if short_msg:
            message = f"instrumentation run failed due to '{short_msg}'"
            if long_msg and long_msg != short_msg:
                message += f" ({_first_line(long_msg)})"
            problems.append(message)
        stream = result.get("stream")
        if stream is not None and _FATAL_EXCEPTION_MSG in stream:
            lines = [ln.strip() for ln in stream.splitlines() if ln.strip()]
            at = next(i for i, ln in enumerate(lines) if _FATAL_EXCEPTION_MSG in ln)
            cause = lines[at + 1] if at + 1 < len(lines) else ""
            problems.append(f"runner fatal error: {_FATAL_EXCEPTION_MSG}" + (f": {cause}" if cause else ""))

        # Only when nothing above already says why the run stopped.
        if not problems and not self._session_ended:
            problems.append("output ended before INSTRUMENTATION_CODE (device lost or process killed)")
        elif not problems and self._session_code != -1:
            problems.append(f"instrumentation session ended with code {self._session_code}, not -1")

        for started in list(self._open.values()):
            reason = problems[0] if problems else "the instrumentation finished without reporting its result"
            self._close_incomplete(started, started.overtaken or reason)

        tests = sorted(self._tests, key=lambda t: t.started_order)
        completed = sum(1 for t in tests if t.status is not TestStatus.INCOMPLETE)
        if self._expected is not None and completed != self._expected:
            problems.append(f"test run incomplete: expected {self._expected} tests, received {completed}")
        if stream and "FAILURES!!!" in stream and not any(t.status not in OK_STATUSES for t in tests):
            # JUnit counted a failure no per-test bundle carried (an exception in @BeforeClass).
            junit = _JUNIT_FAILURES_RE.search(stream)
            problems.append(
                "runner reported failures outside any test" + (f": {junit.group(1).strip()}" if junit else "")
            )
        unfinished = sum(1 for t in tests if t.status is TestStatus.INCOMPLETE)
        if unfinished and not problems:  # e.g. no numtests to compare against
            problems.append(f"{unfinished} test(s) did not finish")
        if not tests and not problems:
            problems.append("no test results")

        unique = list(dict.fromkeys(problems))
        return InstrumentationRun(
            tests=tests,
            expected_count=self._expected,
            run_metrics={k: v for k, v in result.items() if k not in _KNOWN_RESULT_KEYS},
            session_code=self._session_code,
            time_seconds=self._time,
            run_failure="; ".join(unique) if unique else None,
            result_stream=stream,
        )


def parse_output(text: str) -> InstrumentationRun:
    """Parse a complete transcript in one go."""
    parser = InstrumentationResultParser()
    parser.feed(text)
    return parser.finish()
