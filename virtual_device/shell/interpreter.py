"""A small Android shell in Python: tokenizing, `;` `&&` `||` lists, pipelines, redirects and
dispatch through a CommandTable. The commands themselves live in shell/commands/ and register
in registry.COMMANDS; nothing here ever runs a host process."""

from __future__ import annotations

import errno
import posixpath
import shlex
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from virtual_device.context import DeviceContext
from virtual_device.storage import DeviceOSError, Storage

Sink = Callable[[bytes], Awaitable[None]]
StdinChunks = Callable[[], AsyncIterator[bytes]]
OPERATORS = {";", "&&", "||", "|", "&"}
REDIRECTS = {">", ">>", "<", ">&", "2>", "2>>", "&>"}


class ExitShell(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class Ctx:
    """I/O of one command: stdout/stderr buffers, flushed to the stream between commands."""

    def __init__(self, session: ShellSession, stdin: bytes, sink: Sink | None, err_sink: Sink | None) -> None:
        self.session = session
        self.stdin = stdin
        # The client's stdin as it arrives, for a streaming filter (STREAMING_FILTERS) that is the
        # first stage of a pipeline; `stdin` is then empty.
        self.stdin_chunks: AsyncIterator[bytes] | None = None
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


class FileSink:
    """Where a command's stdout goes under `> path` / `>> path`: each flush is appended on the
    device's worker thread; a failure (storage full) is reported once and sets `failed`."""

    def __init__(self, session: ShellSession, path: str) -> None:
        self.session = session
        self.path = path
        self.failed = False

    def write(self, data: bytes, mode: str) -> None:
        storage = self.session.storage
        host = storage.writable(self.path, self.session.cwd)
        with storage.reservation() as res:
            res.grow(len(data), self.path)
            with open(host, mode) as fh:
                fh.write(data)

    async def report(self, exc: OSError) -> None:
        self.failed = True
        await self.session.write_err(f"/system/bin/sh: can't create {self.path}: {exc.strerror}\n".encode())

    async def __call__(self, data: bytes) -> None:
        if self.failed or self.path == "/dev/null":
            return
        try:
            await self.session.device.run_blocking(self.write, data, "ab")
        except OSError as exc:
            await self.report(exc)


def tokenize(command: str) -> list[str]:
    """Words and operators (`;` `&&` `||` `|` `&` `<` `>` `>>` `>&`), quotes removed, `#` comments
    dropped; `2>` comes out as "2", ">". Raises ValueError on an unterminated quote."""
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
        commands: CommandTable,
        cwd: str = "/",
        closed: Callable[[], bool] = lambda: False,
        run_as: str | None = None,
    ) -> None:
        self.device = device
        self.commands = commands
        self.storage: Storage = device.storage
        self.write_out = out
        self.write_err = err
        self.cwd = cwd
        self.status = 0
        self.closed = closed
        self.run_as = run_as
        # Shell v2 forwards the client's stdin; filters read it only when given no file operand.
        self.stdin_source: Callable[[], Awaitable[bytes]] | None = None
        # Exactly n bytes of stdin without waiting for EOF (`cmd package install -S SIZE` over exec:,
        # whose host never closes its side); None where the service does not offer it.
        self.stdin_exactly: Callable[[int], Awaitable[bytes]] | None = None
        # Stdin piece by piece as it arrives, for a streaming filter: `printf foo | adb shell -x cat`
        # prints foo at once (the v1 host never sends an EOF), `cat > f` writes as data comes.
        self.stdin_chunks: StdinChunks | None = None
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
            tokens = tokenize(command)
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
        chunks: AsyncIterator[bytes] | None = None
        if reads_stdin(stages[0]):
            if self.stdin_chunks is not None and stages[0][0] in STREAMING_FILTERS:
                chunks = self.stdin_chunks()  # taken now, before anything awaits
            elif self.stdin_source is not None:
                stdin = await self.stdin_source()
        for i, stage in enumerate(stages):
            last = i == len(stages) - 1
            status, stdin = await self.run_simple(stage, stdin, to_stream=last, chunks=chunks if i == 0 else None)
        return status

    async def run_simple(
        self, tokens: list[str], stdin: bytes, *, to_stream: bool, chunks: AsyncIterator[bytes] | None = None
    ) -> tuple[int, bytes]:
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
                    source = self._expand(tokens[i + 1])
                    stdin = b"" if source == "/dev/null" else self._host(source).read_bytes()
                except OSError as exc:
                    await self.write_err(f"/system/bin/sh: {tokens[i + 1]}: {exc.strerror}\n".encode())
                    return 1, b""
                i += 2
                continue
            argv.append(self._expand(tok))
            i += 1
        streaming = to_stream and out_file is None
        sink = self.write_out if streaming else None
        if out_file is not None and argv:
            # Like sh: the file is created (or truncated) before the command runs, and what the
            # command flushes is appended as it comes (a streaming `cat > f` never holds it all).
            sink = await self._file_sink(out_file)
            if sink is None:
                return 1, b""
        ctx = Ctx(
            self, stdin, sink, None if err_null else (self.write_out if err_to_out and streaming else self.write_err)
        )
        ctx.stdin_chunks = chunks
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
            return (1 if isinstance(sink, FileSink) and sink.failed else code), b""
        return code, bytes(ctx.stdout)

    async def _file_sink(self, target: tuple[str, bool]) -> FileSink | None:
        """A sink appending to the redirect target, created (or truncated) now; None, after the
        shell's error, when it cannot be."""
        sink = FileSink(self, target[0])
        if target[0] != "/dev/null":
            try:
                await self.device.run_blocking(sink.write, b"", "ab" if target[1] else "wb")
            except OSError as exc:
                await sink.report(exc)
                return None
        return sink

    async def dispatch(self, argv: list[str], ctx: Ctx) -> int:
        name = argv[0]
        if "/" in name:
            name = posixpath.basename(name) if name.startswith(("/system/bin/", "/system/xbin/")) else name
        func = self.commands.coroutines.get(name)
        if func is not None:
            return await func(self, ctx, argv[1:])
        sync_func = self.commands.sync.get(name)
        if sync_func is None:
            ctx.err(
                f"/system/bin/sh: {argv[0]}: inaccessible or not found\n"
                if "/" in name
                else f"/system/bin/sh: {argv[0]}: not found\n"
            )
            return 127
        try:
            if name in self.commands.blocking:
                # File-heavy: on the device's worker thread, so the loop keeps serving other streams.
                return await self.device.run_blocking(sync_func, self, ctx, argv[1:])
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
STDIN_FILTERS.update({"head": 0, "tail": 0, "cut": 0})
# Filters that take stdin piece by piece (Ctx.stdin_chunks) instead of all of it at EOF.
STREAMING_FILTERS = {"cat"}
# Options whose value is the next word, not a file operand.
VALUE_OPTIONS = {"head": {"-n", "-c"}, "tail": {"-n", "-c"}, "cut": {"-d", "-f", "-c", "-b"}}


def reads_stdin(tokens: list[str]) -> bool:
    """Whether this pipeline stage is a filter that reads stdin: no file operand, or `-`."""
    if not tokens or tokens[0] not in STDIN_FILTERS or "<" in tokens:
        return False
    takes_value = VALUE_OPTIONS.get(tokens[0], set())
    words = [
        t
        for i, t in enumerate(tokens[1:], 1)
        if (not t.startswith("-") or t == "-") and tokens[i - 1] not in takes_value
    ]
    cut = next((i for i, t in enumerate(words) if t in REDIRECTS or t in (">", ">>")), len(words))
    return len(words[:cut]) <= STDIN_FILTERS[tokens[0]] or "-" in words[:cut]


# ------------------------------------------------------------------------------------------
# Commands. Each takes (session, ctx, args) and returns the exit status.
# ------------------------------------------------------------------------------------------
CommandFn = Callable[[ShellSession, Ctx, list[str]], int]
AsyncCommandFn = Callable[[ShellSession, Ctx, list[str]], Awaitable[int]]


class CommandTable:
    """Command name -> function, filled by the @command / @async_command decorators.
    Plain commands that raise DeviceOSError exit 1 with `name: path: error`; async ones
    (those that await: sleep, run-as, am) handle their errors themselves."""

    def __init__(self) -> None:
        self.sync: dict[str, CommandFn] = {}
        self.coroutines: dict[str, AsyncCommandFn] = {}
        # Plain commands run off the event loop (DeviceContext.run_blocking): file-heavy ones.
        self.blocking: set[str] = set()

    def command(self, *names: str, blocking: bool = False) -> Callable[[CommandFn], CommandFn]:
        def deco(fn: CommandFn) -> CommandFn:
            for n in names:
                self.sync[n] = fn
                if blocking:
                    self.blocking.add(n)
            return fn

        return deco

    def async_command(self, *names: str) -> Callable[[AsyncCommandFn], AsyncCommandFn]:
        def deco(fn: AsyncCommandFn) -> AsyncCommandFn:
            for n in names:
                self.coroutines[n] = fn
            return fn

        return deco

    def names(self) -> set[str]:
        return set(self.sync) | set(self.coroutines)
