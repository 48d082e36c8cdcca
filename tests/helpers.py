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


def deploy_test_args(adb_server_port: int, reports_dir: Path, model: str) -> tuple[list[str], dict[str, str]]:
    """`deploy-test` arguments for the private adb server, small and quick (3 iterations, 40 host
    evaluation items), and the environment that points adb at that server."""
    args = [
        "deploy-test", "--models", model, "--adb-server", f"127.0.0.1:{adb_server_port}",
        "--iterations", "3", "--host-eval-limit", "40", "--reports-dir", str(reports_dir),
    ]  # fmt: skip
    return args, {"ANDROID_ADB_SERVER_PORT": str(adb_server_port)}
