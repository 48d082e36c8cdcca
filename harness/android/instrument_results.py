"""What one `am instrument -r` session reported: each test's result and the run's verdict, as
harness.android.instrumentation's parser builds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

__all__ = ["OK_STATUSES", "InstrumentationRun", "TestResult", "TestStatus"]


class TestStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    IGNORED = "ignored"
    ASSUMPTION_FAILURE = "assumption_failure"
    # Started but never finished: the process crashed, the device went away or we gave up waiting.
    INCOMPLETE = "incomplete"


OK_STATUSES = frozenset({TestStatus.PASSED, TestStatus.IGNORED})


@dataclass
class TestResult:
    """One test as the runner reported it."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    class_name: str
    test_name: str
    status: TestStatus
    stack: str | None = None
    # Custom keys from the test's sendStatus(2, ...) bundles and its final bundle; last value wins.
    metrics: dict[str, str] = field(default_factory=dict)
    # 1-based position in the order tests started (a result with no start bundle gets the next one).
    started_order: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.class_name}#{self.test_name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "class_name": self.class_name,
            "test_name": self.test_name,
            "status": self.status.value,
            "stack": self.stack,
            "metrics": dict(self.metrics),
            "started_order": self.started_order,
        }


@dataclass
class InstrumentationRun:
    """Everything one `am instrument` session said, plus the verdict on whether it passed."""

    tests: list[TestResult] = field(default_factory=list)
    expected_count: int | None = None
    run_metrics: dict[str, str] = field(default_factory=dict)
    session_code: int | None = None
    time_seconds: float | None = None
    run_failure: str | None = None
    # The final INSTRUMENTATION_RESULT stream: AJUR's JUnit summary ("OK (2 tests)", "FAILURES!!!").
    result_stream: str | None = None

    @property
    def completed_count(self) -> int:
        return sum(1 for t in self.tests if t.status is not TestStatus.INCOMPLETE)

    @property
    def passed(self) -> bool:
        # A runner that never said numtests cannot show it ran everything, so that is not a pass.
        return (
            self.run_failure is None
            and self.session_code == -1
            and bool(self.tests)
            and all(t.status in OK_STATUSES for t in self.tests)
            and self.expected_count is not None
            and self.completed_count == self.expected_count
        )

    @property
    def failed_tests(self) -> list[TestResult]:
        return [t for t in self.tests if t.status not in OK_STATUSES]

    def counts(self) -> dict[str, int]:
        """Tests per status, every status present (zero included) so reports have stable columns."""
        result = {status.value: 0 for status in TestStatus}
        for t in self.tests:
            result[t.status.value] += 1
        return result

    def summary(self) -> str:
        """One line for logs and the CLI."""
        counts = ", ".join(f"{n} {status}" for status, n in self.counts().items() if n)
        expected = "?" if self.expected_count is None else str(self.expected_count)
        line = f"{'PASSED' if self.passed else 'FAILED'}: {len(self.tests)}/{expected} tests"
        if counts:
            line += f" ({counts})"
        if self.run_failure:
            line += f"; run failure: {self.run_failure}"
        return line

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "summary": self.summary(),
            "run_failure": self.run_failure,
            "session_code": self.session_code,
            "time_seconds": self.time_seconds,
            "expected_count": self.expected_count,
            "completed_count": self.completed_count,
            "counts": self.counts(),
            "run_metrics": dict(self.run_metrics),
            "result_stream": self.result_stream,
            "tests": [t.to_dict() for t in self.tests],
        }
