"""Shell builtins and environment tools: export, exec, env, which, test / [."""

from __future__ import annotations

import re

from virtual_device.shell.interpreter import Ctx, ExitShell, ShellSession
from virtual_device.shell.registry import async_command, command

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
BIN_DIRS = ("/system/bin",)
SHELL_ONLY = {"export", "exec", "cd", "exit", ":"}  # builtins of sh, no file in /system/bin
UNARY = {"-e", "-f", "-d", "-s", "-r", "-w", "-x", "-L", "-h", "-z", "-n"}


@command("export")
def cmd_export(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    if not args:
        for key in sorted(s.env):
            ctx.out(f"export {key}='{s.env[key]}'\n")
        return 0
    for arg in args:
        name, eq, value = arg.partition("=")
        if not NAME.match(name):
            ctx.err(f"/system/bin/sh: export: {arg}: bad variable name\n")
            return 1
        if eq:
            s.env[name] = value
        else:
            s.env.setdefault(name, "")
    return 0


@async_command("exec")
async def cmd_exec(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    """`exec cmd args`: the shell becomes the command, so nothing after it runs."""
    if not args:
        return 0
    code = await s.dispatch(args, ctx)
    raise ExitShell(code)


@command("env", "printenv")
def cmd_env(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    if args:
        for name in args:
            if name not in s.env:
                return 1
            ctx.out(s.env[name] + "\n")
        return 0
    for key in sorted(s.env):
        ctx.out(f"{key}={s.env[key]}\n")
    return 0


@command("which")
def cmd_which(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    names = [a for a in args if not a.startswith("-")]
    code = 0
    known = s.commands.names() - SHELL_ONLY
    for name in names:
        if name in known:
            ctx.out(f"/system/bin/{name}\n")
        else:
            code = 1
    return code


def _unary(s: ShellSession, op: str, operand: str) -> bool:
    if op == "-z":
        return operand == ""
    if op == "-n":
        return operand != ""
    try:
        res = s.storage.readable(operand, s.cwd)
    except OSError:
        return False
    if res.host is None:  # a read-only directory the device shows (/, /system, ...)
        return op in ("-e", "-d", "-r", "-x")
    host = res.host
    if op in ("-L", "-h"):
        return host.is_symlink()
    if not host.exists():
        return False
    return {
        "-e": True,
        "-f": host.is_file(),
        "-d": host.is_dir(),
        "-s": host.is_file() and host.stat().st_size > 0,
        "-r": True,
        "-w": True,
        "-x": host.is_dir(),
    }[op]


def _binary(left: str, op: str, right: str) -> bool:
    if op in ("=", "=="):
        return left == right
    if op == "!=":
        return left != right
    a, b = int(left), int(right)
    return {"-eq": a == b, "-ne": a != b, "-lt": a < b, "-le": a <= b, "-gt": a > b, "-ge": a >= b}[op]


def _evaluate(s: ShellSession, args: list[str]) -> bool:
    if args and args[0] == "!":
        return not _evaluate(s, args[1:])
    for i, word in enumerate(args):
        if word in ("-a", "-o") and 0 < i < len(args) - 1:
            left, right = _evaluate(s, args[:i]), _evaluate(s, args[i + 1 :])
            return (left and right) if word == "-a" else (left or right)
    if not args:
        return False
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2 and args[0] in UNARY:
        return _unary(s, args[0], args[1])
    if len(args) == 3:
        return _binary(*args)
    raise ValueError("unknown operand")


@command("test", "[")
def cmd_test(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    if args[-1:] == ["]"]:
        args = args[:-1]
    try:
        return 0 if _evaluate(s, args) else 1
    except (ValueError, KeyError, TypeError):
        ctx.err("test: syntax error\n")
        return 2
