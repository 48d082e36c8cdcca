"""Write-then-verify-then-rename, so a final path only ever holds a complete, checked file."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from harness.errors import InputError


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_output(final: Path, verify: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `final`; after the block succeeds and `verify` accepts the
    file, rename it into place. On any failure the temporary file is removed and `final` is
    left as it was."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if verify is not None:
            verify(tmp)
        # mkstemp creates 0600; the final file gets the mode a plain open() would have given it.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


# The names atomic_output gives its temporary files: "." + final name + "." + mkstemp's eight
# random characters + ".partial".
_PARTIAL_NAME = re.compile(r"\.(?P<final>.+)\.[a-z0-9_]{8}\.partial")


def sweep_stale_partials(
    directory: Path, older_than_seconds: float = 3600.0, *, only_for: Collection[str] | None = None
) -> list[Path]:
    """Remove the temporary files a killed run left in `directory` (a kill skips atomic_output's
    clean-up). Only regular files named as atomic_output names them, only when last modified more
    than `older_than_seconds` ago, so a concurrent run's live temporary file survives; with
    `only_for`, only those of these final file names. Not recursive. Returns what was removed;
    a missing directory has nothing to remove, and a file that cannot be removed is left."""
    if older_than_seconds < 0:
        raise ValueError(f"older_than_seconds must be >= 0, not {older_than_seconds}")
    cutoff = time.time() - older_than_seconds
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    for entry in entries:
        match = _PARTIAL_NAME.fullmatch(entry.name)
        if match is None or (only_for is not None and match["final"] not in only_for):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or info.st_mtime > cutoff:
                continue
            os.unlink(entry.path)
        except OSError:  # gone meanwhile (another run swept it) or not ours to remove
            continue
        removed.append(Path(entry.path))
    return sorted(removed)


# File systems that are views of the kernel or of devices, not places to keep files.
SPECIAL_FILESYSTEMS = frozenset(
    {
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "cgroup",
        "cgroup2",
        "debugfs",
        "tracefs",
        "securityfs",
        "pstore",
        "bpf",
        "configfs",
        "fusectl",
        "mqueue",
        "hugetlbfs",
        "binfmt_misc",
        "efivarfs",
        "selinuxfs",
        "autofs",
        "nsfs",
        "rpc_pipefs",
    }
)
SPECIAL_PREFIXES = ("/proc", "/sys", "/dev")  # when /proc/self/mountinfo cannot say
MIN_FREE_BYTES = 1 << 20  # the default floor: a sign-off's four report files take a few hundred KB


def check_output_file(path: Path, label: str, *, min_free_bytes: int = MIN_FREE_BYTES) -> Path:
    """Fail before any work, with one InputError line `<label> <path>: <reason>`, when
    atomic_output could not put a file at `path`: it is a directory or not a regular file (a
    device, a pipe), or the folder it goes in (or its nearest existing ancestor, since
    atomic_output creates missing parents) cannot take it; see check_output_dir. Creates nothing.
    Returns `path`."""
    path = Path(path)
    where = f"{label} {path}"
    if path.is_dir():
        raise InputError(f"{where}: is a directory; give a file name")
    if path.exists() and not path.is_file():
        raise InputError(f"{where}: exists and is not a regular file")
    _check_can_create_in(Path(os.path.abspath(path)).parent, where, path.name, min_free_bytes)
    return path


def check_output_dir(path: Path, label: str, *, min_free_bytes: int = MIN_FREE_BYTES) -> Path:
    """Fail before any work, with one InputError line `<label> <path>: <reason>`, when files
    cannot be written into the folder `path` (or, when it is missing, into its nearest existing
    ancestor, where atomic_output would create it): it or an ancestor is not a directory; no file
    can be created in that folder (`cannot create files in <folder>: <why>`: a kernel file system
    such as /proc or /sys, a read-only one, or the operating system's reason and errno, e.g. no
    permission); or its file system has less than `min_free_bytes` free (0: not checked).
    Creates nothing: an empty temporary file, named as atomic_output names its own, is created and
    removed. Returns `path`."""
    path = Path(path)
    where = f"{label} {path}"
    if os.path.lexists(path) and not path.is_dir():
        raise InputError(f"{where}: exists and is not a directory")
    _check_can_create_in(Path(os.path.abspath(path)), where, "probe", min_free_bytes)
    return path


def _check_can_create_in(folder: Path, where: str, probe_name: str, min_free_bytes: int) -> None:
    existing = folder
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{where}: cannot be created: {existing} is not a directory")
    cannot = f"{where}: cannot create files in {existing}"
    fstype = _filesystem_type(existing)
    if fstype in SPECIAL_FILESYSTEMS or (fstype is None and _under_special_prefix(existing)):
        raise InputError(f"{cannot}: on a {fstype or 'special'} file system, which cannot hold files")
    try:
        stats = os.statvfs(existing)
        if stats.f_flag & os.ST_RDONLY:
            raise InputError(f"{cannot}: on a read-only file system")
        fd, probe = tempfile.mkstemp(prefix=f".{probe_name}.", suffix=".partial", dir=existing)
    except OSError as err:
        raise InputError(f"{cannot}: {os_reason(err)}") from None
    os.close(fd)
    os.unlink(probe)
    free = stats.f_bavail * stats.f_frsize
    if free < min_free_bytes:
        raise InputError(
            f"{where}: only {_kilobytes(free)} free on its file system, at least {_kilobytes(min_free_bytes)} needed"
        )


def os_reason(err: OSError) -> str:
    """The operating system's words for `err` ("No space left on device (errno 28)"), without the
    file name it carries (often a temporary file's)."""
    reason = err.strerror or str(err) or type(err).__name__
    return f"{reason} (errno {err.errno})" if err.errno else reason


def _kilobytes(size: int) -> str:
    return f"{size // 1024} KB" if size >= 1024 else f"{size} bytes"


def _filesystem_type(path: Path) -> str | None:
    """The type of the file system holding `path`, from /proc/self/mountinfo; None off Linux."""
    try:
        target = os.path.realpath(path)
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    best, fstype = "", None
    for line in lines:
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not rest:
            continue
        mount = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[4])  # \040 is a space
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, fstype = mount, rest.split()[0]
    return fstype


def _under_special_prefix(path: Path) -> bool:
    target = os.path.realpath(path)
    return any(target == p or target.startswith(p + "/") for p in SPECIAL_PREFIXES)


def write_text_atomic(final: Path, text: str) -> None:
    with atomic_output(final) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(final: Path, data: Any) -> None:
    write_text_atomic(final, dumps_json(data))


def dumps_json(data: Any) -> str:
    """The one way the harness writes JSON: strict (no NaN or Infinity, which are not JSON and make
    CI tools reject the whole file), through `json_safe`, indented, ending in a newline."""
    return json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n"


def json_safe(value: Any) -> Any:
    """`value` as plain JSON data. A NaN or infinite float becomes None (null: not measured);
    numpy scalars and arrays become Python numbers and lists; a Path becomes its string; a tuple a
    list; a dict key that is not a string its str(). Any other type is a TypeError: writing its
    repr would hide the bug."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    import numpy as np

    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        return json_safe(value.item())
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def sha256_file(path: Path) -> str:
    """sha256 of a file, remembered per (path, inode, size, mtime): a deploy-test run asks for the
    same model's hash several times, and files are only ever replaced by rename (a new inode)."""
    info = os.stat(path)
    return _sha256_of(str(path), info.st_ino, info.st_size, info.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256_of(path: str, _inode: int, _size: int, _mtime_ns: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
