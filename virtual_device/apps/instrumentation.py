"""`am instrument` delegation: Python callables stand in for test APKs.

DeviceConfig.instrumentations maps "testpkg/runner" to an import string "module:function";
the function receives an InstrumentationContext and returns the shell exit code."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class InstrumentationContext:
    test_package: str  # e.g. "com.augmentalis.ava.test"
    runner: str  # e.g. "androidx.test.runner.AndroidJUnitRunner"
    target_package: str  # the app under test, from pm config
    args: dict[str, str]  # every -e key value, in order
    props: dict[str, str]  # device props (getprop)
    host_path: Callable[[str], Path]  # device path -> sandbox host path (raises on escape)
    write: Callable[[str], None]  # append raw text to the am instrument stdout (streams out as written)
    should_stop: Callable[[], bool]  # true when the fault injector crashed the run / connection closed
    # log(priority, tag, message): a line in the device's logcat main buffer from the app's process.
    # priority is "V".."F", "info"/"error"/..., or android.util.Log's 2..7.
    log: Callable[[str | int, str, str], None] = field(default=lambda _priority, _tag, _message: None)


Instrumentation = Callable[[InstrumentationContext], int]


class InstrumentationCrashed(Exception):
    """Raised inside ctx.write once the crash fault fired, to unwind the instrumentation."""


def load_instrumentation(entry: str) -> Instrumentation:
    module_name, _, attr = entry.partition(":")
    if not module_name or not attr:
        raise ValueError(f"instrumentation entry must be 'module:function', got {entry!r}")
    obj: object = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{entry} is not callable")
    return obj  # type: ignore[return-value]


def unknown_component_output(component: str) -> tuple[str, str]:
    """(stdout, stderr) of `am instrument` for a component that is not installed (Android 10+)."""
    out = (
        f"INSTRUMENTATION_STATUS: Error=Unable to find instrumentation info for: ComponentInfo{{{component}}}\n"
        "INSTRUMENTATION_STATUS: id=ActivityManagerService\n"
        "INSTRUMENTATION_STATUS_CODE: -1\n"
        f"onError: commandError=true message=INSTRUMENTATION_FAILED: {component}\n"
    )
    err = (
        f"android.util.AndroidException: INSTRUMENTATION_FAILED: {component}\n"
        "\tat com.android.commands.am.Instrument.run(Instrument.java:588)\n"
        "\tat com.android.server.am.ActivityManagerShellCommand.runInstrument(ActivityManagerShellCommand.java:1339)\n"
        "\tat com.android.server.am.ActivityManagerShellCommand.onCommand(ActivityManagerShellCommand.java:245)\n"
    )
    return out, err


CRASH_TAIL = "INSTRUMENTATION_RESULT: shortMsg=Process crashed.\nINSTRUMENTATION_CODE: 0\n"


def human_readable(transcript: str) -> str:
    """What `am instrument -w` prints without -r: only the `stream=` values."""
    out: list[str] = []
    current: list[str] | None = None
    for line in transcript.splitlines(keepends=True):
        if line.startswith(("INSTRUMENTATION_STATUS", "INSTRUMENTATION_RESULT", "INSTRUMENTATION_CODE")):
            if current is not None:
                out.append("".join(current))
                current = None
            for prefix in ("INSTRUMENTATION_STATUS: stream=", "INSTRUMENTATION_RESULT: stream="):
                if line.startswith(prefix):
                    current = [line[len(prefix) :]]
            if line.startswith("INSTRUMENTATION_RESULT: shortMsg="):
                out.append(line[len("INSTRUMENTATION_RESULT: shortMsg=") :])
        elif current is not None:
            current.append(line)
    if current is not None:
        out.append("".join(current))
    return "".join(out)
