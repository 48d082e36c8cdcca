"""A hostile device: applies the tamper_file and rewrite_status faults (faults.py) to what the app
wrote and to what `am instrument` prints. shell/commands/activity.py calls it as an
instrumentation finishes (files) and as it writes (status values)."""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from virtual_device.faults import RAW_KEY, REPEAT_KEY, Fault
from virtual_device.storage import ROOTS, DeviceOSError, Storage

log = logging.getLogger("virtual_device")

WILDCARDS = re.compile(r"[*?\[]")
_PLACEHOLDER = re.compile(r'"\\u0000vd(\d+)\\u0000"')
_REPEAT_CHUNK = 65536


# --- files ----------------------------------------------------------------------------------
def matching_files(storage: Storage, pattern: str) -> list[tuple[str, Path]]:
    """(device path, host path) of every regular file whose device path matches the glob."""
    if not pattern.startswith("/"):
        pattern = "*/" + pattern
    parts = pattern.split("/")
    static = next((i for i, part in enumerate(parts) if WILDCARDS.search(part)), len(parts))
    prefix = "/".join(parts[:static]) or "/"
    if static == len(parts):  # no wildcard: one file
        try:
            host = storage.host_path(pattern)
        except DeviceOSError:
            return []
        return [(pattern, host)] if host.is_file() else []
    try:
        bases = [(prefix, storage.host_path(prefix))]
    except DeviceOSError:
        # A glob above the writable roots (`*/out/x.json`): search every root under every alias.
        under = prefix.rstrip("/") + "/"
        bases = [(root, storage.host_path(root)) for root, _sub in ROOTS if root.startswith(under)]
    found: dict[Path, str] = {}
    for device_base, host_base in bases:
        for host in _walk_files(host_base):
            device = device_base.rstrip("/") + "/" + host.relative_to(host_base).as_posix()
            if host not in found and fnmatch.fnmatchcase(device, pattern):
                found[host] = device
    return sorted((device, host) for host, device in found.items())


def _walk_files(base: Path) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            path = Path(dirpath, name)
            if path.is_file() and not path.is_symlink() and ".vdtmp" not in name:
                yield path


def apply_tampers(faults: list[Fault], storage: Storage) -> list[str]:
    """Apply tamper_file faults; returns the device paths edited. A fault that cannot apply (a
    json_set on a file that is not JSON) is logged and skipped, like the others still apply."""
    touched: list[str] = []
    for fault in faults:
        for device, host in matching_files(storage, fault.target):
            try:
                _tamper(host, fault.edits)
            except (OSError, ValueError, TypeError, KeyError, IndexError) as err:
                log.warning("tamper_file %s: %s: %s", fault.target, device, err)
                continue
            log.info("tamper_file %s: edited %s", fault.target, device)
            touched.append(device)
    return touched


def _tamper(path: Path, edits: dict[str, Any]) -> None:
    if "json_set" in edits or "json_delete" in edits:
        doc = json.loads(path.read_bytes())
        for key, value in edits.get("json_set", {}).items():
            _set(doc, key, value)
        for key in edits.get("json_delete", []):
            _delete(doc, key)
        with _replacing(path) as out:
            write_json(doc, out)
    if "npy_fill" in edits:
        _fill_npy(path, float(edits["npy_fill"]))
    if "replace_b64" in edits:
        with _replacing(path) as out:
            out.write(base64.b64decode(edits["replace_b64"]))
    if "truncate" in edits:
        with open(path, "r+b") as handle:
            handle.truncate(min(int(edits["truncate"]), os.fstat(handle.fileno()).st_size))
    if edits.get("delete"):
        path.unlink()


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[IO[bytes]]:
    tmp = path.with_name(f".{path.name}.vdtmp")
    try:
        with open(tmp, "wb") as out:
            yield out
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _walk(doc: Any, key: str) -> tuple[Any, str | int]:
    """The container holding a dotted key's last part (dicts made on the way), and that part."""
    parts = key.split(".")
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    last = parts[-1]
    return node, (int(last) if isinstance(node, list) else last)


def _set(doc: Any, key: str, value: Any) -> None:
    node, last = _walk(doc, key)
    node[last] = value


def _delete(doc: Any, key: str) -> None:
    with contextlib.suppress(KeyError, IndexError):
        node, last = _walk(doc, key)
        del node[last]


def write_json(doc: Any, out: IO[bytes]) -> None:
    """json.dumps(doc, indent=1), except that json_raw values go out verbatim and json_repeat lists
    stream in chunks (10 million numbers never exist as one string)."""
    specials: list[dict[str, Any]] = []

    def mark(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {RAW_KEY} or set(value) == {REPEAT_KEY, "count"}:
                specials.append(value)
                return f"\0vd{len(specials) - 1}\0"
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(doc), indent=1)
    pieces = _PLACEHOLDER.split(text)
    out.write(pieces[0].encode())
    for index, after in zip(pieces[1::2], pieces[2::2], strict=True):
        special = specials[int(index)]
        if RAW_KEY in special:
            out.write(str(special[RAW_KEY]).encode())
        else:
            _write_repeat(out, json.dumps(special[REPEAT_KEY]), int(special["count"]))
        out.write(after.encode())


def _write_repeat(out: IO[bytes], item: str, count: int) -> None:
    out.write(b"[")
    chunk = (item + ", ").encode()
    left = count
    while left > 1:
        n = min(left - 1, _REPEAT_CHUNK)
        out.write(chunk * n)
        left -= n
    if count:
        out.write(item.encode())
    out.write(b"]")


def _fill_npy(path: Path, value: float) -> None:
    import numpy as np  # only a device that fills arrays needs numpy

    array = np.load(path, allow_pickle=False)
    if array.dtype.kind not in "fc" and not value.is_integer():
        raise ValueError(f"{value} does not fit a {array.dtype} array")
    order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
    filled = np.full(array.shape, value, dtype=array.dtype, order=order)
    with _replacing(path) as out:
        np.save(out, filled, allow_pickle=False)


# --- am instrument output -------------------------------------------------------------------
STATUS_PREFIXES = ("INSTRUMENTATION_STATUS: ", "INSTRUMENTATION_RESULT: ")
FINAL_PREFIXES = ("INSTRUMENTATION_RESULT: ", "INSTRUMENTATION_CODE: ")


def rewrite_output(text: str, rewrites: list[Fault]) -> str:
    """Apply rewrite_status faults to one write of am instrument output."""
    if not rewrites:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        for prefix in STATUS_PREFIXES:
            if not line.startswith(prefix):
                continue
            key, sep, value = line[len(prefix) :].partition("=")
            if not sep:
                continue
            for fault in rewrites:
                if key == fault.target and fnmatch.fnmatchcase(value, fault.match):
                    value = fault.edits["value"].replace("{value}", value)
            lines[i] = f"{prefix}{key}={value}"
    return "\n".join(lines)


def is_final(text: str) -> bool:
    """Whether this write holds the final result (INSTRUMENTATION_RESULT / _CODE)."""
    return any(line.startswith(FINAL_PREFIXES) for line in text.split("\n"))
