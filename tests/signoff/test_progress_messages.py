"""device_run's progress messages, as the CLI prints them (no device)."""

from __future__ import annotations

from harness.signoff.device_run import push_message


def test_a_push_says_how_far_in_mb_and_how_fast() -> None:
    assert push_message("M-INT8", 12_300_000, 23_000_000, 0.3) == "push: M-INT8 12.3/23.0 MB (53%) 41.0 MB/s"
    assert push_message("M-INT8", 23_000_000, 23_000_000, 2.0) == "push: M-INT8 23.0/23.0 MB (100%) 11.5 MB/s"


def test_no_rate_before_any_time_has_passed() -> None:
    assert push_message("M-INT8", 0, 23_000_000, 0.0) == "push: M-INT8 0.0/23.0 MB (0%)"
