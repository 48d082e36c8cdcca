"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


CHROMIUM = "/usr/bin/chromium"
_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def render_in_chromium(page: Path, work: Path, window: str = "1280,2000") -> tuple[str, Path]:
    """`page` in headless Chromium: (its rendered DOM, a PNG screenshot). Skips with
    AVA_SKIP_BROWSER=1; fails when Chromium is missing (the set-up installs it)."""
    if os.environ.get("AVA_SKIP_BROWSER") == "1":
        pytest.skip("AVA_SKIP_BROWSER=1")
    binary = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if binary is None:
        pytest.fail(
            f"{CHROMIUM} is not installed: run `make install` (it apt-get installs chromium), "
            "or set AVA_SKIP_BROWSER=1 to skip the browser check"
        )
    png = work / f"{page.stem}.png"

    def chromium(profile: str, *args: str) -> subprocess.Popen[bytes]:
        flags = [*_CHROMIUM_FLAGS, f"--user-data-dir={work / profile}"]
        return subprocess.Popen([binary, *flags, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    # Both at once: each Chromium start costs a second or two, and the tests must stay quick.
    url = page.resolve().as_uri()
    shot = chromium("profile-shot", f"--screenshot={png}", f"--window-size={window}", url)
    dom = chromium("profile-dom", "--dump-dom", url)
    try:
        dom_out, dom_err = dom.communicate(timeout=40)
        _, shot_err = shot.communicate(timeout=40)
    finally:
        for proc in (shot, dom):
            if proc.poll() is None:
                proc.kill()
    assert dom.returncode == 0, dom_err.decode(errors="replace")[-2000:]
    assert shot.returncode == 0, shot_err.decode(errors="replace")[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return dom_out.decode(), png


def screenshot_pixels(png: Path):  # -> numpy array [height, width] of 0xRRGGBB
    import numpy as np
    from PIL import Image  # adbutils' dependency

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        data = np.frombuffer(rgb.tobytes(), dtype=np.uint8).reshape(rgb.height, rgb.width, 3).astype(np.uint32)
    return (data[..., 0] << 16) | (data[..., 1] << 8) | data[..., 2]


def screenshot_colours(png: Path) -> int:
    """How many distinct colours the screenshot holds (a blank page has one)."""
    import numpy as np

    return len(np.unique(screenshot_pixels(png)))
