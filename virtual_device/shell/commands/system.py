"""ps, pidof, getenforce, settings, bugreportz: what adb and test tools ask the system."""

from __future__ import annotations

import hashlib
import io
import threading
import time
import weakref
import zipfile
from typing import Any

from virtual_device.logcat import SYSTEM_PID, device_log
from virtual_device.shell.interpreter import Ctx, ShellSession
from virtual_device.shell.registry import command

SHELL_PID = 4242  # $$ of every shell
# (user, pid, ppid, name) of the system processes a phone always has.
SYSTEM_PROCESSES = (
    ("root", 1, 0, "init"),
    ("root", 2, 0, "[kthreadd]"),
    ("logd", 298, 1, "logd"),
    ("system", 402, 1, "servicemanager"),
    ("root", 520, 1, "zygote64"),
    ("system", SYSTEM_PID, 520, "system_server"),
    ("shell", 701, 1, "adbd"),
)
PS_HEADER = f"{'USER':<12}{'PID':>6}{'PPID':>7}{'VSZ':>11}{'RSS':>7} {'WCHAN':<16}{'ADDR':>5} S NAME\n"
BUGREPORTZ_VERSION = "1.2"
BUGREPORT_DIR = "/data/local/tmp/bugreports"

SETTINGS_DEFAULTS: dict[str, dict[str, str]] = {
    "global": {
        "adb_enabled": "1",
        "development_settings_enabled": "1",
        "stay_on_while_plugged_in": "7",
        "window_animation_scale": "1.0",
        "transition_animation_scale": "1.0",
        "animator_duration_scale": "1.0",
        "verifier_verify_adb_installs": "0",
        "package_verifier_enable": "0",
        "airplane_mode_on": "0",
        "auto_time": "1",
        # No incremental file system (pm has no install-incremental): adb installs stream instead.
        "enable_adb_incremental_install_default": "0",
    },
    "secure": {"install_non_market_apps": "1", "location_mode": "0"},
    "system": {"screen_off_timeout": "60000", "screen_brightness": "102", "accelerometer_rotation": "0"},
}
_SETTINGS: weakref.WeakKeyDictionary[Any, dict[str, dict[str, str]]] = weakref.WeakKeyDictionary()
_SETTINGS_LOCK = threading.Lock()


def _processes(s: ShellSession, every: bool) -> list[tuple[str, int, int, str]]:
    rows = [("shell", SHELL_PID, 701, "sh"), ("shell", SHELL_PID + 1, SHELL_PID, "ps")]
    if not every:
        return rows
    apps = [
        (f"u0_a{uid - 10_000}", pid, 520, name) for pid, (name, uid) in sorted(device_log(s.device).processes.items())
    ]
    return sorted([*SYSTEM_PROCESSES, *apps, *rows], key=lambda r: r[1])


@command("ps")
def cmd_ps(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    every = any(a in ("-A", "-e", "-ef", "-Af") for a in args)
    pids = {int(a) for a in args if a.isdigit()}
    ctx.out(PS_HEADER)
    for user, pid, ppid, name in _processes(s, every or bool(pids)):
        if pids and pid not in pids:
            continue
        vsz, rss = 10_000_000 + pid * 37 % 900_000, 3_000 + pid * 13 % 90_000
        state = "R" if name == "ps" else "S"
        ctx.out(f"{user:<12}{pid:>6}{ppid:>7}{vsz:>11}{rss:>7} {'0':<16}{0:>5} {state} {name}\n")
    return 0


@command("pidof")
def cmd_pidof(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    names = [a for a in args if not a.startswith("-")]
    found = [str(pid) for _u, pid, _p, name in _processes(s, True) if name in names]
    if found:
        ctx.out(" ".join(found) + "\n")
    return 0 if found else 1


@command("getenforce")
def cmd_getenforce(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    ctx.out("Enforcing\n")
    return 0


def _settings(s: ShellSession) -> dict[str, dict[str, str]]:
    with _SETTINGS_LOCK:
        table = _SETTINGS.get(s.storage)
        if table is None:
            table = _SETTINGS[s.storage] = {ns: dict(values) for ns, values in SETTINGS_DEFAULTS.items()}
            serial = s.device.props.get("ro.serialno", "")
            table["secure"]["android_id"] = hashlib.sha256(serial.encode()).hexdigest()[:16]
        return table


@command("settings")
def cmd_settings(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    words = [a for a in args if not a.startswith("--")]
    if "--user" in args:  # `--user N` takes a value
        i = args.index("--user")
        words = [a for a in [*args[:i], *args[i + 2 :]] if not a.startswith("--")]
    if len(words) < 2 or words[1] not in SETTINGS_DEFAULTS:
        ctx.err("usage:  settings [--user <USER_ID> | current] get namespace key\n")
        return 1
    verb, ns, rest = words[0], _settings(s)[words[1]], words[2:]
    if verb == "get" and rest:
        ctx.out(ns.get(rest[0], "null") + "\n")
    elif verb == "put" and len(rest) >= 2:
        ns[rest[0]] = rest[1]
    elif verb == "delete" and rest:
        ctx.out(f"Deleted {int(ns.pop(rest[0], None) is not None)} rows\n")
    elif verb == "list":
        ctx.out("".join(f"{k}={v}\n" for k, v in sorted(ns.items())))
    else:
        ctx.err(f"Invalid command: {verb}\n")
        return 1
    return 0


def _bugreport(s: ShellSession) -> bytes:
    """A bugreportz zip: main_entry.txt names the dumpstate text (props, the log buffers)."""
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
    name = f"bugreport-{s.device.config.product}-{stamp}.txt"
    props = "".join(f"[{k}]: [{v}]\n" for k, v in sorted(s.device.props.items()))
    log = device_log(s.device)
    text = (
        f"========================================================\n== dumpstate: {stamp}\n"
        "========================================================\n\n"
        f"------ SYSTEM PROPERTIES (getprop) ------\n{props}\n"
        "------ SYSTEM LOG (logcat -v threadtime -v printable -v uid -d *:v) ------\n"
        + "".join(e.format("threadtime") for e in log.entries(("main", "system")))
        + "\n------ CRASH LOG (logcat -b crash -v threadtime -d *:v) ------\n"
        + "".join(e.format("threadtime") for e in log.entries(("crash",)))
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("version.txt", "2.0")
        zf.writestr("main_entry.txt", name)
        zf.writestr(name, text)
    return buf.getvalue()


@command("bugreportz")
def cmd_bugreportz(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    """-v: the version adb checks (on stderr); -p: a zip under BUGREPORT_DIR with progress lines."""
    if "-v" in args:
        ctx.err(BUGREPORTZ_VERSION + "\n")
        return 0
    data = _bugreport(s)
    path = f"{BUGREPORT_DIR}/bugreport-{s.device.config.product}-{time.strftime('%Y-%m-%d-%H-%M-%S')}.zip"
    if "-p" in args:
        ctx.out(f"BEGIN:{path}\nPROGRESS:50/100\n")
    try:
        host = s.storage.writable(path)
        host.parent.mkdir(parents=True, exist_ok=True)
        with s.storage.reservation() as res:
            res.grow(len(data), path)
            host.write_bytes(data)
    except OSError as exc:
        ctx.out(f"FAIL:Could not write {path}: {exc.strerror}\n")
        return 1
    ctx.out(("PROGRESS:100/100\n" if "-p" in args else "") + f"OK:{path}\n")
    return 0
