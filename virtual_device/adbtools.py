"""Locating and driving the adb CLI / server (private servers for tests, connect/disconnect)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

# The environment variable naming the adb binary to use (harness.android.adb reads it through find_adb).
ENV_ADB = "ADB"


def find_adb(adb_path: str | None = None) -> str:
    """The project's one rule for which adb to run: `adb_path` if given, else $ADB, else the adb
    the adbutils wheel ships (a recent platform-tools), else adb on PATH. The wheel comes before
    PATH so that installing Debian's older adb (29, for the old-client tests) does not silently
    make every test and deploy-test use it."""
    if adb_path:
        return adb_path
    if os.environ.get(ENV_ADB):
        return os.environ[ENV_ADB]
    try:
        import adbutils

        wheel = Path(adbutils.__file__).parent / "binaries" / "adb"
        if wheel.is_file():
            return str(wheel)
    except ImportError:
        pass
    found = shutil.which("adb")
    if found:
        return found
    raise FileNotFoundError(f"no adb binary: set ${ENV_ADB}, install adbutils or platform-tools")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_port() -> int:
    return int(os.environ.get("ANDROID_ADB_SERVER_PORT", "5037"))


def run_adb(
    adb: str, port: int, *args: str, timeout: float = 60, check: bool = False, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    # stdin defaults to /dev/null: an inherited terminal would be forwarded to the device.
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(  # type: ignore[call-overload,no-any-return]
        [adb, "-P", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
        **kwargs,
    )


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on 127.0.0.1:{port}") from None
            time.sleep(0.05)


def connect(adb: str, port: int, serial: str, timeout: float = 20.0) -> None:
    """`adb connect` and wait until `adb devices` reports the serial as `device`."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        res = run_adb(adb, port, "connect", serial, timeout=timeout)
        last = (res.stdout + res.stderr).strip()
        if "connected to" in last:
            break
        time.sleep(0.2)
    while time.monotonic() < deadline:
        if device_state(adb, port, serial) == "device":
            return
        time.sleep(0.05)
    raise TimeoutError(f"{serial} did not come online via adb server :{port}: {last}")


def device_state(adb: str, port: int, serial: str) -> str | None:
    res = run_adb(adb, port, "devices", timeout=20)
    for line in res.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == serial:
            return parts[1]
    return None


def disconnect(adb: str, port: int, serial: str) -> None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        run_adb(adb, port, "disconnect", serial, timeout=20)
