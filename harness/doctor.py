"""`ava-harness doctor`: is this machine ready for a sign-off? Each check is a function that
looks (never changes anything) and returns a `Check`: what it found, and when something is
wrong, the fix. The CLI prints them (harness/cli/doctor.py).

A FAIL stops every sign-off (no adb binary, a Python or ONNX Runtime that cannot run the
harness); a WARN stops some (no device attached, no arm64 runtime, no kotlinc, little disk)."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from harness import settings
from harness.errors import HarnessError

log = logging.getLogger(__name__)

ENV_ADB = "ADB"
MIN_PYTHON = (3, 11)
COMMAND_TIMEOUT = 15.0  # `adb version`, `kotlinc -version`
KOTLINC = settings.PROJECT_ROOT / "device_tests" / "android" / ".tools" / "node_modules" / "kotlin-compiler" / "bin"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
LOW_DISK_BYTES = 2 * 1024**3  # a few models, their quantized variants and the caches
MIN_DISK_BYTES = 200 * 1024**2  # below this a model build or a report cannot be written


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    found: str
    fix: str = ""


class DoctorFailed(HarnessError):
    """A check failed: the machine cannot run a sign-off until it is fixed."""

    exit_code = 3


def _run(command: list[str], timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    start = time.monotonic()
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        log.debug("ran %s in %.2f s", " ".join(command), time.monotonic() - start)


def check_adb_binary(environ: dict[str, str] | None = None) -> Check:
    """$ADB, else the adb that adbutils ships, else adb on PATH: present, runnable, its version."""
    env = os.environ if environ is None else environ
    name = "adb binary"
    fix = (
        f"install Android SDK platform-tools (Debian: apt-get install adb) or set {ENV_ADB} to the adb binary's"
        " path; `pip install adbutils` also ships one"
    )
    given = env.get(ENV_ADB)
    if given:
        path = given
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            return Check(name, Status.FAIL, f"${ENV_ADB}={path}: no executable file there", fix)
    else:
        from harness.android.adb import adb_binary

        try:
            path = adb_binary()
        except FileNotFoundError as err:
            return Check(name, Status.FAIL, f"no adb shipped with adbutils and none on PATH ({err})", fix)
    try:
        result = _run([path, "version"])
    except (OSError, subprocess.SubprocessError) as err:
        return Check(name, Status.FAIL, f"{path}: does not run ({err})", fix)
    if result.returncode != 0:
        return Check(name, Status.FAIL, f"{path} version: exit code {result.returncode}", fix)
    return Check(name, Status.OK, f"{path} ({adb_version(result.stdout)})")


def adb_version(text: str) -> str:
    """`adb version`'s output as one line: 'Android Debug Bridge 1.0.41, platform-tools 35.0.2'."""
    bridge = re.search(r"Android Debug Bridge version (\S+)", text)
    tools = re.search(r"^Version (\S+)", text, re.MULTILINE)
    parts = [
        f"Android Debug Bridge {bridge.group(1)}" if bridge else "",
        f"platform-tools {tools.group(1)}" if tools else "",
    ]
    return ", ".join(p for p in parts if p) or "version unknown"


def check_adb_server(server: object | None = None) -> Check:
    """The adb server (ANDROID_ADB_SERVER_HOST/PORT, default 127.0.0.1:5037) answers."""
    from harness.android.adb import AdbServer

    target = server if isinstance(server, AdbServer) else AdbServer.from_env()
    if target.is_up():
        return Check("adb server", Status.OK, f"{target} answers")
    return Check(
        "adb server",
        Status.WARN,
        f"nothing answers at {target}",
        f"`adb start-server` (or {settings.ENV_ADB_SERVER_PORT}=<port> for another server); "
        "`--device virtual` needs no server of yours",
    )


def check_devices(server: object | None = None) -> Check:
    """The devices the adb server has, with their state: ready ('device'), unauthorized, offline."""
    from harness.android.adb import AdbServer, list_devices

    target = server if isinstance(server, AdbServer) else AdbServer.from_env()
    if not target.is_up():
        return Check("devices", Status.WARN, f"no adb server at {target}", "start the adb server first (see above)")
    start = time.monotonic()
    devices = list_devices([target])
    log.debug("adb devices on %s in %.2f s: %s", target, time.monotonic() - start, devices)
    found = ", ".join(f"{d.serial} ({d.state})" for d in devices) or "none attached"
    if not devices:
        return Check("devices", Status.WARN, found, "connect a phone with USB debugging on, or use --device virtual")
    not_ready = {d.state for d in devices if d.state != "device"}
    if not not_ready:
        return Check("devices", Status.OK, found)
    fixes = {
        "unauthorized": "unlock the phone and accept the USB debugging prompt",
        "offline": "reconnect the cable or run `adb reconnect`",
    }
    fix = "; ".join(fixes.get(state, f"{state}: reconnect the device") for state in sorted(not_ready))
    return Check("devices", Status.WARN, found, fix)


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        return Check("Python", Status.FAIL, version, f"use Python >= {'.'.join(map(str, MIN_PYTHON))}")
    return Check("Python", Status.OK, f"{version} ({sys.executable})")


def check_packages(names: tuple[str, ...] = ("onnxruntime", "onnx", "numpy", "tokenizers", "adbutils")) -> Check:
    """The packages a sign-off imports, with their versions."""
    found, missing = [], []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Check(
            "packages", Status.FAIL, f"missing: {', '.join(missing)}", "make setup (or .venv/bin/pip install -e .)"
        )
    return Check("packages", Status.OK, ", ".join(found))


def check_models() -> Check:
    """The FP32 originals of every available registered model are built."""
    from harness.models.registry import load_registry

    registry = load_registry()
    wanted = [spec for spec in registry.models.values() if not spec.unavailable and not spec.large]
    missing = [spec.id for spec in wanted if not spec.original_path.is_file()]
    built = len(wanted) - len(missing)
    if missing:
        return Check("models", Status.WARN, f"{built}/{len(wanted)} built; missing {', '.join(missing)}", "make models")
    return Check("models", Status.OK, f"{built}/{len(wanted)} built ({', '.join(s.id for s in wanted)})")


def check_arm64_runtime(home: Path | None = None) -> Check:
    """The aarch64 ONNX Runtime under qemu-user (the ARM64 INT8 reference, DEVICE=virtual-arm64)."""
    import json

    root = home or settings.arm64_home()
    fix = "make arm64-runtime (about 20 s; INT8 on arm64 devices is then gated against ARM64 kernels)"
    try:
        info = json.loads((root / "runtime.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Check("arm64 runtime", Status.WARN, f"none at {root}", fix)
    return Check("arm64 runtime", Status.OK, f"onnxruntime {info.get('onnxruntime_version', '?')} under qemu at {root}")


def check_kotlinc(bin_dir: Path = KOTLINC) -> Check:
    """The Kotlin compiler for the device-code checks (device_tests/android/build.sh installs it)."""
    path = bin_dir / "kotlinc" if (bin_dir / "kotlinc").is_file() else shutil.which("kotlinc")
    if not path:
        return Check("kotlinc", Status.WARN, "not installed", "device_tests/android/build.sh (needs a JDK 17+ and npm)")
    return Check("kotlinc", Status.OK, str(path))


def check_chromium(names: tuple[str, ...] = CHROMIUM_NAMES) -> Check:
    """A headless Chromium (the HTML report's rendering test)."""
    path = next((found for name in names if (found := shutil.which(name))), None)
    if path is None:
        return Check("Chromium", Status.WARN, "not found", "apt-get install chromium (make setup does it)")
    return Check("Chromium", Status.OK, path)


def check_disk(path: Path = settings.PROJECT_ROOT, low: int = LOW_DISK_BYTES, minimum: int = MIN_DISK_BYTES) -> Check:
    free = shutil.disk_usage(path).free
    found = f"{free / 1024**3:.1f} GiB free at {path}"
    fix = "free some space (models/cache and reports/ can be deleted; they are rebuilt)"
    if free < minimum:
        return Check("disk", Status.FAIL, found, fix)
    if free < low:
        return Check("disk", Status.WARN, found, fix)
    return Check("disk", Status.OK, found)


CHECKS: tuple[Callable[[], Check], ...] = (
    check_adb_binary,
    check_adb_server,
    check_devices,
    check_python,
    check_packages,
    check_models,
    check_arm64_runtime,
    check_kotlinc,
    check_chromium,
    check_disk,
)


def run_checks(checks: tuple[Callable[[], Check], ...] = CHECKS) -> list[Check]:
    """Every check, in order; a check that raises is a FAIL that says so, never a traceback."""
    results = []
    for check in checks:
        try:
            results.append(check())
        except Exception as err:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            results.append(Check(name, Status.FAIL, f"the check itself failed: {err}", "report this as a bug"))
    return results


def failure_message(results: list[Check]) -> str | None:
    """One line naming each failed check and its fix; None when none failed."""
    failed = [r for r in results if r.status is Status.FAIL]
    if not failed:
        return None
    return "; ".join(f"{r.name}: {r.found} (fix: {r.fix})" for r in failed)
