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
        _status(
            ctx,
            1,
            **{
                "class": HELLO_CLASS,
                "current": str(i),
                "id": "AndroidJUnitRunner",
                "numtests": str(n),
                "test": f"t{i}",
            },
        )
        time.sleep(delay)
        _status(
            ctx,
            0,
            **{
                "class": HELLO_CLASS,
                "current": str(i),
                "id": "AndroidJUnitRunner",
                "numtests": str(n),
                "test": f"t{i}",
            },
        )
    ctx.write(f"INSTRUMENTATION_RESULT: stream=\n\nOK ({n} tests)\n\n\nINSTRUMENTATION_CODE: -1\n")
    return 0
