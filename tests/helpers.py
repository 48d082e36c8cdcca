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


def validate_report(path: Path) -> dict:
    """Hold a signoff.json or manifest.json to its JSON Schema (schemas/, draft 2020-12) and return
    its data (see `schema_problems`). Also checks that the reader (harness.reports.run_record)
    gives back exactly what was written."""
    import json

    from harness.reports.run_record import load_manifest, load_signoff

    kind = {"signoff.json": "signoff", "manifest.json": "manifest"}[Path(path).name]
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    problems = schema_problems(data, kind)
    assert not problems, f"{path} does not match schemas/{kind}.schema.json:\n" + "\n".join(problems)
    assert (load_signoff if kind == "signoff" else load_manifest)(path) == data, f"{path}: the reader changed it"
    return data


def schema_problems(data: object, kind: str) -> list[str]:
    """Where `data` breaks schemas/<kind>.schema.json (at most 10, one line each). Stricter than the
    schema's own `integer`: a count written as 20.0 fails, as it must (jsonschema counts an
    integral float as an integer)."""
    import json

    import jsonschema

    from harness.settings import SCHEMAS_DIR

    schema = json.loads((SCHEMAS_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    checker = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    validator_class = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=checker)
    errors = sorted(validator_class(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}" for e in errors[:10]]


def only_run(reports_dir: Path) -> Path:
    """The one run directory a sign-off wrote under `reports_dir`, which `latest` must point at."""
    (run_dir,) = [p for p in reports_dir.iterdir() if p.name != "latest"]
    latest = reports_dir / "latest"
    assert latest.is_symlink() and latest.resolve() == run_dir.resolve(), f"{latest} does not point at {run_dir}"
    return run_dir
