"""Tests for harness.android.instrumentation: the `am instrument -r` parser on real transcripts (copied from
ddmlib, Android Studio, Mobly and Mobile Harness tests; see tests/android/data/transcripts/NOTICE). The
command builder and collect_output are tested in test_instrument_run.py."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from harness.android import instrumentation as instr

DATA = Path(__file__).parent / "data" / "transcripts"
ALL_TRANSCRIPTS = sorted(p.name for p in DATA.glob("*.txt"))
# The only transcripts that describe a complete, green run. Every other one must not pass.
PASSING = {
    "mobly_passing_test.txt",
    "mobly_random_whitespace.txt",
    "studio_benchmark_custom_status_error_code.txt",
}
Status = instr.TestStatus
CHUNK_SIZES = [1, 2, 3, 5, 7, 16, 61, 512, 4096]


def load(name: str) -> str:
    header, _, body = (DATA / name).read_text(encoding="utf-8").partition("\n")
    assert header.startswith("# source: "), f"{name} lacks its source header"
    return body


def feed_in_chunks(text: str, seed: int) -> instr.InstrumentationRun:
    rng = random.Random(seed)
    parser = instr.InstrumentationResultParser()
    pos = 0
    while pos < len(text):
        size = rng.choice(CHUNK_SIZES)
        parser.feed(text[pos : pos + size])
        pos += size
    return parser.finish()


def parse_every_way(text: str) -> instr.InstrumentationRun:
    """Whole, in seeded random chunks, and with \\r\\n line ends: the result must not change."""
    whole = instr.parse_output(text)
    expected = whole.to_dict()
    crlf = text.replace("\n", "\r\n")
    for seed in range(3):
        assert feed_in_chunks(text, seed).to_dict() == expected, f"chunk seed {seed}"
        assert feed_in_chunks(crlf, 100 + seed).to_dict() == expected, f"crlf chunk seed {seed}"
    assert instr.parse_output(crlf).to_dict() == expected
    return whole


def parse_file(name: str) -> instr.InstrumentationRun:
    return parse_every_way(load(name))


def by_name(run: instr.InstrumentationRun) -> dict[str, instr.TestResult]:
    return {t.test_name: t for t in run.tests}


# -- every transcript --------------------------------------------------------------------------


def test_transcripts_present_with_notice() -> None:
    assert len(ALL_TRANSCRIPTS) >= 25
    notice = (DATA / "NOTICE").read_text(encoding="utf-8")
    assert "Apache License, Version 2.0" in notice


@pytest.mark.parametrize("name", ALL_TRANSCRIPTS)
def test_every_transcript_is_chunking_independent_and_never_a_false_pass(name: str) -> None:
    run = parse_file(name)
    assert run.passed == (name in PASSING), run.summary()
    if not run.passed:
        # A failed run always says why, either at run level or on a test.
        assert run.run_failure or run.failed_tests
    json.dumps(run.to_dict())  # reports are JSON


# -- passing runs ------------------------------------------------------------------------------


def test_passing_run() -> None:
    run = parse_file("mobly_passing_test.txt")
    assert run.passed
    assert run.run_failure is None
    assert run.session_code == -1
    assert run.expected_count == 1
    assert run.time_seconds == pytest.approx(0.214)
    assert [(t.class_name, t.test_name, t.status, t.started_order) for t in run.tests] == [
        ("com.my.package.test.BasicTest", "basicTest", Status.PASSED, 1)
    ]
    assert run.tests[0].stack is None
    assert run.tests[0].metrics == {}
    assert run.result_stream is not None and "OK (1 test)" in run.result_stream
    assert run.summary().startswith("PASSED: 1/1 tests")


def test_blank_lines_between_every_line_change_nothing() -> None:
    spaced = parse_file("mobly_random_whitespace.txt")
    plain = parse_file("mobly_passing_test.txt")
    assert [t.to_dict() for t in spaced.tests] == [t.to_dict() for t in plain.tests]
    assert spaced.passed and spaced.time_seconds == plain.time_seconds


def test_every_status_in_one_run() -> None:
    run = parse_file("mobly_multiple_tests.txt")
    tests = by_name(run)
    assert {n: t.status for n, t in tests.items()} == {
        "failingTest": Status.FAILED,
        "assumptionFailureTest": Status.ASSUMPTION_FAILURE,
        "ignoredTest": Status.IGNORED,
        "passingTest": Status.PASSED,
    }
    assert [t.started_order for t in run.tests] == [1, 2, 3, 4]
    failing = tests["failingTest"].stack or ""
    assert failing.startswith("java.lang.UnsupportedOperationException: dummy failing test\n")
    assert failing.endswith("at android.app.Instrumentation$InstrumentationThread.run(Instrumentation.java:2074)")
    assert "Error in failingTest" not in failing  # the stream key is not part of the stack
    assert (tests["assumptionFailureTest"].stack or "").startswith("org.junit.AssumptionViolatedException")
    assert run.run_failure is None  # the run itself completed; the tests decide the verdict
    assert not run.passed
    assert [t.test_name for t in run.failed_tests] == ["failingTest", "assumptionFailureTest"]
    assert run.counts() == {
        "passed": 1,
        "failed": 1,
        "error": 0,
        "ignored": 1,
        "assumption_failure": 1,
        "incomplete": 0,
    }
    assert run.time_seconds == pytest.approx(4.131)


def test_ignored_and_assumption_failures_ddmlib() -> None:
    run = parse_file("ddmlib_assumption_failures_ignored.txt")
    assert [(t.test_name, t.status) for t in run.tests] == [
        ("checkIgnoreTestsArePossible", Status.IGNORED),
        ("checkAssumptionIsSkipped", Status.ASSUMPTION_FAILURE),
        ("testPreconditions", Status.PASSED),
    ]
    assert run.expected_count == 3 and run.completed_count == 3
    assert run.time_seconds == pytest.approx(0.676)
    assert run.run_failure is None
    assert not run.passed  # an assumption failure is not a pass for a gate


# -- process and Java crashes ------------------------------------------------------------------


def test_process_crash_mid_test() -> None:
    run = parse_file("mobly_process_crash_mid_test.txt")
    (test,) = run.tests
    assert (test.test_name, test.status) == ("crashTest", Status.INCOMPLETE)
    assert (test.stack or "").startswith("test failed to run to completion")
    assert "Process crashed." in (test.stack or "")
    assert run.session_code == 0
    assert run.run_failure is not None
    assert "instrumentation run failed due to 'Process crashed.'" in run.run_failure
    assert "expected 1 tests, received 0" in run.run_failure
    assert not run.passed


def test_process_crash_before_any_test() -> None:
    run = parse_file("mobly_process_crash_setup.txt")
    assert run.tests == []
    assert run.run_failure is not None and "Process crashed." in run.run_failure
    assert not run.passed


def test_process_crash_after_the_last_test_fails_the_run_but_keeps_the_result() -> None:
    run = parse_file("mobly_process_crash_teardown.txt")
    assert [(t.test_name, t.status) for t in run.tests] == [("basicTest", Status.PASSED)]
    assert run.run_failure is not None and "Process crashed." in run.run_failure
    assert not run.passed


def test_java_crash_short_and_long_message() -> None:
    run = parse_file("mobileharness_java_crash.txt")
    (test,) = run.tests
    assert (test.class_name, test.test_name, test.status) == ("com.google.Foo", "barTest", Status.INCOMPLETE)
    assert run.run_failure is not None
    assert "'java.lang.RuntimeException'" in run.run_failure
    assert "java.lang.RuntimeException: No content.." in run.run_failure
    assert run.run_metrics == {}  # shortMsg / longMsg are not metrics
    assert run.session_code == 0


def test_unable_to_instantiate_instrumentation() -> None:
    run = parse_file("ddmlib_unable_to_instantiate.txt")
    assert run.run_failure == "instrumentation run failed due to 'Unable to instantiate instrumentation'"


# -- unknown runner or package -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "component"),
    [
        ("studio_unknown_runner_onerror.txt", "com.example.mytestapp.test2/androidx.test.runner.AndroidJUnitRunner"),
        ("mobly_missing_test_package.txt", "com.my.package.test/com.my.package.test.runner.MyRunner"),
        ("mobly_missing_runner.txt", "com.my.package.test/com.my.package.test.runner"),
        ("ddmlib_run_failed_instrumentation_failed.txt", "com.dummy/android.test.InstrumentationTestRunner"),
    ],
)
def test_unknown_runner_or_package(name: str, component: str) -> None:
    run = parse_file(name)
    assert run.tests == []
    assert run.session_code is None
    assert run.run_failure is not None
    assert "Unable to find instrumentation info" in run.run_failure
    # onError and am's AndroidException say the same thing: reported once.
    assert run.run_failure.count(f"INSTRUMENTATION_FAILED: {component}") == 1
    assert not run.passed


def test_non_integer_status_code_counts_as_error() -> None:
    run = parse_file("ddmlib_invalid_status_code.txt")  # "INSTRUMENTATION_STATUS_CODE: -1at com..."
    assert run.tests == []
    assert run.run_failure is not None
    assert "Unable to find instrumentation target package: foo" in run.run_failure
    assert "INSTRUMENTATION_FAILED: foo/foo" in run.run_failure
    # The same rule on a test's own end bundle: the test is an error, not a pass.
    text = load("mobly_passing_test.txt").replace(
        "INSTRUMENTATION_STATUS_CODE: 0\n", "INSTRUMENTATION_STATUS_CODE: OK\n"
    )
    mangled = parse_every_way(text)
    assert [t.status for t in mangled.tests] == [Status.ERROR]
    assert not mangled.passed


# -- system crash, runner fatal error ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "class_name", "test_name"),
    [
        ("ddmlib_system_crash_onerror.txt", "com.test.FooTest", "testFoo"),
        ("studio_system_crash_aborted.txt", "com.example.Tests", "testExample"),
    ],
)
def test_system_crash(name: str, class_name: str, test_name: str) -> None:
    run = parse_file(name)
    (test,) = run.tests
    # The interleaved onError / ABORTED lines must not become part of the class name.
    assert (test.class_name, test.test_name, test.status) == (class_name, test_name, Status.INCOMPLETE)
    assert "System has crashed." in (test.stack or "")
    assert run.run_failure is not None
    assert run.run_failure.count("INSTRUMENTATION_ABORTED: System has crashed.") == 1
    assert not run.passed


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("ddmlib_runner_fatal_stream.txt", "java.lang.IllegalArgumentException: Ambiguous arguments"),
        ("ddmlib_runner_fatal_log_only.txt", "java.lang.RuntimeException: it failed super fast."),
        ("studio_fatal_exception.txt", "java.lang.RuntimeException: Something fatal"),
    ],
)
def test_runner_fatal_exception(name: str, cause: str) -> None:
    run = parse_file(name)
    assert run.session_code == -1  # AJUR still ends the session "successfully"
    assert run.run_failure is not None
    assert run.run_failure.startswith("runner fatal error: Fatal exception when running tests")
    assert cause in run.run_failure
    assert not run.passed


def test_orchestrator_crash_before_any_test() -> None:
    run = parse_file("studio_crash_before_any_test.txt")
    assert run.tests == []
    assert run.run_failure is not None
    assert "failure outside any test: Test instrumentation process crashed." in run.run_failure


# -- output that stops, counts that do not add up ----------------------------------------------


def test_output_stops_mid_test() -> None:
    run = parse_file("ddmlib_incomplete.txt")
    (test,) = run.tests
    assert test.status is Status.INCOMPLETE
    assert (test.stack or "").startswith("test failed to run to completion")
    assert run.run_failure is not None and "ended before INSTRUMENTATION_CODE" in run.run_failure


def test_cut_transcript_keeps_finished_tests_and_marks_the_running_one() -> None:
    text = load("mobly_multiple_tests.txt")
    cut = text.index("INSTRUMENTATION_STATUS: test=ignoredTest\nINSTRUMENTATION_STATUS_CODE: 1\n")
    cut = text.index("\n", text.index("INSTRUMENTATION_STATUS_CODE: 1", cut)) + 1
    run = parse_every_way(text[:cut])
    assert [(t.test_name, t.status) for t in run.tests] == [
        ("failingTest", Status.FAILED),
        ("assumptionFailureTest", Status.ASSUMPTION_FAILURE),
        ("ignoredTest", Status.INCOMPLETE),
    ]
    assert run.run_failure is not None
    assert "expected 4 tests, received 2" in run.run_failure


@pytest.mark.parametrize("name", ["mobly_passing_test.txt", "mobly_multiple_tests.txt"])
def test_no_cut_before_the_session_code_is_a_pass(name: str) -> None:
    text = load(name)
    end = text.index("INSTRUMENTATION_CODE: -1")
    for cut in range(0, end + len("INSTRUMENTATION_CODE: -"), 37):
        run = instr.parse_output(text[:cut])
        assert not run.passed, cut
        assert run.run_failure, cut


def test_two_starts_without_ends() -> None:
    run = parse_file("mobly_crashing_tests_never_end.txt")
    first, second = run.tests
    assert (first.test_name, first.status) == ("crashAndRecover1Test", Status.INCOMPLETE)
    assert "crashAndRecover2Test, started first" in (first.stack or "")
    assert (second.test_name, second.status) == ("crashAndRecover2Test", Status.INCOMPLETE)
    assert run.run_failure is not None and "expected 2 tests, received 0" in run.run_failure
    assert not run.passed


def test_unfinished_tests_fail_the_run_even_without_numtests() -> None:
    text = load("mobly_crashing_tests_never_end.txt").replace("INSTRUMENTATION_STATUS: numtests=2\n", "")
    run = parse_every_way(text)
    assert run.expected_count is None
    assert run.run_failure == "2 test(s) did not finish"
    assert [t.status for t in run.tests] == [Status.INCOMPLETE, Status.INCOMPLETE]


def test_fewer_tests_than_numtests() -> None:
    run = parse_file("studio_before_class_exception.txt")
    assert [t.status for t in run.tests] == [Status.PASSED, Status.PASSED]
    assert run.expected_count == 3
    assert run.run_failure is not None
    assert "test run incomplete: expected 3 tests, received 2" in run.run_failure
    assert "Tests run: 2,  Failures: 1" in run.run_failure
    assert not run.passed


def test_second_result_for_a_finished_test_is_not_counted_twice() -> None:
    run = parse_file("studio_before_class_crash.txt")
    assert [(t.test_name, t.status) for t in run.tests] == [("testExample", Status.PASSED)]
    assert run.run_failure is not None
    assert "com.example.Tests#testExample reported a second result (failed)" in run.run_failure
    assert "expected 2 tests, received 1" in run.run_failure


@pytest.mark.parametrize("text", ["", "\n", "\r\n\r\n", "   \n"])
def test_no_output_is_never_a_pass(text: str) -> None:
    run = parse_every_way(text)
    assert run.run_failure == "no test results"
    assert run.tests == [] and not run.passed


def test_am_usage_text_is_no_test_results() -> None:
    run = parse_file("mobly_am_usage_error.txt")
    assert run.run_failure == "no test results"


def test_zero_tests_is_not_a_pass() -> None:
    run = parse_file("mobly_no_tests.txt")
    assert run.session_code == -1
    assert run.run_failure == "no test results"
    assert not run.passed


def test_runner_that_never_says_numtests_cannot_pass() -> None:
    text = load("mobly_passing_test.txt").replace("INSTRUMENTATION_STATUS: numtests=1\n", "")
    run = parse_every_way(text)
    assert run.expected_count is None
    assert run.run_failure is None
    assert not run.passed


# -- values, metrics, time ---------------------------------------------------------------------


def test_in_progress_bundles_become_metrics_last_wins() -> None:
    run = parse_file("ddmlib_repeated_test_metrics.txt")
    (test,) = run.tests
    assert test.status is Status.PASSED
    # "Time: 0" printed inside the status bundle is a time report, not part of numiterations.
    assert test.metrics == {"currentiterations": "3", "numiterations": "3"}
    assert run.time_seconds == 0.0


def test_custom_status_with_wrong_code_is_kept_as_metrics() -> None:
    run = parse_file("studio_benchmark_custom_status_error_code.txt")
    assert [(t.test_name, t.status, t.metrics) for t in run.tests] == [
        ("bench1", Status.PASSED, {"min": "1", "count": "2"}),
        ("bench2", Status.PASSED, {"min": "1", "count": "2"}),
    ]
    assert run.passed


def test_run_metrics_are_unknown_result_keys() -> None:
    run = parse_file("ddmlib_instrumentation_results.txt")
    assert run.run_metrics == {"other_pss": "2390", "java_allocated": "2539", "foo": "bar"}
    # The "Time:" line is part of the final stream text (AJUR's JUnit summary) and the run time.
    assert run.result_stream == "should not be captured\nTime: 0"
    assert run.time_seconds == 0.0


def test_time_with_thousands_separator() -> None:
    run = parse_file("ddmlib_time_long_format.txt")
    assert run.time_seconds == pytest.approx(1745.755)


def test_values_containing_equals_signs() -> None:
    # The value from Mobly's test__Instrumentation_block_set_key_on_multiple_equals_sign.
    value = "blah=blah, blah2=blah2, blah=2=1=2"
    text = load("mobly_passing_test.txt").replace(
        "INSTRUMENTATION_STATUS: stream=.\n",
        f"INSTRUMENTATION_STATUS: query=a=b==c\nINSTRUMENTATION_STATUS: stack={value}\n"
        "INSTRUMENTATION_STATUS: stream=.\n",
    )
    text = text.replace("INSTRUMENTATION_STATUS_CODE: 0\n", "INSTRUMENTATION_STATUS_CODE: -2\n")
    text = text.replace(
        "INSTRUMENTATION_CODE: -1", "INSTRUMENTATION_RESULT: url=http://h/?x=1&y=2\nINSTRUMENTATION_CODE: -1"
    )
    run = parse_every_way(text)
    (test,) = run.tests
    assert test.stack == value
    assert test.metrics == {"query": "a=b==c"}
    assert run.run_metrics == {"url": "http://h/?x=1&y=2"}


def _with_failing_stack(stack_value: str) -> str:
    """The passing transcript, with its end bundle turned into a failure carrying stack_value."""
    return (
        load("mobly_passing_test.txt")
        .replace(
            "INSTRUMENTATION_STATUS: stream=.\n",
            f"INSTRUMENTATION_STATUS: stack={stack_value}\nINSTRUMENTATION_STATUS: stream=.\n",
        )
        .replace("INSTRUMENTATION_STATUS_CODE: 0\n", "INSTRUMENTATION_STATUS_CODE: -2\n")
    )


def test_truncated_32k_stack() -> None:
    # androidx InstrumentationResultPrinter cuts a trace at 32768 characters and appends "\n",
    # which can leave a frame cut in half.
    frames = "".join(f"\tat com.example.Deep.frame{i}(Deep.java:{i})\n" for i in range(2000))
    trace = "java.lang.StackOverflowError: stack size 8MB\n" + frames
    truncated = trace[:32768] + "\n"
    assert not truncated[:-1].endswith(")")  # really cut mid-frame
    run = parse_every_way(_with_failing_stack(truncated))
    (test,) = run.tests
    assert test.status is Status.FAILED
    assert test.stack == truncated.rstrip("\n")
    assert test.test_name == "basicTest"  # keys after the stack still parsed
    assert run.run_failure is None


def test_multiline_stack_with_crlf_split_between_cr_and_lf() -> None:
    text = _with_failing_stack("java.lang.AssertionError: bad\n\tat com.example.T.t(T.java:1)\n").replace("\n", "\r\n")
    split = text.index("\r\n\tat") + 1  # the chunk ends on the \r
    parser = instr.InstrumentationResultParser()
    parser.feed(text[:split])
    parser.feed(text[split:])
    (test,) = parser.finish().tests
    assert test.stack == "java.lang.AssertionError: bad\n\tat com.example.T.t(T.java:1)"


def test_finish_is_idempotent_and_feed_after_finish_fails() -> None:
    parser = instr.InstrumentationResultParser()
    parser.feed(load("mobly_passing_test.txt"))
    run = parser.finish()
    assert parser.finish() is run
    with pytest.raises(RuntimeError):
        parser.feed("more")


def test_to_dict_is_json() -> None:
    run = parse_file("mobly_multiple_tests.txt")
    data = json.loads(json.dumps(run.to_dict()))
    assert data["passed"] is False
    assert data["expected_count"] == 4
    assert [t["status"] for t in data["tests"]] == ["failed", "assumption_failure", "ignored", "passed"]
    assert data["tests"][0]["class_name"] == "com.my.package.test.BasicTest"
    assert data["counts"]["failed"] == 1
    assert data["summary"] == run.summary()


# -- results matched to their test by name ------------------------------------------------------

CLASS = "com.augmentalis.ava.harness.EmbeddingSignoffTest"


def bundle(test: str, code: int, **keys: str) -> str:
    lines = [f"INSTRUMENTATION_STATUS: class={CLASS}", "INSTRUMENTATION_STATUS: numtests=2"]
    lines += [f"INSTRUMENTATION_STATUS: {k}={v}" for k, v in keys.items()]
    lines += [f"INSTRUMENTATION_STATUS: test={test}", f"INSTRUMENTATION_STATUS_CODE: {code}"]
    return "\n".join(lines) + "\n"


def session(*bundles: str) -> str:
    return "".join(bundles) + "INSTRUMENTATION_RESULT: stream=\n\nOK (2 tests)\n\nINSTRUMENTATION_CODE: -1\n"


@pytest.mark.parametrize(
    "order",
    [
        ("start a", "start b", "end a", "end b"),  # a's result arrives after b started
        ("start a", "start b", "end b", "end a"),  # and after b's own result
    ],
)
def test_a_result_that_arrives_after_the_next_test_started_still_counts(order: tuple[str, ...]) -> None:
    parts = {
        "start a": bundle("latency[A]", 1),
        "start b": bundle("latency[B]", 1),
        "end a": bundle("latency[A]", 0, **{"ava.p50Ms": "3.100"}),
        "end b": bundle("latency[B]", 0, **{"ava.p50Ms": "4.200"}),
    }
    run = parse_every_way(session(*(parts[step] for step in order)))
    assert [(t.test_name, t.status, t.started_order, t.metrics) for t in run.tests] == [
        ("latency[A]", Status.PASSED, 1, {"ava.p50Ms": "3.100"}),
        ("latency[B]", Status.PASSED, 2, {"ava.p50Ms": "4.200"}),
    ]
    assert run.run_failure is None and run.passed


def test_a_test_whose_result_never_comes_is_incomplete_with_the_reason_it_was_overtaken() -> None:
    text = session(bundle("a", 1), bundle("b", 1), bundle("b", 0))
    run = parse_every_way(text)
    assert [(t.test_name, t.status) for t in run.tests] == [("a", Status.INCOMPLETE), ("b", Status.PASSED)]
    assert f"the next test, {CLASS}#b, started first" in (run.tests[0].stack or "")
    assert not run.passed and run.run_failure == "test run incomplete: expected 2 tests, received 1"


def test_a_failing_result_after_the_next_start_is_a_failure_not_a_pass() -> None:
    text = session(
        bundle("a", 1), bundle("b", 1), bundle("a", -2, stack="java.lang.AssertionError: no"), bundle("b", 0)
    )
    run = parse_every_way(text)
    assert [(t.test_name, t.status, t.stack) for t in run.tests] == [
        ("a", Status.FAILED, "java.lang.AssertionError: no"),
        ("b", Status.PASSED, None),
    ]
    assert not run.passed


def test_a_test_started_twice_without_a_result_is_incomplete_once_then_counted() -> None:
    run = parse_every_way(session(bundle("a", 1), bundle("a", 1), bundle("a", 0), bundle("b", 1), bundle("b", 0)))
    assert [(t.test_name, t.status) for t in run.tests] == [
        ("a", Status.INCOMPLETE),
        ("a", Status.PASSED),
        ("b", Status.PASSED),
    ]
    assert f"{CLASS}#a started again before it finished" in (run.tests[0].stack or "")
    assert not run.passed


# -- numbers: ASCII digits only ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_text", "seconds"),
    [
        ("0.214", 0.214),
        ("1,745.755", 1745.755),
        ("0.001)", 0.001),
        ("12", 12.0),
        ("٣٫٥", None),  # Arabic-Indic digits and decimal separator: float() would read "٣" as 3
        ("٣", None),
        ("１２.５", None),  # fullwidth digits: float() reads them as 12.5
        ("3.5e2", None),
        ("0x10", None),
        ("", None),
        ("soon", None),
    ],
)
def test_time_is_read_from_ascii_digits_only_else_unknown(time_text: str, seconds: float | None) -> None:
    text = load("mobly_passing_test.txt").replace("Time: 0.214", f"Time: {time_text}")
    run = parse_every_way(text)
    assert run.time_seconds == (pytest.approx(seconds) if seconds is not None else None)
    assert run.passed  # an unreadable time is unknown, not a failure
    assert run.result_stream is not None and f"Time: {time_text}" in run.result_stream


@pytest.mark.parametrize("code", ["-١", "٠", "-1" + "0" * 5000])
def test_codes_in_other_digits_or_absurdly_long_are_unreadable(code: str) -> None:
    text = load("mobly_passing_test.txt").replace("INSTRUMENTATION_CODE: -1", f"INSTRUMENTATION_CODE: {code}")
    run = parse_every_way(text)
    assert run.session_code is None and not run.passed
    assert run.run_failure is not None and "unreadable INSTRUMENTATION_CODE" in run.run_failure


def test_numtests_in_other_digits_is_ignored_so_the_run_cannot_pass() -> None:
    text = load("mobly_passing_test.txt").replace("numtests=1", "numtests=١")
    run = parse_every_way(text)
    assert run.expected_count is None and not run.passed
