"""Write-then-verify-then-rename, so a final path only ever holds a complete, checked file."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


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
