"""find and chmod over the sandbox."""

from __future__ import annotations

import fnmatch
import os
import posixpath
import stat as statmod
from pathlib import Path

from virtual_device.shell.interpreter import Ctx, ShellSession
from virtual_device.shell.registry import command, path_error


def _find_tests(args: list[str]) -> tuple[list[str], list[tuple[str, str]], int | None, int]:
    """(start paths, [(test, value)], -maxdepth, -mindepth) of a find command line."""
    starts: list[str] = []
    tests: list[tuple[str, str]] = []
    maxdepth: int | None = None
    mindepth = 0
    it = iter(args)
    for a in it:
        if a in ("-name", "-iname", "-type", "-path", "-size", "-newer"):
            tests.append((a, next(it, "")))
        elif a == "-maxdepth":
            maxdepth = int(next(it, "0"))
        elif a == "-mindepth":
            mindepth = int(next(it, "0"))
        elif a in ("-print", "-L", "-H", "-P", "-xdev"):
            continue
        elif a.startswith("-"):
            raise ValueError(f"bad arg '{a}'")
        else:
            starts.append(a)
    return starts or ["."], tests, maxdepth, mindepth


def _matches(tests: list[tuple[str, str]], device_path: str, host: Path) -> bool:
    name = posixpath.basename(device_path) or device_path
    for test, value in tests:
        if test == "-name" and not fnmatch.fnmatchcase(name, value):
            return False
        if test == "-iname" and not fnmatch.fnmatchcase(name.lower(), value.lower()):
            return False
        if test == "-path" and not fnmatch.fnmatchcase(device_path, value):
            return False
        if test == "-type":
            kind = "l" if host.is_symlink() else "d" if host.is_dir() else "f" if host.is_file() else "?"
            if kind != value:
                return False
        if test == "-size":
            size = host.lstat().st_size
            unit = {"c": 1, "k": 1024, "M": 1024**2, "G": 1024**3}.get(value[-1:], 512)
            number = value.rstrip("ckMG")
            want = int(number.lstrip("+-")) * unit
            if (number[:1] == "+" and not size > want) or (number[:1] == "-" and not size < want):
                return False
            if number[:1] not in "+-" and not (want - unit < size <= want if unit > 1 else size == want):
                return False
    return True


@command("find", blocking=True)
def cmd_find(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    try:
        starts, tests, maxdepth, mindepth = _find_tests(args)
    except ValueError as exc:
        ctx.err(f"find: {exc}\n")
        return 1
    status = 0
    for start in starts:
        try:
            res = s.storage.readable(start, s.cwd)
            if res.host is None or not (res.host.exists() or res.host.is_symlink()):
                raise FileNotFoundError(2, "No such file or directory")
        except OSError as exc:
            status = path_error(ctx, "find", exc, start)
            continue
        stack: list[tuple[str, Path, int]] = [(start, res.host, 0)]
        while stack:
            shown, host, depth = stack.pop()
            if depth >= mindepth and _matches(tests, shown, host):
                ctx.out(shown + "\n")
            if host.is_dir() and not host.is_symlink() and (maxdepth is None or depth < maxdepth):
                children = sorted(os.scandir(host), key=lambda e: e.name, reverse=True)
                stack.extend((posixpath.join(shown, e.name), Path(e.path), depth + 1) for e in children)
    return status


def _new_mode(spec: str, mode: int) -> int:
    if spec and all(c in "01234567" for c in spec):
        return int(spec, 8)
    for clause in spec.split(","):
        who = ""
        while clause and clause[0] in "ugoa":
            who, clause = who + clause[0], clause[1:]
        if not clause or clause[0] not in "+-=":
            raise ValueError(spec)
        op, perms = clause[0], clause[1:]
        bits = {"r": 0o444, "w": 0o222, "x": 0o111}
        mask = 0
        for c in who or "a":
            mask |= {"u": 0o700, "g": 0o070, "o": 0o007, "a": 0o777}[c]
        value = sum(bits[p] for p in perms if p in bits) & mask
        if op == "+":
            mode |= value
        elif op == "-":
            mode &= ~value
        else:
            mode = (mode & ~mask) | value
    return mode


@command("chmod")
def cmd_chmod(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    recursive = "-R" in args
    rest = [a for a in args if a != "-R"]
    if len(rest) < 2:
        ctx.err("chmod: Needs 2 arguments\n")
        return 1
    spec, paths = rest[0], rest[1:]
    status = 0
    for path in paths:
        try:
            host = s.storage.writable(path, s.cwd)
            targets = [host]
            if recursive and host.is_dir():
                targets += [Path(root) / n for root, dirs, files in os.walk(host) for n in [*dirs, *files]]
            for target in targets:
                target.chmod(_new_mode(spec, statmod.S_IMODE(target.stat().st_mode)) & 0o7777)
        except ValueError:
            ctx.err(f"chmod: invalid mode '{spec}'\n")
            return 1
        except OSError as exc:
            status = path_error(ctx, "chmod", exc, path)
    return status
