"""The Kotlin device side as an instrumentation of the virtual device: `am instrument` of the test
package starts ONE JVM running device_tests/android's Kotlin sign-off (the code a phone runs) over
real ONNX Runtime, with working Android shims (device_tests/android/README.md, "The Kotlin app on
a JVM"). This module is the process boundary, what zygote and am are on a phone:

- in: a run config (JSON) with the `-e` arguments, the device's props and where the device's
  storage roots are on this host (the JVM sees /sdcard/... at those paths);
- out: the JVM's stdout is `am instrument -r`'s output, forwarded one status bundle per write;
  its stderr carries logcat records ("\\x1eAVALOG\\t<priority>\\t<tag>\\t<message>", escaped), any
  other stderr line is the process's System.err;
- a JVM that ends without INSTRUMENTATION_CODE crashed: am's "Process crashed." follows, as on a
  phone; a device that stops the run (ctx.should_stop) kills the JVM.

Device side: nothing here comes from the harness. Build the JVM app with
device_tests/android/build.sh (make android-check)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from virtual_device.apps.instrumentation import CRASH_TAIL, InstrumentationCrashed

ENTRY = "ava_reference.jvm_app:run"
BUILD_DIR = Path(__file__).resolve().parent.parent / "device_tests" / "android" / "build"
CLASSPATH_FILE = BUILD_DIR / "jvm-classpath"
ORT_PROPERTIES = BUILD_DIR / "ort-jvm.properties"
MAIN_CLASS = "com.augmentalis.ava.jvm.InstrumentationMain"
# The storage roots the app process can see, in the order their names are preferred when the
# JVM's host paths are turned back into device paths (status values, stacks, log lines).
MOUNTS = (
    "/sdcard",
    "/storage/emulated/0",
    "/storage/self/primary",
    "/mnt/sdcard",
    "/data/local/tmp",
    "/data/data",
    "/data/user/0",
)
LOG_MARK = "\x1eAVALOG\t"
# Small heap and one GC thread: an app process, two cores shared with the host.
JVM_OPTIONS = ("-XX:+UseSerialGC", "-Xss4m", "-Dfile.encoding=UTF-8", "-Djava.awt.headless=true")
STOP_POLL_SECONDS = 0.1
NOT_BUILT = (
    "INSTRUMENTATION_RESULT: shortMsg=java.lang.ClassNotFoundException\n"
    "INSTRUMENTATION_RESULT: longMsg=java.lang.ClassNotFoundException: {main}: the Kotlin app is not built "
    "(no {path}); run device_tests/android/build.sh\n"
    "INSTRUMENTATION_CODE: 0\n"
)
_END_PREFIXES = ("INSTRUMENTATION_STATUS_CODE:", "INSTRUMENTATION_CODE:")


def ort_version() -> str:
    """The ONNX Runtime version the JVM app runs (ort-jvm.properties), "" when not built."""
    try:
        for line in ORT_PROPERTIES.read_text(encoding="utf-8").splitlines():
            if line.startswith("version="):
                return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return ""


def unescape(text: str) -> str:
    r"""Undo the launcher's Logcat.escape (\\, \n, \r, \t)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append({"n": "\n", "r": "\r", "t": "\t"}.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_log_line(line: str) -> tuple[int | str, str, str]:
    """One stderr line of the JVM -> (priority, tag, message) for the device's logcat."""
    if line.startswith(LOG_MARK):
        fields = line[len(LOG_MARK) :].split("\t", 2)
        if len(fields) == 3 and fields[0].isdigit():
            return int(fields[0]), unescape(fields[1]), unescape(fields[2])
    return "W", "System.err", line


def mounts(ctx: Any) -> list[list[str]]:
    """[device root, host path] for every storage root the device maps."""
    found = []
    for root in MOUNTS:
        try:
            found.append([root, str(ctx.host_path(root))])
        except Exception:  # a root this device does not map: the app cannot see it either
            continue
    return found


def run_config(ctx: Any) -> dict[str, Any]:
    return {
        "testPackage": ctx.test_package,
        "targetPackage": ctx.target_package,
        "runner": ctx.runner,
        "args": [[key, value] for key, value in ctx.args.items()],
        "props": dict(ctx.props),
        "mounts": mounts(ctx),
    }


def java_command(config_path: Path, classpath: str) -> list[str]:
    java = shutil.which("java") or "java"
    return [java, *JVM_OPTIONS, "-cp", classpath, MAIN_CLASS, str(config_path)]


def _pump_log(stream: Any, ctx: Any) -> None:
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        priority, tag, message = parse_log_line(line)
        with contextlib.suppress(Exception):  # the device's log is best effort; the run goes on
            ctx.log(priority, tag, message)


def _watch_stop(proc: subprocess.Popen[bytes], ctx: Any, done: threading.Event, stopped: threading.Event) -> None:
    while not done.wait(STOP_POLL_SECONDS):
        if ctx.should_stop():
            stopped.set()
            proc.kill()
            return


def run(ctx: Any) -> int:  # ctx: virtual_device.apps.instrumentation.InstrumentationContext
    if not CLASSPATH_FILE.is_file():
        ctx.write(NOT_BUILT.format(main=MAIN_CLASS, path=CLASSPATH_FILE))
        return 0
    classpath = CLASSPATH_FILE.read_text(encoding="utf-8").strip()
    with tempfile.TemporaryDirectory(prefix="ava-jvm-app-") as scratch:
        config_path = Path(scratch) / "run-config.json"
        config_path.write_text(json.dumps(run_config(ctx)), encoding="utf-8")
        proc = subprocess.Popen(
            java_command(config_path, classpath),
            stdin=subprocess.PIPE,  # held open: its end tells the JVM the device is gone
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=scratch,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
        done, stopped = threading.Event(), threading.Event()
        threads = [
            threading.Thread(target=_pump_log, args=(proc.stderr, ctx), daemon=True),
            threading.Thread(target=_watch_stop, args=(proc, ctx, done, stopped), daemon=True),
        ]
        for thread in threads:
            thread.start()
        ended = False
        try:
            ended = _forward(proc, ctx)
        except InstrumentationCrashed:
            stopped.set()
            raise
        finally:
            if stopped.is_set() or not ended:
                proc.kill()
            done.set()
            proc.wait()
            if proc.stdin is not None:
                proc.stdin.close()
            for thread in threads:
                thread.join(timeout=5)
        if not ended and not stopped.is_set():
            ctx.write(CRASH_TAIL)  # the process died before finishing: what am prints for it
        return 0


def _forward(proc: subprocess.Popen[bytes], ctx: Any) -> bool:
    """Streams the JVM's am output into ctx.write, one bundle per write; True once
    INSTRUMENTATION_CODE came (the instrumentation finished)."""
    assert proc.stdout is not None
    chunk: list[str] = []
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace")
        chunk.append(line)
        if line.startswith(_END_PREFIXES):
            ctx.write("".join(chunk))
            chunk = []
            if line.startswith("INSTRUMENTATION_CODE:"):
                return True
    if chunk:
        ctx.write("".join(chunk))
    return False
