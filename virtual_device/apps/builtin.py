"""Instrumentations shipped with the virtual device, to prove the am instrument path."""

from __future__ import annotations

import time

from virtual_device.apps.instrumentation import InstrumentationContext

HELLO_CLASS = "com.example.hello.HelloTest"


def _status(ctx: InstrumentationContext, code: int, **fields: str) -> None:
    for key, value in fields.items():
        ctx.write(f"INSTRUMENTATION_STATUS: {key}={value}\n")
    ctx.write(f"INSTRUMENTATION_STATUS_CODE: {code}\n")


def hello(ctx: InstrumentationContext) -> int:
    """One passing test, transcript shaped like AndroidJUnitRunner's `am instrument -r` output."""
    start = time.perf_counter()
    base = {
        "class": HELLO_CLASS,
        "current": "1",
        "id": "AndroidJUnitRunner",
        "numtests": "1",
    }
    if ctx.args:
        # Custom status so callers can check their -e arguments arrived, in order.
        args = ",".join(f"{k}={v}" for k, v in ctx.args.items())
        ctx.write(f"INSTRUMENTATION_STATUS: args={args}\nINSTRUMENTATION_STATUS: id=HelloArgs\n")
        ctx.write("INSTRUMENTATION_STATUS_CODE: 2\n")
    _status(ctx, 1, **base, stream=f"\n{HELLO_CLASS}:", test="sayHello")
    if ctx.should_stop():
        return 0
    _status(ctx, 0, **base, stream=".", test="sayHello")
    elapsed = max(0.01, time.perf_counter() - start)
    ctx.write(f"INSTRUMENTATION_RESULT: stream=\n\nTime: {elapsed:.2f}\n\nOK (1 test)\n\n\n")
    ctx.write("INSTRUMENTATION_CODE: -1\n")
    return 0


def slow(ctx: InstrumentationContext) -> int:
    """Emits many statuses with a pause between them; used to demonstrate mid-run crashes."""
    n = int(ctx.args.get("count", "20"))
    delay = float(ctx.args.get("delay", "0.01"))
    for i in range(1, n + 1):
        if ctx.should_stop():
            return 0
        test = {
            "class": HELLO_CLASS,
            "current": str(i),
            "id": "AndroidJUnitRunner",
            "numtests": str(n),
            "test": f"t{i}",
        }
        _status(ctx, 1, **test)
        time.sleep(delay)
        _status(ctx, 0, **test)
    ctx.write(f"INSTRUMENTATION_RESULT: stream=\n\nOK ({n} tests)\n\n\nINSTRUMENTATION_CODE: -1\n")
    return 0


def write_outputs(ctx: InstrumentationContext) -> int:
    """Writes an app's kind of output for each model of `-e models A,B` (default M) under
    `-e out DIR` (default /sdcard/out): DIR/<model>/result.json, a float32 embeddings.npy (3 x 4)
    and token_ids.json; then passes one test. For tamper_file tests."""
    import json

    import numpy as np

    root = ctx.args.get("out", "/sdcard/out")
    for model in ctx.args.get("models", "M").split(","):
        out = ctx.host_path(f"{root}/{model}")
        out.mkdir(parents=True, exist_ok=True)
        result = {"modelId": model, "latencyMs": [1.5, 2.5, 3.5], "loadMs": 12.0, "chapterTests": {"test1": True}}
        (out / "result.json").write_text(json.dumps(result, indent=1))
        np.save(out / "embeddings.npy", np.arange(12, dtype="<f4").reshape(3, 4))
        (out / "token_ids.json").write_text(json.dumps([[101, 102]]))
    base = {"class": HELLO_CLASS, "current": "1", "id": "AndroidJUnitRunner", "numtests": "1"}
    _status(ctx, 1, **base, stream=f"\n{HELLO_CLASS}:", test="writeOutputs")
    _status(ctx, 0, **base, stream=".", test="writeOutputs")
    ctx.write("INSTRUMENTATION_RESULT: stream=\n\nOK (1 test)\n\n\n")
    ctx.write("INSTRUMENTATION_CODE: -1\n")
    return 0


def log_lines(ctx: InstrumentationContext) -> int:
    """Writes `-e lines N` lines to logcat (tag `-e tag`, default VdApp), then passes one test."""
    tag = ctx.args.get("tag", "VdApp")
    for i in range(1, int(ctx.args.get("lines", "1")) + 1):
        ctx.log(ctx.args.get("priority", "I"), tag, f"line {i}")
    return hello(ctx)


def crash(ctx: InstrumentationContext) -> int:
    """An app whose test throws: the process dies with the exception (AndroidRuntime in logcat)."""
    ctx.log("W", "VdApp", "about to crash")
    raise RuntimeError(ctx.args.get("message", "boom from the app"))


def unbound(ctx: InstrumentationContext) -> int:
    """An installed test APK no Python entry is bound to (DeviceConfig.instrumentation_entries): the
    runner class cannot be loaded, as on a phone whose APK lacks it."""
    component = f"{ctx.test_package}/{ctx.runner}"
    error = (
        f"java.lang.RuntimeException: Unable to instantiate instrumentation ComponentInfo{{{component}}}: "
        f'java.lang.ClassNotFoundException: Didn\'t find class "{ctx.runner}" on path: '
        f'DexPathList[[zip file "/data/app/{ctx.test_package}/base.apk"]]'
    )
    ctx.log("E", "AndroidRuntime", error)
    ctx.write(
        "INSTRUMENTATION_RESULT: shortMsg=java.lang.RuntimeException\n"
        f"INSTRUMENTATION_RESULT: longMsg={error}\nINSTRUMENTATION_CODE: 0\n"
    )
    return 0
