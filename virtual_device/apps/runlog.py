"""What one `am instrument` run writes to the device log, as a phone's would: ActivityManager's
process start/kill lines (system buffer), AndroidJUnitRunner's TestRunner lines derived from the
status bundles the instrumentation prints (main buffer), and AndroidRuntime's FATAL EXCEPTION with
the stack when the process crashes (main and crash buffers)."""

from __future__ import annotations

import threading
import zlib

from virtual_device.logcat import SYSTEM_PID, DeviceLog, crash_entry


def app_uid(package: str) -> int:
    """A stable app id (10000 + n) for a package, as PackageManager would have assigned it."""
    return 10_100 + zlib.crc32(package.encode()) % 900


def uid_name(package: str) -> str:
    return f"u0a{app_uid(package) - 10_000}"


class InstrumentationLog:
    def __init__(self, log: DeviceLog, component: str, process: str) -> None:
        self.log = log
        self.component = component
        self.process = process
        self.pid = log.new_pid()
        self._lock = threading.Lock()
        self._pending = ""
        self._bundle: dict[str, str] = {}
        self._key: str | None = None
        self._run_started = False
        self._failed = 0
        self._total = 0

    def system(self, priority: str, message: str) -> None:
        self.log.log(priority, "ActivityManager", message, buffers="system", pid=SYSTEM_PID)

    def app(self, priority: str | int, tag: str, message: str) -> None:
        """A line from the instrumented process (InstrumentationContext.log)."""
        self.log.log(priority, tag, message, buffers="main", pid=self.pid)

    def start(self) -> None:
        self.log.processes[self.pid] = (self.process, app_uid(self.process))
        self.system("I", f"Force stopping {self.process} appid={app_uid(self.process)} user=0: start instr")
        self.system(
            "I", f"Start proc {self.pid}:{self.process}/{uid_name(self.process)} for added application {self.process}"
        )

    def feed(self, text: str) -> None:
        """Output of the instrumentation as it is written: each complete status bundle becomes the
        TestRunner line AndroidJUnitRunner logs for it."""
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                self._line(line)

    def _line(self, line: str) -> None:
        if line.startswith("INSTRUMENTATION_STATUS: "):
            key, _, value = line[len("INSTRUMENTATION_STATUS: ") :].partition("=")
            self._bundle[key] = value
            self._key = key
        elif line.startswith("INSTRUMENTATION_STATUS_CODE: "):
            self._status(line.split(":", 1)[1].strip(), self._bundle)
            self._bundle, self._key = {}, None
        elif line.startswith("INSTRUMENTATION_RESULT: "):
            if self._run_started:
                self.app("I", "TestRunner", f"run finished: {self._total} tests, {self._failed} failed, 0 ignored")
                self._run_started = False
            self._key = None
        elif self._key is not None:
            self._bundle[self._key] += "\n" + line

    def _status(self, code: str, bundle: dict[str, str]) -> None:
        if "test" not in bundle or "class" not in bundle:
            return
        name = f"{bundle['test']}({bundle['class']})"
        if not self._run_started:
            self._run_started = True
            self.app("I", "TestRunner", f"run started: {bundle.get('numtests', '1')} tests")
        if code == "1":
            self._total += 1
            self.app("I", "TestRunner", f"started: {name}")
            return
        if code in ("-2", "-1"):
            self._failed += 1
            self.app("E", "TestRunner", f"failed: {name}")
            self.app("E", "TestRunner", "----- begin exception -----")
            self.app("E", "TestRunner", bundle.get("stack", "").rstrip())
            self.app("E", "TestRunner", "----- end exception -----")
        elif code == "-3":
            self.app("I", "TestRunner", f"ignored: {name}")
        self.app("I", "TestRunner", f"finished: {name}")

    def crash(self, stack: str) -> None:
        crash_entry(self.log, self.process, self.pid, stack)
        self.system("W", f"Crash of app {self.process} running instrumentation ComponentInfo{{{self.component}}}")
        self.system("I", f"Process {self.process} (pid {self.pid}) has died: fg  TOP")

    def finish(self) -> None:
        with self._lock:
            if self._pending:
                self._line(self._pending)
                self._pending = ""
        self.log.processes.pop(self.pid, None)
        self.system("I", f"Killing {self.pid}:{self.process}/{uid_name(self.process)} (adj 0): finished inst")
