"""am: `am instrument` runs the Python instrumentation configured for the component
(apps.instrumentation); force-stop, kill, broadcast, start and startservice succeed silently."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from virtual_device.apps.instrumentation import (
    CRASH_TAIL,
    InstrumentationContext,
    InstrumentationCrashed,
    human_readable,
    load_instrumentation,
    unknown_component_output,
)
from virtual_device.apps.runlog import InstrumentationLog
from virtual_device.logcat import device_log, java_stack
from virtual_device.packages import package_manager
from virtual_device.shell.interpreter import Ctx, ShellSession
from virtual_device.shell.registry import async_command
from virtual_device.tamper import apply_tampers, is_final, rewrite_output

log = logging.getLogger("virtual_device")
# What the crash_instrumentation fault looks like in logcat: the app process died on its main thread.
FAULT_STACK = (
    "java.lang.IllegalStateException: crash_instrumentation fault\n"
    "\tat android.app.Instrumentation.onException(Instrumentation.java:2207)\n"
    "\tat android.app.ActivityThread.handleBindApplication(ActivityThread.java:6850)\n"
    "\tat android.os.Looper.loop(Looper.java:288)\n"
    "\tat android.app.ActivityThread.main(ActivityThread.java:7872)"
)


def _parse_am_instrument(args: list[str]) -> tuple[dict[str, bool], dict[str, str], str | None, str | None]:
    opts = {"w": False, "r": False}
    extras: dict[str, str] = {}
    component: str | None = None
    it = iter(args)
    for a in it:
        if a == "-w":
            opts["w"] = True
        elif a == "-r":
            opts["r"] = True
        elif a in ("-e", "--es"):
            key = next(it, None)
            value = next(it, None)
            if key is None or value is None:
                return opts, extras, None, f"Error: No value specified for argument {a}"
            extras[key] = value
        elif a in ("-p", "--user", "--abi", "--no-isolated-storage") and a != "--no-isolated-storage":
            next(it, None)
        elif a.startswith("-"):
            continue  # --no-window-animation, --no-hidden-api-checks, -m, ... are accepted and ignored
        else:
            component = a
    return opts, extras, component, None


@async_command("am")
async def cmd_am(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    if not args or args[0] != "instrument":
        if args and args[0] in ("force-stop", "kill", "broadcast", "start", "startservice"):
            return 0
        ctx.err("Error: unknown command '" + (args[0] if args else "") + "'\n")
        return 255
    opts, extras, component, error = _parse_am_instrument(args[1:])
    if error or component is None:
        ctx.err((error or "Error: No instrumentation component specified") + "\n")
        return 1
    package_manager(s.device)  # installed test APKs join the config's instrumentations
    spec = s.device.config.instrumentations.get(component)
    if spec is None or "/" not in component:
        out, err = unknown_component_output(component)
        ctx.out(out)
        ctx.err(err)
        return 1
    test_pkg, runner = component.split("/", 1)
    return await run_instrumentation(s, ctx, test_pkg, runner, spec.entry, spec.target, extras, opts)


async def run_instrumentation(
    s: ShellSession,
    ctx: Ctx,
    test_pkg: str,
    runner: str,
    entry: str,
    target: str,
    extras: dict[str, str],
    opts: dict[str, bool],
) -> int:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    crash = s.device.faults.take("crash_instrumentation")
    rewrites = s.device.faults.take_all("rewrite_status")
    state = {"writes": 0, "crashed": False, "tampered": False}
    stop = threading.Event()
    device = s.device
    runlog = InstrumentationLog(device_log(device), f"{test_pkg}/{runner}", target)
    crash_stack: list[str] = []

    def finish_files() -> None:
        # A lying device edits what the app wrote once the app is done, before the host can see
        # the final result: the host pulls what the fault left.
        if not state["tampered"]:
            state["tampered"] = True
            try:
                apply_tampers(device.faults.take_all("tamper_file"), device.storage)
            except Exception:  # a broken fault must not hang am instrument
                log.exception("tamper_file failed")

    def write(text: str) -> None:
        if state["crashed"] or stop.is_set():
            raise InstrumentationCrashed()
        if crash is not None and state["writes"] >= crash.after:
            state["crashed"] = True
            stop.set()
            crash_stack.append(FAULT_STACK)
            raise InstrumentationCrashed()
        state["writes"] += 1
        runlog.feed(text)
        if is_final(text):
            finish_files()
        loop.call_soon_threadsafe(queue.put_nowait, rewrite_output(text, rewrites))

    def should_stop() -> bool:
        if crash is not None and state["writes"] >= crash.after:
            if not state["crashed"]:
                crash_stack.append(FAULT_STACK)
            state["crashed"] = True
            stop.set()
        return stop.is_set() or s.closed()

    def host_path(device_path: str) -> Path:
        return device.storage.host_path(device_path)

    icontext = InstrumentationContext(
        test_package=test_pkg,
        runner=runner,
        target_package=target,
        args=dict(extras),
        props=dict(device.props),
        host_path=host_path,
        write=write,
        should_stop=should_stop,
        log=runlog.app,
    )

    def worker() -> int:
        runlog.start()
        try:
            func = load_instrumentation(entry)
            return int(func(icontext))
        except InstrumentationCrashed:
            return 0
        except Exception as exc:  # an instrumentation bug looks like an app crash on a device
            state["crashed"] = True
            crash_stack.append(java_stack(exc))
            loop.call_soon_threadsafe(queue.put_nowait, f"INSTRUMENTATION_STATUS: Error={exc!r}\n")
            return 0
        finally:
            finish_files()
            if state["crashed"]:
                runlog.crash(crash_stack[0] if crash_stack else FAULT_STACK)
            runlog.finish()
            loop.call_soon_threadsafe(queue.put_nowait, None)

    fut = loop.run_in_executor(None, worker)
    if not opts["w"]:
        # Without -w, am returns at once and the run continues in the background.
        fut.add_done_callback(lambda _f: None)
        return 0
    raw = opts["r"]
    transcript: list[str] = []
    try:
        while True:
            item = await queue.get()
            if item is None:
                break
            if raw:
                ctx.out(item)
                await ctx.flush()
            else:
                transcript.append(item)
        code = await fut
    finally:
        stop.set()
    if state["crashed"]:
        if raw:
            ctx.out(CRASH_TAIL)
        else:
            ctx.out(human_readable("".join(transcript)) + "Process crashed.\n")
        return 0
    if not raw:
        ctx.out(human_readable("".join(transcript)))
    return code
