"""cat, sha256sum, sha1sum, md5sum, wc, grep: read their file operands, or stdin without any
(interpreter.STDIN_FILTERS lists them for shell v2 stdin)."""

from __future__ import annotations

import errno
import hashlib

from virtual_device.shell.interpreter import CommandFn, Ctx, ShellSession
from virtual_device.shell.registry import command, path_error, split_flags
from virtual_device.storage import DeviceOSError


def _read_inputs(s: ShellSession, ctx: Ctx, tool: str, paths: list[str]) -> list[tuple[str, bytes | None]]:
    if not paths:
        return [("-", ctx.stdin)]
    out: list[tuple[str, bytes | None]] = []
    for path in paths:
        if path == "-":
            out.append(("-", ctx.stdin))
            continue
        try:
            host = s._host(path)
            if host.is_dir():
                raise DeviceOSError(errno.EISDIR, path)
            out.append((path, host.read_bytes()))
        except OSError as exc:
            path_error(ctx, tool, exc, path)
            out.append((path, None))
    return out


@command("cat")
def cmd_cat(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    _, paths = split_flags(args, "uvAet")
    status = 0
    for _path, data in _read_inputs(s, ctx, "cat", paths):
        if data is None:
            status = 1
        else:
            ctx.out(data)
    return status


def _hash_cmd(algo: str) -> CommandFn:
    def run(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
        _, paths = split_flags(args, "bc")
        status = 0
        for path, data in _read_inputs(s, ctx, f"{algo}sum", paths):
            if data is None:
                status = 1
            else:
                ctx.out(f"{hashlib.new(algo, data).hexdigest()}  {path}\n")
        return status

    return run


command("sha256sum")(_hash_cmd("sha256"))
command("sha1sum")(_hash_cmd("sha1"))
command("md5sum")(_hash_cmd("md5"))


@command("wc")
def cmd_wc(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    flags, paths = split_flags(args, "lcw")
    status = 0
    for path, data in _read_inputs(s, ctx, "wc", paths):
        if data is None:
            status = 1
            continue
        counts = {"l": data.count(b"\n"), "w": len(data.split()), "c": len(data)}
        chosen = [k for k in "lwc" if k in flags] or ["l", "w", "c"]
        text = " ".join(str(counts[k]) for k in chosen)
        ctx.out(text + ("" if path == "-" else f" {path}") + "\n")
    return status


@command("grep")
def cmd_grep(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    import re

    flags, rest = split_flags(args, "qvicFE")
    if not rest:
        ctx.err("usage: grep PATTERN [FILE...]\n")
        return 2
    pattern, paths = rest[0], rest[1:]
    regex = re.compile(re.escape(pattern) if "F" in flags else pattern, re.IGNORECASE if "i" in flags else 0)
    matched = 0
    for _path, data in _read_inputs(s, ctx, "grep", paths):
        for line in (data or b"").decode("utf-8", "replace").splitlines():
            if bool(regex.search(line)) != ("v" in flags):
                matched += 1
                if not flags & {"q", "c"}:
                    ctx.out(line + "\n")
    if "c" in flags:
        ctx.out(f"{matched}\n")
    return 0 if matched else 1
