"""ls, mkdir, touch, rm, rmdir, mv, cp, stat, df over the sandboxed storage."""

from __future__ import annotations

import errno
import os
import posixpath
import stat as statmod
import time
from pathlib import Path

from virtual_device.apps.runlog import app_uid
from virtual_device.shell.interpreter import Ctx, ShellSession
from virtual_device.shell.registry import command, path_error, split_flags
from virtual_device.storage import DeviceOSError


def _mode_string(mode: int) -> str:
    return statmod.filemode(mode)


def owner(device_path: str) -> tuple[int, str, int, str]:
    """(uid, user, gid, group) of a device path, one answer for ls -l and stat: app data belongs
    to the app, /data/local/tmp to shell, external storage to root:sdcard_rw (sdcardfs), the
    read-only tree to root."""
    parts = device_path.strip("/").split("/")
    app_dir = parts[2:3] if parts[:2] == ["data", "data"] else parts[3:4] if parts[:3] == ["data", "user", "0"] else []
    if app_dir:
        uid = app_uid(app_dir[0])
        return uid, f"u0_a{uid - 10_000}", uid, f"u0_a{uid - 10_000}"
    if device_path.startswith("/data/local/tmp"):
        return 2000, "shell", 2000, "shell"
    if parts[0] in ("sdcard", "storage") or device_path.startswith("/mnt/sdcard"):
        return 0, "root", 1015, "sdcard_rw"
    return 0, "root", 0, "root"


def _ls_line(name: str, st: os.stat_result, device_path: str) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(st.st_mtime))
    _, user, _, group = owner(device_path)
    return f"{_mode_string(st.st_mode)} {st.st_nlink} {user} {group} {st.st_size} {when} {name}"


@command("ls")
def cmd_ls(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    flags, paths = split_flags(args, "laA1dRhsnt")
    if not paths:
        paths = [s.cwd]
    status = 0
    multi = len(paths) > 1 or "R" in flags
    idx = -1
    while idx + 1 < len(paths):
        idx += 1
        path = paths[idx]
        entries: list[tuple[str, Path | None]]
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
            status = path_error(ctx, "ls", exc, path)
            continue
        if is_dir:
            if "a" not in flags:
                entries = [e for e in entries if not e[0].startswith(".")]
            if "a" in flags and "A" not in flags:
                entries = [(".", res.host), ("..", res.host.parent if res.host else None), *entries]
        entries.sort(key=lambda e: e[0])
        if multi and is_dir:
            ctx.out(("\n" if idx else "") + f"{path}:\n")
        if "R" in flags and is_dir:
            # -R: each subdirectory (not through symlinks) is listed next, depth first.
            paths[idx + 1 : idx + 1] = [
                posixpath.join(path, name)
                for name, host in entries
                if name not in (".", "..") and (host is None or (host.is_dir() and not host.is_symlink()))
            ]
        for name, host in entries:
            if "l" in flags:
                st = (
                    host.lstat()
                    if host is not None
                    else os.stat_result((statmod.S_IFDIR | 0o755, 1, 1, 2, 0, 0, 4096, 0, 0, 0))
                )
                where = posixpath.join(res.device, name) if is_dir and name not in (".", "..") else res.device
                ctx.out(_ls_line(name, st, where) + "\n")
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
            status = path_error(ctx, "mkdir", OSError(errno.EEXIST, os.strerror(errno.EEXIST)), path)
        except OSError as exc:
            status = path_error(ctx, "mkdir", exc, path)
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
            status = path_error(ctx, "touch", exc, path)
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
            status = path_error(ctx, "rm", exc, path)
    return status


@command("rmdir")
def cmd_rmdir(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    status = 0
    for path in args:
        try:
            s.storage.writable(path, s.cwd).rmdir()
        except OSError as exc:
            status = path_error(ctx, "rmdir", exc, path)
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
            status = path_error(ctx, "mv", exc, src)
    return status


@command("cp", blocking=True)
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
            status = path_error(ctx, "cp", exc, src)
    return status


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


def _stat_format(fmt: str, name: str, st: os.stat_result, device_path: str) -> str:
    def human(t: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1e9):09d} +0000"

    uid, user, gid, group = owner(device_path)
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
        "u": str(uid),
        "U": user,
        "g": str(gid),
        "G": group,
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
            ctx.out(_stat_format(fmt, path, st, res.device) + "\n")
        else:
            ctx.out(
                _stat_format(
                    "  File: %N\n  Size: %s\t Blocks: %b\t IO Blocks: 4096\t%F\n"
                    "Device: fd05h/64773d\t Inode: %i\t Links: %h\n"
                    "Access: (%a/%A)\tUid: (%u/%U)\tGid: (%g/%G)\n"
                    "Access: %x\nModify: %y\nChange: %z",
                    path,
                    st,
                    res.device,
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
        selected: list[tuple[str, int, int, str]] = []
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
