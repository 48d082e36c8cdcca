"""logcat over the device log (virtual_device.logcat): -d, -c, -g, -v FORMAT, -b BUFFER, -t N, -T N,
-m N, -s, --pid, filterspecs (TAG:P, *:S), and streaming until the client closes the stream."""

from __future__ import annotations

import asyncio
import calendar
import time
from dataclasses import dataclass, field

from virtual_device.logcat import BUFFERS, DEFAULT_BUFFERS, FORMATS, LEVELS, LogEntry, device_log
from virtual_device.shell.interpreter import Ctx, ShellSession
from virtual_device.shell.registry import async_command

POLL_SECONDS = 0.05
ADVERBS = {"color", "descriptive", "epoch", "monotonic", "printable", "uid", "usec", "UTC", "year", "zone", "nsec"}
WITH_VALUE = {"-v": "format", "-b": "buffer", "-t": "tail", "-T": "tail_follow", "-m": "max", "-e": "regex"}
LONG = {"--format": "-v", "--buffer": "-b", "--max-count": "-m", "--regex": "-e"}


class UsageError(Exception):
    pass


@dataclass
class Options:
    dump: bool = False
    clear: bool = False
    sizes: bool = False
    fmt: str = "threadtime"
    buffers: list[str] = field(default_factory=list)
    tail: int | None = None
    since: float | None = None  # -t/-T 'MM-DD HH:MM:SS.mmm' or 'SECONDS.mmm': entries from then on
    follow_tail: bool = False
    max_count: int | None = None
    pid: int | None = None
    default_level: str = "V"
    filters: dict[str, str] = field(default_factory=dict)
    dividers: bool = False

    def selected(self) -> tuple[str, ...]:
        return tuple(self.buffers) if self.buffers else DEFAULT_BUFFERS

    def wants(self, entry: LogEntry) -> bool:
        if self.pid is not None and entry.pid != self.pid:
            return False
        level = self.filters.get(entry.tag, self.default_level)
        return LEVELS[entry.priority] >= LEVELS[level]


def _count(flag: str, value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise UsageError(f'{flag} "{value}" invalid, must be a positive integer') from None
    if n < 1:
        raise UsageError(f'{flag} "{value}" invalid, must be a positive integer')
    return n


def _since(flag: str, value: str) -> float:
    """A -t/-T time: 'MM-DD HH:MM:SS.mmm' (this year, UTC, as threadtime prints it) or epoch seconds."""
    try:
        if ":" not in value:
            return float(value)
        stamp, _, frac = value.partition(".")
        year = time.gmtime().tm_year
        parsed = time.strptime(f"{year}-{stamp.strip()}", "%Y-%m-%d %H:%M:%S")
        return calendar.timegm(parsed) + (float(f"0.{frac}") if frac else 0.0)
    except ValueError:
        raise UsageError(f'{flag} "{value}" not in time format') from None


def _set_value(opts: Options, flag: str, value: str) -> None:
    if flag == "-v":
        if value in ADVERBS:
            return
        if value not in FORMATS:
            raise UsageError(f'Invalid parameter "{value}" to -v.')
        opts.fmt = value
    elif flag == "-b":
        for name in value.split(","):
            if name == "all" or name == "default":
                opts.buffers.extend(b for b in (BUFFERS if name == "all" else DEFAULT_BUFFERS) if b not in opts.buffers)
            elif name in BUFFERS:
                if name not in opts.buffers:
                    opts.buffers.append(name)
            elif name in ("radio", "events", "kernel", "security", "stats"):
                continue  # exists on a phone, empty here
            else:
                raise UsageError(f"Unknown buffer '{name}' listed for -b.")
    elif flag in ("-t", "-T"):
        if any(c in value for c in ": .") and not value.isdigit():
            opts.since = _since(flag, value)
        else:
            opts.tail = _count(flag, value)
        opts.dump = opts.dump or flag == "-t"
        opts.follow_tail = flag == "-T"
    elif flag == "-m":
        opts.max_count = _count(flag, value)
    elif flag == "--pid":
        opts.pid = _count(flag, value)
    # -e REGEX is accepted and ignored


def _filterspec(opts: Options, spec: str) -> None:
    tag, _, level = spec.rpartition(":") if ":" in spec else (spec, "", "V")
    level = level.upper() or "V"
    if level not in LEVELS:
        raise UsageError(f"Invalid filter expression '{spec}'")
    if tag == "*":
        opts.default_level = level
    else:
        opts.filters[tag] = level


def parse(args: list[str]) -> Options:
    opts = Options()
    it = iter(args)
    for arg in it:
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name in ("--dump",):
                opts.dump = True
            elif name in ("--clear",):
                opts.clear = True
            elif name in ("--dividers",):
                opts.dividers = True
            elif name in LONG or name == "--pid":
                flag = LONG.get(name, name)
                _set_value(opts, flag, value if eq else next(it, ""))
            else:
                raise UsageError(f"unrecognized option '{arg}'")
            continue
        if not arg.startswith("-") or arg == "-":
            _filterspec(opts, arg)
            continue
        i = 1
        while i < len(arg):
            c = arg[i]
            flag = "-" + c
            if flag in WITH_VALUE:
                value = arg[i + 1 :] or next(it, None)
                if value is None:
                    raise UsageError(f"option requires an argument -- '{c}'")
                _set_value(opts, flag, value)
                break
            if c == "d":
                opts.dump = True
            elif c == "c":
                opts.clear = True
            elif c == "g":
                opts.sizes = True
            elif c == "s":
                opts.default_level = "S"
            elif c == "D":
                opts.dividers = True
            elif c in "Bq":
                pass
            else:
                raise UsageError(f"invalid option -- '{c}'")
            i += 1
    return opts


class Printer:
    """Formats entries with the `--------- beginning of BUFFER` lines logcat prints."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.started: set[str] = set()
        self.last: str | None = None
        self.count = 0

    def done(self) -> bool:
        return self.opts.max_count is not None and self.count >= self.opts.max_count

    def render(self, entries: list[LogEntry]) -> str:
        out: list[str] = []
        selected = self.opts.selected()
        for entry in entries:
            if self.done():
                break
            buffer = next(b for b in BUFFERS if b in entry.buffers and b in selected)
            if buffer not in self.started:
                self.started.add(buffer)
                out.append(f"--------- beginning of {buffer}\n")
            elif self.opts.dividers and buffer != self.last:
                out.append(f"--------- switch to {buffer}\n")
            self.last = buffer
            out.append(entry.format(self.opts.fmt))
            self.count += 1
        return "".join(out)


@async_command("logcat")
async def cmd_logcat(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    # adb logcat runs `export ANDROID_LOG_TAGS="..."; exec logcat ARGS`: the tags are default filterspecs.
    tags = [t for t in s.env.get("ANDROID_LOG_TAGS", "").replace("'", " ").replace('"', " ").split() if t]
    try:
        opts = parse([*tags, *args])
    except UsageError as exc:
        ctx.err(f"logcat: {exc}\nUsage: logcat [options] [filterspecs]\n")
        return 1
    log = device_log(s.device)
    if opts.clear:
        log.clear(opts.selected())
        return 0
    if opts.sizes:
        for name in opts.selected():
            used, size = log.usage(name)
            ctx.out(
                f"{name}: ring buffer is {size // 1024} KiB ({used // 1024} KiB consumed), "
                "max entry is 5120 B, max payload is 4068 B\n"
            )
        return 0
    printer = Printer(opts)
    entries = [e for e in log.entries(opts.selected()) if opts.wants(e)]
    if opts.since is not None:
        entries = [e for e in entries if e.when >= opts.since]
    if opts.tail is not None:
        entries = entries[-opts.tail :]
    last = log.last_seq if not entries else max(log.last_seq, entries[-1].seq)
    ctx.out(printer.render(entries))
    if opts.dump or printer.done():
        return 0
    # Streaming: new entries as they are written, until the client goes away (or -m is reached).
    while not s.closed() and not printer.done():
        await ctx.flush()
        await asyncio.sleep(POLL_SECONDS)
        if log.last_seq == last:
            continue
        new = [e for e in log.entries(opts.selected(), after=last) if opts.wants(e)]
        last = log.last_seq
        ctx.out(printer.render(new))
    return 0
