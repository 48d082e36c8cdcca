"""Sandboxed device filesystem: maps the few writable Android roots onto one host directory
and refuses everything else, so no device path can reach the rest of the host."""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

# Device prefix -> sandbox sub-directory. Aliases of the primary external storage share one dir.
ROOTS: tuple[tuple[str, str], ...] = (
    ("/storage/emulated/0", "sdcard"),
    ("/storage/self/primary", "sdcard"),
    ("/sdcard", "sdcard"),
    ("/mnt/sdcard", "sdcard"),
    ("/data/local/tmp", "data/local/tmp"),
    ("/data/data", "data/data"),
    ("/data/user/0", "data/data"),
)

# Directories a shell can see but not write, so `ls /` or `stat /data` look plausible.
VIRTUAL_DIRS = frozenset(
    {
        "/",
        "/data",
        "/data/local",
        "/data/user",
        "/storage",
        "/storage/emulated",
        "/storage/self",
        "/system",
        "/system/bin",
        "/vendor",
        "/mnt",
        "/proc",
        "/dev",
        "/sys",
    }
)

MAX_PATH = 4096
MAX_NAME = 255


class DeviceOSError(OSError):
    """An error carrying the device path, formatted the way toybox prints it."""

    def __init__(self, err: int, path: str) -> None:
        super().__init__(err, os.strerror(err), path)
        self.device_path = path

    def __str__(self) -> str:
        return f"{self.device_path}: {self.strerror}"


@dataclass
class Resolved:
    device: str  # normalised device path
    host: Path | None  # None for read-only virtual directories
    root_host: Path | None


class Storage:
    """One device's filesystem. Thread-safe enough for the loop plus instrumentation threads."""

    def __init__(self, root: Path, capacity_bytes: int, packages: Iterable[str]) -> None:
        self.root = root.resolve()
        self.capacity_bytes = capacity_bytes
        self._lock = threading.Lock()
        self._reserved = 0  # bytes being written by in-flight pushes, not yet in the tree
        # The "fill storage" fault hooks in here; asked once per write operation.
        self.full_check: Callable[[], bool] = lambda: False
        for _, sub in ROOTS:
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for pkg in packages:
            self.ensure_package_dirs(pkg)

    def ensure_package_dirs(self, pkg: str) -> None:
        (self.root / "sdcard" / "Android" / "data" / pkg / "files").mkdir(parents=True, exist_ok=True)
        (self.root / "data" / "data" / pkg / "files").mkdir(parents=True, exist_ok=True)

    # --- path mapping -------------------------------------------------------------------
    @staticmethod
    def normalize(path: str, cwd: str = "/") -> str:
        if "\0" in path:
            raise DeviceOSError(errno.ENOENT, path)
        if len(path) > MAX_PATH or any(len(p) > MAX_NAME for p in path.split("/")):
            raise DeviceOSError(errno.ENAMETOOLONG, path)
        full = path if path.startswith("/") else posixpath.join(cwd, path)
        norm = posixpath.normpath(full)
        # normpath keeps a leading "//"; the device has no such thing.
        return "/" + norm.lstrip("/")

    def resolve(self, path: str, cwd: str = "/") -> Resolved:
        dev = self.normalize(path, cwd)
        for prefix, sub in ROOTS:
            if dev == prefix or dev.startswith(prefix + "/"):
                rest = dev[len(prefix) :].lstrip("/")
                root_host = self.root / sub
                host = root_host / rest if rest else root_host
                self._check_inside(host, root_host, path)
                return Resolved(dev, host, root_host)
        return Resolved(dev, None, None)

    @staticmethod
    def _check_inside(host: Path, root_host: Path, path: str) -> None:
        # Symlinks planted in the sandbox must not lead out of it.
        real = Path(os.path.realpath(host))
        real_root = Path(os.path.realpath(root_host))
        if real != real_root and real_root not in real.parents:
            raise DeviceOSError(errno.EACCES, path)

    def host_path(self, path: str, cwd: str = "/") -> Path:
        """Device path -> host path inside the sandbox; raises for anything unmapped."""
        res = self.resolve(path, cwd)
        if res.host is None:
            raise DeviceOSError(errno.EACCES, path)
        return res.host

    def writable(self, path: str, cwd: str = "/") -> Path:
        res = self.resolve(path, cwd)
        if res.host is None:
            if res.device in VIRTUAL_DIRS or res.device.startswith(("/system/", "/vendor/", "/proc/")):
                raise DeviceOSError(errno.EROFS if res.device.startswith("/system") else errno.EACCES, path)
            raise DeviceOSError(errno.EACCES, path)
        return res.host

    def readable(self, path: str, cwd: str = "/") -> Resolved:
        """Resolve for reading; unmapped non-virtual paths do not exist."""
        res = self.resolve(path, cwd)
        if res.host is None and res.device not in VIRTUAL_DIRS:
            # /data is not listable by the shell user; elsewhere the file simply is not there.
            if res.device.startswith("/data/"):
                raise DeviceOSError(errno.EACCES, path)
            raise DeviceOSError(errno.ENOENT, path)
        return res

    def virtual_children(self, device_dir: str) -> list[str]:
        names: set[str] = set()
        for d in [*VIRTUAL_DIRS, *(p for p, _ in ROOTS)]:
            if d != device_dir and posixpath.dirname(d) == device_dir:
                names.add(posixpath.basename(d))
        if device_dir == "/":
            names.add("sdcard")
        return sorted(names)

    # --- capacity -----------------------------------------------------------------------
    def used_bytes(self) -> int:
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(dirpath, name)).st_size
        return total

    def free_bytes(self) -> int:
        return max(0, self.capacity_bytes - self.used_bytes() - self._reserved)

    def reservation(self) -> Reservation:
        return Reservation(self)

    def copy_file(self, src: Path, dst: Path) -> None:
        size = src.stat().st_size
        with self.reservation() as res:
            res.grow(size, str(dst))
            tmp = dst.with_name(f".{dst.name}.vdtmp")
            try:
                shutil.copyfile(src, tmp)
                os.replace(tmp, dst)
            finally:
                tmp.unlink(missing_ok=True)


class Reservation:
    """Capacity accounting for one in-flight write: checks the budget before bytes land."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.size = 0
        self._budget = 0

    def __enter__(self) -> Reservation:
        # One tree walk per transfer, not per chunk: host-side edits between transfers count.
        self._budget = 0 if self.storage.full_check() else self.storage.free_bytes()
        return self

    def grow(self, n: int, path: str) -> None:
        if self.size + n > self._budget:
            raise DeviceOSError(errno.ENOSPC, path)
        with self.storage._lock:
            self.storage._reserved += n
        self.size += n

    def __exit__(self, *exc: object) -> None:
        with self.storage._lock:
            self.storage._reserved -= self.size
