"""cat, sha256sum, sha1sum, md5sum, wc, grep, head, tail, cut: read their file operands, or stdin without any
(interpreter.STDIN_FILTERS lists them; cat streams stdin as it arrives). They read whole files, so
they run on the device's worker thread (blocking=True), never on the event loop."""

from __future__ import annotations

import errno
import hashlib

from virtual_device.shell.interpreter import CommandFn, Ctx, ShellSession
from virtual_device.shell.registry import async_command, command, path_error, split_flags
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


@async_command("cat")
async def cmd_cat(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    _, paths = split_flags(args, "uvAet")
    if ctx.stdin_chunks is not None:
        if paths in ([], ["-"]):
            # Stdin as it arrives: each piece goes out at once (a v1 host never sends EOF).
            async for chunk in ctx.stdin_chunks:
                ctx.out(chunk)
                await ctx.flush()
            return 0
        ctx.stdin = b"".join([chunk async for chunk in ctx.stdin_chunks])  # `cat a - b`: in its place
    return await s.device.run_blocking(_cat, s, ctx, paths)


def _cat(s: ShellSession, ctx: Ctx, paths: list[str]) -> int:
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
        for path in paths or ["-"]:
            if path == "-":
                ctx.out(f"{hashlib.new(algo, ctx.stdin).hexdigest()}  -\n")
                continue
            try:
                host = s._host(path)
                if host.is_dir():
                    raise DeviceOSError(errno.EISDIR, path)
                with open(host, "rb") as fh:
                    # Piecewise: a 100 MB file is never held in memory (hashlib drops the GIL).
                    digest = hashlib.file_digest(fh, algo).hexdigest()
            except OSError as exc:
                status = path_error(ctx, f"{algo}sum", exc, path)
                continue
            ctx.out(f"{digest}  {path}\n")
        return status

    return run


command("sha256sum", blocking=True)(_hash_cmd("sha256"))
command("sha1sum", blocking=True)(_hash_cmd("sha1"))
command("md5sum", blocking=True)(_hash_cmd("md5"))


@command("wc", blocking=True)
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


@command("grep", blocking=True)
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


def _count_option(args: list[str], default: int) -> tuple[int, bool, bool, list[str]]:
    """(-n/-c count, count is bytes, count is '+N' from the start, operands) of head/tail."""
    count, in_bytes, from_start, rest = default, False, False, []
    it = iter(args)
    for a in it:
        value: str | None = None
        if a in ("-n", "-c"):
            in_bytes, value = a == "-c", next(it, "")
        elif a.startswith(("-n", "-c")) and len(a) > 2:
            in_bytes, value = a[1] == "c", a[2:]
        elif a.startswith("-") and a[1:].isdigit():
            value = a[1:]
        elif a in ("-f", "-F", "-q", "-v"):
            continue
        else:
            rest.append(a)
            continue
        from_start = value.startswith("+")
        count = int(value.lstrip("+-"))
    return count, in_bytes, from_start, rest


def _head_tail(tool: str, s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    try:
        count, in_bytes, from_start, paths = _count_option(args, 10)
    except ValueError:
        ctx.err(f"{tool}: bad count\n")
        return 1
    status = 0
    inputs = _read_inputs(s, ctx, tool, paths)
    for i, (path, data) in enumerate(inputs):
        if data is None:
            status = 1
            continue
        if len(inputs) > 1:
            ctx.out(("\n" if i else "") + f"==> {path} <==\n")
        if in_bytes:
            if tool == "head":
                ctx.out(data[:count])
            elif from_start:
                ctx.out(data[max(count - 1, 0) :])
            else:
                ctx.out(data[-count:] if count else b"")
            continue
        lines = data.splitlines(keepends=True)
        if tool == "head":
            chosen = lines[:count]
        elif from_start:
            chosen = lines[max(count - 1, 0) :]
        else:
            chosen = lines[-count:] if count else []
        ctx.out(b"".join(chosen))
    return status


@command("head", blocking=True)
def cmd_head(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    return _head_tail("head", s, ctx, args)


@command("tail", blocking=True)
def cmd_tail(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    return _head_tail("tail", s, ctx, args)


def _ranges(spec: str) -> list[tuple[int, int]]:
    out = []
    for part in spec.split(","):
        lo, dash, hi = part.partition("-")
        start = int(lo) if lo else 1
        end = (int(hi) if hi else 1 << 30) if dash else start
        if start < 1 or end < start:
            raise ValueError(part)
        out.append((start, end))
    return out


@command("cut", blocking=True)
def cmd_cut(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    delim, fields, chars, only_delimited, paths = "\t", None, None, False, []
    it = iter(args)
    for a in it:
        if a in ("-d", "-f", "-c", "-b"):
            value = next(it, "")
        elif a[:2] in ("-d", "-f", "-c", "-b") and len(a) > 2:
            a, value = a[:2], a[2:]
        elif a == "-s":
            only_delimited = True
            continue
        else:
            paths.append(a)
            continue
        if a == "-d":
            delim = value
        elif a == "-f":
            fields = value
        else:
            chars = value
    try:
        ranges = _ranges(fields if fields is not None else chars or "")
    except ValueError:
        ctx.err("cut: bad list\n" if (fields or chars) else "cut: Needs -fcb\n")
        return 1
    status = 0
    for _path, data in _read_inputs(s, ctx, "cut", paths):
        if data is None:
            status = 1
            continue
        for line in data.decode("utf-8", "replace").splitlines():
            if fields is None:
                ctx.out("".join(line[a - 1 : b] for a, b in ranges) + "\n")
            elif delim not in line:
                ctx.out("" if only_delimited else line + "\n")
            else:
                parts = line.split(delim)
                picked = [p for i, p in enumerate(parts, 1) if any(a <= i <= b for a, b in ranges)]
                ctx.out(delim.join(picked) + "\n")
    return status
