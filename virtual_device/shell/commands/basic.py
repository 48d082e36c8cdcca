"""true, false, exit, echo, id, whoami, pwd, cd, sleep, uname, date."""

from __future__ import annotations

import asyncio
import errno
import time

from virtual_device.apps.runlog import app_uid
from virtual_device.shell.interpreter import Ctx, ExitShell, ShellSession
from virtual_device.shell.registry import async_command, command, split_flags
from virtual_device.storage import DeviceOSError

SHELL_ID = (
    "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),"
    "1015(sdcard_rw),1028(sdcard_r),1078(ext_data_rw),1079(ext_obb_rw),3001(net_bt_admin),"
    "3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),3011(uhid),3012(readtracefs) "
    "context=u:r:shell:s0"
)


@command("true", ":")
def cmd_true(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    return 0


@command("false")
def cmd_false(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    return 1


@command("exit")
def cmd_exit(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    try:
        code = int(args[0]) if args else s.status
    except ValueError:
        ctx.err(f"/system/bin/sh: exit: bad number: {args[0]}\n")
        code = 2
    raise ExitShell(code & 0xFF)


@command("echo")
def cmd_echo(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    newline = True
    if args and args[0] == "-n":
        newline, args = False, args[1:]
    ctx.out(" ".join(args) + ("\n" if newline else ""))
    return 0


@command("id")
def cmd_id(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    if s.run_as:
        uid = app_uid(s.run_as)
        ctx.out(
            f"uid={uid}(u0_a{uid - 10000}) gid={uid}(u0_a{uid - 10000}) groups={uid}(u0_a{uid - 10000}),"
            f"3003(inet),9997(everybody),20{uid - 10000:03d}(u0_a{uid - 10000}_cache) "
            "context=u:r:untrusted_app:s0\n"
        )
    else:
        ctx.out(SHELL_ID + "\n")
    return 0


@command("whoami")
def cmd_whoami(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    ctx.out((f"u0_a{app_uid(s.run_as) - 10_000}" if s.run_as else "shell") + "\n")
    return 0


@command("pwd")
def cmd_pwd(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    ctx.out(s.cwd + "\n")
    return 0


@command("cd")
def cmd_cd(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    target = args[0] if args else "/"
    try:
        res = s.storage.readable(target, s.cwd)
        if res.host is not None and not res.host.is_dir():
            raise DeviceOSError(errno.ENOTDIR if res.host.exists() else errno.ENOENT, target)
    except DeviceOSError as exc:
        ctx.err(f"/system/bin/sh: cd: {exc}\n")
        return 2
    s.cwd = res.device
    return 0


@async_command("sleep")
async def cmd_sleep(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    try:
        await asyncio.sleep(min(float(args[0]) if args else 0.0, 3600))
    except ValueError:
        ctx.err(f"sleep: invalid number '{args[0]}'\n")
        return 1
    return 0


# The machine `uname -m` reports for the device's primary ABI (a 64-bit kernel under 32-bit ABIs).
MACHINES = {"arm64-v8a": "aarch64", "armeabi-v7a": "armv8l", "x86_64": "x86_64", "x86": "i686"}


@command("uname")
def cmd_uname(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    flags, _ = split_flags(args, "asnrvmpio")
    machine = MACHINES.get(s.device.config.abi, "aarch64")
    fields = {
        "s": "Linux",
        "n": "localhost",
        "r": "6.1.0-android14-11",
        "v": "#1 SMP PREEMPT Thu Jan  1 00:00:00 UTC 2026",
        "m": machine,
        "o": "Toybox",
    }
    order = "snrvmo" if "a" in flags else "".join(c for c in "snrvmo" if c in flags or (c == "m" and flags & set("pi")))
    ctx.out(" ".join(fields[c] for c in order or "s") + "\n")
    return 0


@command("date")
def cmd_date(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    if args and args[0] == "+%s":
        ctx.out(f"{int(time.time())}\n")
    else:
        ctx.out(time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime()) + "\n")
    return 0
