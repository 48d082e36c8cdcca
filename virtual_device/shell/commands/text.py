"""A small Android shell in Python: toybox-like commands over the sandboxed storage.

Nothing here ever runs a host process; every command is a Python function."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import posixpath
import shlex
import stat as statmod
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from virtual_device.apps.instrumentation import (
    CRASH_TAIL,
    InstrumentationContext,
    InstrumentationCrashed,
    human_readable,
    load_instrumentation,
    unknown_component_output,
)
from virtual_device.context import DeviceContext
from virtual_device.storage import DeviceOSError, Storage

Sink = Callable[[bytes], Awaitable[None]]
OPERATORS = {";", "&&", "||", "|", "&"}
REDIRECTS = {">", ">>", "<", ">&", "2>", "2>>", "&>"}
SHELL_ID = (
    "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),"
    "1015(sdcard_rw),1028(sdcard_r),1078(ext_data_rw),1079(ext_obb_rw),3001(net_bt_admin),"
    "3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),3011(uhid),3012(readtracefs) "
    "context=u:r:shell:s0"
)


class ExitShell(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class Ctx:
    """I/O of one command: stdout/stderr buffers, flushed to the stream between commands."""

    def __init__(self, session: ShellSession, stdin: bytes, sink: Sink | None, err_sink: Sink | None) -> None:
        self.session = session
        self.stdin = stdin
        self.stdout = bytearray()
        self.stderr = bytearray()
        self._sink = sink
        self._err_sink = err_sink

    def out(self, data: str | bytes) -> None:
        self.stdout += data.encode() if isinstance(data, str) else data

    def err(self, data: str | bytes) -> None:
        self.stderr += data.encode() if isinstance(data, str) else data

    async def flush(self) -> None:
        if self._sink is not None and self.stdout:
            data, self.stdout = bytes(self.stdout), bytearray()
            await self._sink(data)
        if self._err_sink is not None and self.stderr:
            data, self.stderr = bytes(self.stderr), bytearray()
            await self._err_sink(data)


def _tokenize(command: str) -> list[str]:
    lex = shlex.shlex(command, posix=True, punctuation_chars=";&|<>")
    lex.whitespace_split = True
    lex.commenters = "#"
    return list(lex)


class ShellSession:
    def __init__(
        self,
        device: DeviceContext,
        out: Sink,
        err: Sink,
        *,
        cwd: str = "/",
        closed: Callable[[], bool] = lambda: False,
        run_as: str | None = None,
    ) -> None:
        self.device = device
        self.storage: Storage = device.storage
        self.write_out = out
        self.write_err = err
        self.cwd = cwd
        self.status = 0
        self.closed = closed
        self.run_as = run_as
        # Shell v2 forwards the client's stdin; filters read it only when given no file operand.
        self.stdin_source: Callable[[], Awaitable[bytes]] | None = None
        self.env = {
            "EXTERNAL_STORAGE": "/sdcard",
            "ANDROID_DATA": "/data",
            "ANDROID_ROOT": "/system",
            "HOME": "/",
            "PATH": "/product/bin:/apex/com.android.runtime/bin:/system/bin:/system/xbin:/odm/bin:/vendor/bin",
            "TMPDIR": "/data/local/tmp",
            "USER": "shell",
        }

    # --- parsing ------------------------------------------------------------------------
    async def run(self, command: str) -> int:
        try:
            tokens = _tokenize(command)
        except ValueError as exc:
            await self.write_err(f"/system/bin/sh: syntax error: {exc}\n".encode())
            return 2
        try:
            return await self.run_tokens(tokens)
        except ExitShell as exc:
            return exc.code

    async def run_tokens(self, tokens: list[str]) -> int:
        # A list of pipelines separated by ; && || (left-associative like sh).
        pipeline: list[str] = []
        pending_op = ";"
        for tok in [*tokens, ";"]:
            if tok in (";", "&&", "||", "&"):
                if pipeline:
                    if (
                        pending_op == ";"
                        or (pending_op == "&&" and self.status == 0)
                        or (pending_op == "||" and self.status != 0)
                    ):
                        self.status = await self.run_pipeline(pipeline)
                    pipeline = []
                    pending_op = ";" if tok == "&" else tok
                elif tok in ("&&", "||"):
                    await self.write_err(f"/system/bin/sh: syntax error: unexpected '{tok}'\n".encode())
                    self.status = 2
                    return 2
            else:
                pipeline.append(tok)
        return self.status

    def _expand(self, word: str) -> str:
        if "$" not in word:
            return word
        word = word.replace("$?", str(self.status)).replace("$$", "4242")
        for key in sorted(self.env, key=len, reverse=True):
            word = word.replace("${" + key + "}", self.env[key]).replace("$" + key, self.env[key])
        return word

    async def run_pipeline(self, tokens: list[str]) -> int:
        stages: list[list[str]] = [[]]
        for tok in tokens:
            if tok == "|":
                stages.append([])
            else:
                stages[-1].append(tok)
        stdin = b""
        status = 0
        if self.stdin_source is not None and _reads_stdin(stages[0]):
            stdin = await self.stdin_source()
        for i, stage in enumerate(stages):
            last = i == len(stages) - 1
            status, stdin = await self.run_simple(stage, stdin, to_stream=last)
        return status

    async def run_simple(self, tokens: list[str], stdin: bytes, *, to_stream: bool) -> tuple[int, bytes]:
        argv: list[str] = []
        out_file: tuple[str, bool] | None = None
        err_to_out = False
        err_null = False
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok in (">", ">>") and argv and argv[-1] == "2" and i + 1 < len(tokens):
                argv.pop()
                if self._expand(tokens[i + 1]) == "/dev/null":
                    err_null = True
                i += 2
                continue
            if tok == ">&" and i + 1 < len(tokens):
                if argv and argv[-1] == "2":
                    argv.pop()
                err_to_out = True
                i += 2
                continue
            if tok in (">", ">>") and i + 1 < len(tokens):
                out_file = (self._expand(tokens[i + 1]), tok == ">>")
                i += 2
                continue
            if tok == "<" and i + 1 < len(tokens):
                try:
                    stdin = self._host(self._expand(tokens[i + 1])).read_bytes()
                except OSError as exc:
                    await self.write_err(f"/system/bin/sh: {tokens[i + 1]}: {exc.strerror}\n".encode())
                    return 1, b""
                i += 2
                continue
            argv.append(self._expand(tok))
            i += 1
        streaming = to_stream and out_file is None
        sink = self.write_out if streaming else None
        ctx = Ctx(
            self, stdin, sink, None if err_null else (self.write_out if err_to_out and streaming else self.write_err)
        )
        if not argv:
            return 0, b""
        try:
            code = await self.dispatch(argv, ctx)
        except ExitShell:
            await ctx.flush()
            raise
        if err_null:
            ctx.stderr.clear()
        elif err_to_out and not streaming:
            ctx.stdout += ctx.stderr
            ctx.stderr.clear()
        await ctx.flush()
        if out_file is not None:
            code = await self._redirect(out_file, bytes(ctx.stdout), code)
            return code, b""
        return code, bytes(ctx.stdout)

    async def _redirect(self, target: tuple[str, bool], data: bytes, code: int) -> int:
        path, append = target
        if path == "/dev/null":
            return code
        try:
            host = self.storage.writable(path, self.cwd)
            with self.storage.reservation() as res:
                res.grow(len(data), path)
                with open(host, "ab" if append else "wb") as fh:
                    fh.write(data)
        except OSError as exc:
            await self.write_err(f"/system/bin/sh: can't create {path}: {exc.strerror}\n".encode())
            return 1
        return code

    async def dispatch(self, argv: list[str], ctx: Ctx) -> int:
        name = argv[0]
        if "/" in name:
            name = posixpath.basename(name) if name.startswith(("/system/bin/", "/system/xbin/")) else name
        func = ASYNC_COMMANDS.get(name)
        if func is not None:
            return await func(self, ctx, argv[1:])
        sync_func = COMMANDS.get(name)
        if sync_func is None:
            ctx.err(
                f"/system/bin/sh: {argv[0]}: inaccessible or not found\n"
                if "/" in name
                else f"/system/bin/sh: {argv[0]}: not found\n"
            )
            return 127
        try:
            return sync_func(self, ctx, argv[1:])
        except DeviceOSError as exc:
            ctx.err(f"{name}: {exc}\n")
            return 1

    # --- helpers ------------------------------------------------------------------------
    def _host(self, path: str) -> Path:
        res = self.storage.readable(path, self.cwd)
        if res.host is None:
            raise DeviceOSError(errno.EISDIR, path)
        return res.host


STDIN_FILTERS = {"cat": 0, "sha256sum": 0, "sha1sum": 0, "md5sum": 0, "wc": 0, "grep": 1}


def _reads_stdin(tokens: list[str]) -> bool:
    if not tokens or tokens[0] not in STDIN_FILTERS or "<" in tokens:
        return False
    words = [t for t in tokens[1:] if not t.startswith("-") or t == "-"]
    cut = next((i for i, t in enumerate(words) if t in REDIRECTS or t in (">", ">>")), len(words))
    return len(words[:cut]) <= STDIN_FILTERS[tokens[0]] or "-" in words[:cut]


# ------------------------------------------------------------------------------------------
# Commands. Each takes (session, ctx, args) and returns the exit status.
# ------------------------------------------------------------------------------------------
CommandFn = Callable[[ShellSession, Ctx, list[str]], int]
AsyncCommandFn = Callable[[ShellSession, Ctx, list[str]], Awaitable[int]]
COMMANDS: dict[str, CommandFn] = {}
ASYNC_COMMANDS: dict[str, AsyncCommandFn] = {}


def command(*names: str) -> Callable[[CommandFn], CommandFn]:
    def deco(fn: CommandFn) -> CommandFn:
        for n in names:
            COMMANDS[n] = fn
        return fn

    return deco


def async_command(*names: str) -> Callable[[AsyncCommandFn], AsyncCommandFn]:
    def deco(fn: AsyncCommandFn) -> AsyncCommandFn:
        for n in names:
            ASYNC_COMMANDS[n] = fn
        return fn

    return deco


def split_flags(args: list[str], allowed: str) -> tuple[set[str], list[str]]:
    flags: set[str] = set()
    rest: list[str] = []
    only_args = False
    for a in args:
        if not only_args and a == "--":
            only_args = True
        elif not only_args and a.startswith("-") and len(a) > 1 and all(c in allowed for c in a[1:]):
            flags.update(a[1:])
        else:
            rest.append(a)
    return flags, rest


def _err(ctx: Ctx, tool: str, exc: OSError, path: str) -> int:
    ctx.err(f"{tool}: {path}: {exc.strerror or exc}\n")
    return 1


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
        uid = 10000 + (sum(s.run_as.encode()) % 9000)
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
    ctx.out((f"u0_a{sum(s.run_as.encode()) % 9000}" if s.run_as else "shell") + "\n")
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


@command("getprop")
def cmd_getprop(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    props = s.device.props
    if not args:
        for key in sorted(props):
            ctx.out(f"[{key}]: [{props[key]}]\n")
    else:
        ctx.out(props.get(args[0], args[1] if len(args) > 1 else "") + "\n")
    return 0


@command("setprop")
def cmd_setprop(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    if len(args) != 2:
        ctx.err("usage: setprop NAME VALUE\n")
        return 1
    if args[0].startswith("ro."):
        ctx.err(f"Failed to set property '{args[0]}' to '{args[1]}'.\n")
        return 1
    s.device.config.extra_props[args[0]] = args[1]
    return 0


def _mode_string(mode: int) -> str:
    return statmod.filemode(mode)


def _ls_line(name: str, st: os.stat_result) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(st.st_mtime))
    group = "sdcard_rw" if statmod.S_ISDIR(st.st_mode) else "shell"
    return f"{_mode_string(st.st_mode)} {st.st_nlink} shell {group} {st.st_size} {when} {name}"


@command("ls")
def cmd_ls(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    flags, paths = split_flags(args, "laA1dRhsnt")
    if not paths:
        paths = [s.cwd]
    status = 0
    multi = len(paths) > 1
    for idx, path in enumerate(paths):
        try:
            res = s.storage.readable(path, s.cwd)
            if res.host is None:
                names = s.storage.virtual_children(res.device)
                entries = [(n, None) for n in names]
                is_dir = True
            elif not res.host.exists() and not res.host.is_symlink():
                raise DeviceOSError(errno.ENOENT, path)
            else:
                is_dir = res.host.is_dir() and "d" not in flags
                entries = [(e.name, Path(e.path)) for e in os.scandir(res.host)] if is_dir else [(path, res.host)]
        except OSError as exc:
            status = _err(ctx, "ls", exc, path)
            continue
        if is_dir:
            if "a" not in flags:
                entries = [e for e in entries if not e[0].startswith(".")]
            if "a" in flags and "A" not in flags:
                entries = [(".", res.host), ("..", res.host.parent if res.host else None), *entries]
        entries.sort(key=lambda e: e[0])
        if multi and is_dir:
            ctx.out(("\n" if idx else "") + f"{path}:\n")
        for name, host in entries:
            if "l" in flags:
                st = (
                    host.lstat()
                    if host is not None
                    else os.stat_result((statmod.S_IFDIR | 0o755, 1, 1, 2, 0, 0, 4096, 0, 0, 0))
                )
                ctx.out(_ls_line(name, st) + "\n")
            else:
                ctx.out(name + "\n")
    return status


@command("mkdir")
def cmd_mkdir(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    flags, paths = split_flags(args, "pv")
    status = 0
    if not paths:
        ctx.err("mkdir: Needs 1 argument\n")
        return 1
    for path in paths:
        try:
            host = s.storage.writable(path, s.cwd)
            host.mkdir(parents="p" in flags, exist_ok="p" in flags)
        except FileExistsError:
            status = _err(ctx, "mkdir", OSError(errno.EEXIST, os.strerror(errno.EEXIST)), path)
        except OSError as exc:
            status = _err(ctx, "mkdir", exc, path)
    return status


@command("touch")
def cmd_touch(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    _, paths = split_flags(args, "acm")
    status = 0
    for path in paths:
        try:
            host = s.storage.writable(path, s.cwd)
            host.touch()
        except OSError as exc:
            status = _err(ctx, "touch", exc, path)
    return status


@command("rm")
def cmd_rm(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    import shutil

    flags, paths = split_flags(args, "rfRvd")
    status = 0
    if not paths and "f" not in flags:
        ctx.err("rm: Needs 1 argument\n")
        return 1
    for path in paths:
        try:
            res = s.storage.resolve(path, s.cwd)
            if res.host is None:
                raise DeviceOSError(errno.EACCES, path)
            host = res.host
            if res.root_host is not None and host == res.root_host:
                raise DeviceOSError(errno.EBUSY, path)
            if host.is_symlink() or host.is_file():
                host.unlink()
            elif host.is_dir():
                if "r" not in flags and "R" not in flags:
                    raise DeviceOSError(errno.EISDIR, path)
                shutil.rmtree(host)
            elif "f" not in flags:
                raise DeviceOSError(errno.ENOENT, path)
        except OSError as exc:
            status = _err(ctx, "rm", exc, path)
    return status


@command("rmdir")
def cmd_rmdir(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    status = 0
    for path in args:
        try:
            s.storage.writable(path, s.cwd).rmdir()
        except OSError as exc:
            status = _err(ctx, "rmdir", exc, path)
    return status


def _dest(s: ShellSession, src: str, dst: str) -> Path:
    host = s.storage.writable(dst, s.cwd)
    if host.is_dir():
        host = s.storage.writable(posixpath.join(dst, posixpath.basename(src.rstrip("/"))), s.cwd)
    return host


@command("mv")
def cmd_mv(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    _, paths = split_flags(args, "fniv")
    if len(paths) < 2:
        ctx.err("mv: Needs 2 arguments\n")
        return 1
    status = 0
    for src in paths[:-1]:
        try:
            src_host = s.storage.writable(src, s.cwd)
            if not src_host.exists():
                raise DeviceOSError(errno.ENOENT, src)
            os.replace(src_host, _dest(s, src, paths[-1]))
        except OSError as exc:
            status = _err(ctx, "mv", exc, src)
    return status


@command("cp")
def cmd_cp(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    import shutil

    flags, paths = split_flags(args, "rRfpaiv")
    if len(paths) < 2:
        ctx.err("cp: Needs 2 arguments\n")
        return 1
    status = 0
    for src in paths[:-1]:
        try:
            src_host = s._host(src)
            dst = _dest(s, src, paths[-1])
            if src_host.is_dir():
                if not flags & {"r", "R", "a"}:
                    ctx.err(f"cp: Skipped dir '{src}'\n")
                    status = 1
                    continue
                with s.storage.reservation() as res:
                    size = sum(f.stat().st_size for f in src_host.rglob("*") if f.is_file())
                    res.grow(size, paths[-1])
                    shutil.copytree(src_host, dst, dirs_exist_ok=True)
            elif not src_host.exists():
                raise DeviceOSError(errno.ENOENT, src)
            else:
                s.storage.copy_file(src_host, dst)
        except OSError as exc:
            status = _err(ctx, "cp", exc, src)
    return status


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
            _err(ctx, tool, exc, path)
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


COMMANDS["sha256sum"] = _hash_cmd("sha256")
COMMANDS["sha1sum"] = _hash_cmd("sha1")
COMMANDS["md5sum"] = _hash_cmd("md5")


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


_FILE_TYPES = {
    statmod.S_IFDIR: "directory",
    statmod.S_IFLNK: "symbolic link",
    statmod.S_IFIFO: "fifo",
    statmod.S_IFSOCK: "socket",
    statmod.S_IFCHR: "character special file",
    statmod.S_IFBLK: "block special file",
}


def _file_type(st: os.stat_result) -> str:
    if statmod.S_ISREG(st.st_mode):
        return "regular file" if st.st_size else "regular empty file"
    return _FILE_TYPES.get(statmod.S_IFMT(st.st_mode), "unknown")


def _stat_format(fmt: str, name: str, st: os.stat_result) -> str:
    def human(t: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1e9):09d} +0000"

    values: dict[str, str] = {
        "s": str(st.st_size),
        "Y": str(int(st.st_mtime)),
        "X": str(int(st.st_atime)),
        "Z": str(int(st.st_ctime)),
        "y": human(st.st_mtime),
        "x": human(st.st_atime),
        "z": human(st.st_ctime),
        "n": name,
        "N": f"'{name}'",
        "F": _file_type(st),
        "a": f"{statmod.S_IMODE(st.st_mode):o}",
        "A": statmod.filemode(st.st_mode),
        "f": f"{st.st_mode:x}",
        "u": "2000",
        "U": "shell",
        "g": "9997" if statmod.S_ISDIR(st.st_mode) else "2000",
        "G": "everybody" if statmod.S_ISDIR(st.st_mode) else "shell",
        "i": str(st.st_ino),
        "h": str(st.st_nlink),
        "b": str(getattr(st, "st_blocks", 0)),
        "B": "512",
        "o": "4096",
        "%": "%",
    }
    out: list[str] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            out.append(values.get(fmt[i + 1], "?"))
            i += 2
        elif c == "\\" and i + 1 < len(fmt):
            out.append({"n": "\n", "t": "\t", "\\": "\\"}.get(fmt[i + 1], fmt[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


@command("stat")
def cmd_stat(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    fmt: str | None = None
    paths: list[str] = []
    follow = False
    it = iter(args)
    for a in it:
        if a in ("-c", "--format"):
            fmt = next(it, "")
        elif a.startswith("--format="):
            fmt = a.split("=", 1)[1]
        elif a in ("-L", "--dereference"):
            follow = True
        elif a == "-t":
            fmt = "%n %s %b %f %u %g %D %i %h %t %T %X %Y %Z %o"
        else:
            paths.append(a)
    if not paths:
        ctx.err("stat: Needs 1 argument\n")
        return 1
    status = 0
    for path in paths:
        try:
            res = s.storage.readable(path, s.cwd)
            if res.host is None:
                st = os.stat_result((statmod.S_IFDIR | 0o755, 1, 1, 2, 0, 0, 4096, 0, 0, 0))
            else:
                st = res.host.stat() if follow else res.host.lstat()
        except OSError as exc:
            ctx.err(f"stat: cannot stat '{path}': {exc.strerror}\n")
            status = 1
            continue
        if fmt is not None:
            ctx.out(_stat_format(fmt, path, st) + "\n")
        else:
            ctx.out(
                _stat_format(
                    "  File: %N\n  Size: %s\t Blocks: %b\t IO Blocks: 4096\t%F\n"
                    "Device: fd05h/64773d\t Inode: %i\t Links: %h\n"
                    "Access: (%a/%A)\tUid: (%u/%U)\tGid: (%g/%G)\n"
                    "Access: %x\nModify: %y\nChange: %z",
                    path,
                    st,
                )
                + "\n"
            )
    return status


def _df_rows(s: ShellSession) -> list[tuple[str, int, int, str]]:
    cap = s.storage.capacity_bytes
    used = s.storage.used_bytes()
    fill = s.device.faults.active
    if any(f.kind == "fill_storage" for f in fill):
        used = cap
    return [
        ("/dev/block/dm-0", 4 * 1024**3, 3 * 1024**3, "/"),
        ("tmpfs", 2 * 1024**3, 1024 * 1024, "/dev"),
        ("/dev/block/dm-5", cap, used, "/data"),
        ("/dev/fuse", cap, used, "/storage/emulated"),
    ]


def _mount_for(device_path: str) -> str:
    if device_path.startswith(("/sdcard", "/storage", "/mnt/sdcard")):
        return "/storage/emulated"
    if device_path.startswith("/data"):
        return "/data"
    if device_path.startswith("/dev"):
        return "/dev"
    return "/"


@command("df")
def cmd_df(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    flags, paths = split_flags(args, "khHPa")
    rows = _df_rows(s)
    if paths:
        selected = []
        for path in paths:
            try:
                dev = s.storage.readable(path, s.cwd).device
            except DeviceOSError as exc:
                ctx.err(f"df: {exc}\n")
                return 1
            mount = _mount_for(dev)
            selected.extend(r for r in rows if r[3] == mount)
        rows = selected

    def human(n: int) -> str:
        value = float(n)
        for unit in ("", "K", "M", "G", "T"):
            if value < 1024 or unit == "T":
                return f"{value:.0f}{unit}" if unit == "" or value >= 10 else f"{value:.1f}{unit}"
            value /= 1024
        return str(n)

    if "h" in flags:
        ctx.out("Filesystem       Size  Used Avail Use% Mounted on\n")
        for fs, size, used, mount in rows:
            avail = max(0, size - used)
            pct = (used * 100 + size - 1) // size if size else 0
            ctx.out(f"{fs:<16}{human(size):>5} {human(used):>5} {human(avail):>5} {pct:>3}% {mount}\n")
    else:
        ctx.out("Filesystem      1K-blocks      Used Available Use% Mounted on\n")
        for fs, size, used, mount in rows:
            avail = max(0, size - used)
            pct = (used * 100 + size - 1) // size if size else 0
            ctx.out(f"{fs:<15} {size // 1024:>9} {used // 1024:>9} {avail // 1024:>9} {pct:>3}% {mount}\n")
    return 0


@command("uname")
def cmd_uname(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    ctx.out("Linux localhost 6.1.0-android14 #1 SMP PREEMPT aarch64 Toybox\n" if "-a" in args else "Linux\n")
    return 0


@command("date")
def cmd_date(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    if args and args[0] == "+%s":
        ctx.out(f"{int(time.time())}\n")
    else:
        ctx.out(time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime()) + "\n")
    return 0


# --- package manager, run-as, dumpsys --------------------------------------------------------
def _apk_path(pkg: str) -> str:
    h = hashlib.sha256(pkg.encode()).digest()
    import base64

    a = base64.urlsafe_b64encode(h[:16]).decode().rstrip("=")
    b = base64.urlsafe_b64encode(h[16:]).decode().rstrip("=")
    return f"/data/app/~~{a}==/{pkg}-{b}==/base.apk"


@command("pm")
def cmd_pm(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    cfg = s.device.config
    if args[:2] == ["list", "packages"]:
        flags, rest = split_flags(args[2:], "fdesi3uUa")
        needle = rest[0] if rest else ""
        for pkg in cfg.all_packages:
            if needle in pkg:
                ctx.out(f"package:{_apk_path(pkg)}={pkg}\n" if "f" in flags else f"package:{pkg}\n")
        return 0
    if args[:2] == ["list", "instrumentation"]:
        _, rest = split_flags(args[2:], "f")
        for comp, spec in sorted(cfg.instrumentations.items()):
            if not rest or rest[0] == spec.target:
                ctx.out(f"instrumentation:{comp} (target={spec.target})\n")
        return 0
    if args[:1] == ["path"] and len(args) >= 2:
        pkg = args[-1]
        if pkg not in cfg.all_packages:
            return 1
        ctx.out(f"package:{_apk_path(pkg)}\n")
        return 0
    if args[:1] == ["list"] and len(args) >= 2 and args[1] == "features":
        ctx.out("feature:android.hardware.touchscreen\nfeature:reqGlEsVersion=0x30002\n")
        return 0
    ctx.err(
        "Unknown command: " + (" ".join(args) or "(none)") + "\n"
        if args
        else "usage: pm path [--user USER_ID] PACKAGE\n       pm list packages [-f] [FILTER]\n"
    )
    return 255 if args else 1


@async_command("run-as")
async def cmd_run_as(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    cfg = s.device.config
    if args and args[0] in ("--user", "-u") and len(args) > 1:
        args = args[2:]
    if not args:
        ctx.err("usage: run-as <package-name> [--user <uid>] <command> [<args>]\n")
        return 1
    pkg, rest = args[0], args[1:]
    if pkg not in cfg.all_packages:
        ctx.err(f"run-as: unknown package: {pkg}\n")
        return 1
    if not cfg.is_debuggable(pkg):
        ctx.err(f"run-as: package not debuggable: {pkg}\n")
        return 1
    if not rest:
        return 0
    await ctx.flush()
    sub = ShellSession(s.device, s.write_out, s.write_err, cwd=f"/data/data/{pkg}", closed=s.closed, run_as=pkg)
    sub.status = s.status
    sub_ctx = Ctx(sub, ctx.stdin, ctx._sink, ctx._err_sink)
    try:
        code = await sub.dispatch(rest, sub_ctx)
    except ExitShell as exc:
        code = exc.code
    ctx.stdout += sub_ctx.stdout
    ctx.stderr += sub_ctx.stderr
    return code


@command("dumpsys")
def cmd_dumpsys(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    cfg = s.device.config
    if args[:1] == ["battery"]:
        ctx.out(
            "Current Battery Service state:\n"
            "  AC powered: false\n  USB powered: true\n  Wireless powered: false\n  Dock powered: false\n"
            "  Max charging current: 500000\n  Max charging voltage: 5000000\n"
            f"  Charge counter: {cfg.battery_level * 40000}\n"
            f"  status: {cfg.battery_status}\n  health: 2\n  present: true\n"
            f"  level: {cfg.battery_level}\n  scale: 100\n  voltage: 4123\n"
            f"  temperature: {round(cfg.battery_temperature * 10)}\n  technology: Li-ion\n"
        )
        return 0
    if not args:
        ctx.out("Currently running services:\n  battery\n  package\n  activity\n")
        return 0
    ctx.err(f"Can't find service: {args[0]}\n")
    return 0


# --- am instrument -----------------------------------------------------------------------------
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
    state = {"writes": 0, "crashed": False}
    stop = threading.Event()
    device = s.device

    def write(text: str) -> None:
        if state["crashed"] or stop.is_set():
            raise InstrumentationCrashed()
        if crash is not None and state["writes"] >= crash.after:
            state["crashed"] = True
            stop.set()
            raise InstrumentationCrashed()
        state["writes"] += 1
        loop.call_soon_threadsafe(queue.put_nowait, text)

    def should_stop() -> bool:
        if crash is not None and state["writes"] >= crash.after:
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
    )

    def worker() -> int:
        try:
            func = load_instrumentation(entry)
            return int(func(icontext))
        except InstrumentationCrashed:
            return 0
        except Exception as exc:  # an instrumentation bug looks like an app crash on a device
            state["crashed"] = True
            loop.call_soon_threadsafe(queue.put_nowait, f"INSTRUMENTATION_STATUS: Error={exc!r}\n")
            return 0
        finally:
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
