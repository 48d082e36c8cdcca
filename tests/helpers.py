"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, cwd: Path = PROJECT_ROOT, timeout: float = 600, env: dict | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `ava-harness` as a user would: a real process, its real exit code and stderr."""
    full_env = {**os.environ, "COLUMNS": "160", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli.app", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def assert_user_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """A user's mistake: non-zero exit, one `error:` line naming what is wrong, no traceback."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    for needle in needles:
        assert needle in error_lines[0], (needle, error_lines[0])
    return error_lines[0]
