"""logcat: the device log the apps, am instrument and crashes write to, read through the real adb
(`adb logcat` runs `export ANDROID_LOG_TAGS=...; exec logcat ARGS` on the device)."""

from __future__ import annotations

import calendar
import re
import subprocess
import threading
import time

import pytest

from virtual_device.config import HELLO_COMPONENT, DeviceConfig
from virtual_device.host import VirtualDeviceHandle
from virtual_device.logcat import DeviceLog, LogEntry, priority_letter
from virtual_device.shell.commands.logs import UsageError, parse
from virtual_device.testing.pytest_plugin import AdbServer

LOGS = "com.example.hello.test/vd.Logs"
CRASH = "com.example.hello.test/vd.Crash"
# MM-DD HH:MM:SS.mmm  PID  TID P TAG     : message  (liblog's threadtime: "%5d %5d %c %-8s: ")
THREADTIME = re.compile(r"^\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [ \d]{4}\d [ \d]{4}\d [VDIWEF] .{8,}?: ")


def _config() -> DeviceConfig:
    return DeviceConfig(
        instrumentations={
            HELLO_COMPONENT: "virtual_device.apps.builtin:hello",
            LOGS: "virtual_device.apps.builtin:log_lines",
            CRASH: "virtual_device.apps.builtin:crash",
        }
    )


@pytest.fixture
def device(virtual_devices) -> VirtualDeviceHandle:
    (dev,) = virtual_devices(1, config=_config())
    return dev


def adb(adb_server: AdbServer, dev: VirtualDeviceHandle, *args: str) -> subprocess.CompletedProcess:
    res = adb_server.run("-s", dev.serial, *args, timeout=60)
    assert res.returncode == 0, res.stderr
    return res


def instrument(adb_server: AdbServer, dev: VirtualDeviceHandle, component: str, *extras: str) -> str:
    return adb(adb_server, dev, "shell", "am", "instrument", "-w", "-r", *extras, component).stdout


# --- through adb ------------------------------------------------------------------------------
def test_instrument_run_logs_activity_manager_and_test_runner_in_threadtime(
    adb_server: AdbServer, device: VirtualDeviceHandle
) -> None:
    instrument(adb_server, device, HELLO_COMPONENT)
    out = adb(adb_server, device, "logcat", "-d").stdout
    lines = out.splitlines()
    assert lines[0] == "--------- beginning of system"
    entries = [ln for ln in lines if not ln.startswith("---------")]
    assert entries and all(THREADTIME.match(ln) for ln in entries), out
    text = "\n".join(entries)
    assert re.search(
        r" 612   612 I ActivityManager: Start proc (\d+):com\.example\.hello/u0a\d+ for added application", text
    )
    pid = re.search(r"Start proc (\d+):", text).group(1)
    runner = [ln for ln in entries if " TestRunner: " in ln]
    assert [ln.split(": ", 1)[1] for ln in runner] == [
        "run started: 1 tests",
        "started: sayHello(com.example.hello.HelloTest)",
        "finished: sayHello(com.example.hello.HelloTest)",
        "run finished: 1 tests, 0 failed, 0 ignored",
    ]
    assert all(f" {pid} {pid} I TestRunner: " in ln for ln in runner)
    assert "--------- beginning of main" in lines
    assert f"Killing {pid}:com.example.hello/" in text


def test_app_log_api_buffers_tail_tag_filter_brief_and_clear(
    adb_server: AdbServer, device: VirtualDeviceHandle
) -> None:
    instrument(adb_server, device, LOGS, "-e", "lines", "5", "-e", "tag", "VdApp")
    brief = adb(adb_server, device, "logcat", "-d", "-v", "brief", "-s", "VdApp").stdout.splitlines()
    assert brief[0] == "--------- beginning of main"
    assert [re.sub(r"\(\s*\d+\)", "(PID)", ln) for ln in brief[1:]] == [
        f"I/VdApp   (PID): line {i}" for i in range(1, 6)
    ]
    tail = adb(adb_server, device, "logcat", "-t", "2", "-s", "VdApp:I").stdout.splitlines()
    assert [ln.split(": ", 1)[1] for ln in tail[1:]] == ["line 4", "line 5"]
    stamp = " ".join(tail[1].split()[:2])  # entries at or after line 4's threadtime stamp
    since = adb(adb_server, device, "logcat", "-d", "-T", stamp, "-s", "VdApp").stdout.splitlines()
    assert [ln.split(": ", 1)[1] for ln in since[1:]][-2:] == ["line 4", "line 5"]
    system = adb(adb_server, device, "logcat", "-d", "-b", "system").stdout
    assert "ActivityManager" in system and "VdApp" not in system and "TestRunner" not in system
    silent = adb(adb_server, device, "logcat", "-d", "*:S", "TestRunner:I").stdout
    assert "TestRunner" in silent and "ActivityManager" not in silent and "VdApp" not in silent
    adb(adb_server, device, "logcat", "-b", "main", "-c")
    assert "VdApp" not in adb(adb_server, device, "logcat", "-d").stdout
    assert "ActivityManager" in adb(adb_server, device, "logcat", "-d").stdout  # system kept
    adb(adb_server, device, "logcat", "-b", "all", "-c")
    assert adb(adb_server, device, "logcat", "-d").stdout == ""
    bad = adb_server.run("-s", device.serial, "logcat", "-b", "nope", "-d")
    assert bad.returncode != 0 and "Unknown buffer 'nope'" in bad.stderr + bad.stdout


def test_crash_fault_writes_fatal_exception_to_main_and_crash(
    adb_server: AdbServer, device: VirtualDeviceHandle
) -> None:
    device.faults.crash_instrumentation(after_writes=3)
    out = instrument(adb_server, device, HELLO_COMPONENT)
    assert "Process crashed." in out
    crash = adb(adb_server, device, "logcat", "-d", "-b", "crash").stdout.splitlines()
    assert crash[0] == "--------- beginning of crash"
    messages = [ln.split(": ", 1)[1] for ln in crash[1:]]
    assert all(" E AndroidRuntime: " in ln for ln in crash[1:])
    assert messages[0] == "FATAL EXCEPTION: main"
    assert re.fullmatch(r"Process: com\.example\.hello, PID: \d+", messages[1])
    assert messages[2].startswith("java.lang.IllegalStateException")
    assert messages[3].startswith("\tat ")
    main = adb(adb_server, device, "logcat", "-d", "-b", "main").stdout
    assert "FATAL EXCEPTION: main" in main
    every = adb(adb_server, device, "logcat", "-d", "-b", "all").stdout
    assert every.count("FATAL EXCEPTION") == 1  # one entry in two buffers is shown once
    assert "Crash of app com.example.hello running instrumentation" in every


def test_app_exception_writes_its_stack_as_fatal_exception(adb_server: AdbServer, device: VirtualDeviceHandle) -> None:
    instrument(adb_server, device, CRASH, "-e", "message", "kaboom")
    crash = adb(adb_server, device, "logcat", "-d", "-b", "crash", "-v", "tag").stdout
    assert "E/AndroidRuntime: FATAL EXCEPTION: main" in crash
    assert "E/AndroidRuntime: java.lang.RuntimeException: RuntimeError: kaboom" in crash
    assert re.search(r"E/AndroidRuntime: \tat builtin\.crash\(builtin\.py:\d+\)", crash)
    assert "W/VdApp   : about to crash" in adb(adb_server, device, "logcat", "-d", "-v", "tag").stdout


def test_streaming_logcat_delivers_new_entries_until_the_client_closes(
    adb_server: AdbServer, device: VirtualDeviceHandle
) -> None:
    proc = subprocess.Popen(
        [adb_server.adb_path, "-s", device.serial, "logcat", "-v", "brief", "VdApp:I", "*:S"],
        stdout=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    done = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line.rstrip("\n"))
            if line.rstrip().endswith("line 3"):
                done.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        instrument(adb_server, device, LOGS, "-e", "lines", "3")
        assert done.wait(60), seen
    finally:
        proc.terminate()
        proc.wait(30)
        thread.join(30)
    assert [ln.split(": ", 1)[1] for ln in seen if ln.startswith("I/VdApp")] == ["line 1", "line 2", "line 3"]
    # The device is still fine after the client went away mid-stream.
    assert adb(adb_server, device, "shell", "echo", "ok").stdout == "ok\n"


# --- the log itself ---------------------------------------------------------------------------
def test_ring_buffer_keeps_newest_entries_within_its_size() -> None:
    log = DeviceLog(buffer_bytes=1000)
    for i in range(100):
        log.log("I", "Tag", f"message {i:03d}")
    kept = log.entries(("main",))
    assert kept[-1].message == "message 099"
    assert len(kept) < 100 and sum(e.size for e in kept) <= 1000
    assert [int(e.message[-3:]) for e in kept] == list(range(100 - len(kept), 100))


def test_threadtime_and_brief_prefix_every_line_of_a_message() -> None:
    entry = LogEntry(1, 0.5, 123, 4567, "E", "Tag", "one\ntwo", ("main",))
    assert entry.format("threadtime") == (
        "01-01 00:00:00.500   123  4567 E Tag     : one\n01-01 00:00:00.500   123  4567 E Tag     : two\n"
    )
    assert entry.format("brief") == "E/Tag     (  123): one\nE/Tag     (  123): two\n"
    assert entry.format("raw") == "one\ntwo\n"


def test_priorities_and_option_parsing() -> None:
    assert [priority_letter(p) for p in (2, "info", "W", "e", 7)] == ["V", "I", "W", "E", "F"]
    with pytest.raises(ValueError):
        priority_letter(9)
    opts = parse(["-v", "brief", "-b", "main,crash", "-t", "5", "-s", "Tag:W"])
    assert (opts.fmt, opts.buffers, opts.tail, opts.dump, opts.default_level, opts.filters) == (
        "brief", ["main", "crash"], 5, True, "S", {"Tag": "W"},
    )  # fmt: skip
    assert parse(["-vthreadtime", "-bsystem", "-d"]).selected() == ("system",)
    assert parse(["-t", "01-02 03:04:05.500"]).since == calendar.timegm((time.gmtime().tm_year, 1, 2, 3, 4, 5)) + 0.5
    assert (parse(["-T", "1700000000.25"]).since, parse(["-T", "5"]).tail) == (1700000000.25, 5)
    for bad in (["-t", "0"], ["-v", "fancy"], ["-x"], ["-b", "nope"]):
        with pytest.raises(UsageError):
            parse(bad)


def test_reference_runner_logs_a_line_through_the_context_when_it_has_a_log() -> None:
    from ava_reference.runner import LOG_TAG, _log

    lines: list[tuple[str, str, str]] = []

    class WithLog:
        def log(self, priority: str, tag: str, message: str) -> None:
            lines.append((priority, tag, message))

    _log(WithLog(), "E", "latency[M]: failed: slow")
    _log(object(), "I", "a context without log() is fine")
    assert lines == [("E", LOG_TAG, "latency[M]: failed: slow")]
