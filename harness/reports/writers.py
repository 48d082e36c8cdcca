"""Writes a sign-off run's four report files. Every writer reads only the SignoffRun (through
`sanitized`) and must cope with partial and hostile data, because a run that broke half-way is
exactly the run someone needs a report for.

- `check_output_dir(path)`: call before any device work; raises ReportWriteError (one line naming
  the path and the reason) when the directory cannot hold the reports.
- `write_reports(run, directory)`: each file rendered, verified and renamed into place on its own,
  so one that fails does not stop the others; returns `ReportFiles` (a mapping key -> path of the
  files written) or, when any file could not be written, raises ReportWriteError carrying the
  same `ReportFiles` (what was written and what failed, and why)."""

from __future__ import annotations

import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError
from harness.fileio import atomic_output, dumps_json
from harness.reports.formatting import terminal_text
from harness.reports.html_page import render_html
from harness.reports.json_report import signoff_document
from harness.reports.junit import render_junit
from harness.reports.manifest import build_signoff_manifest
from harness.reports.sanitize import sanitized
from harness.signoff.results import SignoffRun

REPORT_FILES = {
    "json": "signoff.json",
    "junit": "junit.xml",
    "html": "signoff.html",
    "manifest": "manifest.json",
}
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
MIN_FREE_BYTES = 1 << 20  # the four files of a large lab run take a few hundred KB


class ReportWriteError(HarnessError):
    """A report file or directory could not be written. `str(err)` is one line naming the path
    and the operating system's reason; `files` says what was written and what failed."""

    exit_code = 3

    def __init__(self, message: str, files: ReportFiles | None = None) -> None:
        super().__init__(terminal_text(message, 1000))
        self.files = files


@dataclass
class ReportFiles(Mapping[str, Path]):
    """The report files of one run: a mapping key (json, junit, html, manifest) -> path of each
    file written, plus `failed`: key -> one-line reason for each one that was not."""

    directory: Path
    written: dict[str, Path] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Path:
        return self.written[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.written)

    def __len__(self) -> int:
        return len(self.written)


def write_reports(run: SignoffRun, directory: Path) -> ReportFiles:
    """Write the four report files into `directory` (the caller's reports/<run-id>/) and return
    them (see ReportFiles). Each file is verified before it replaces an older one, so a crash
    leaves either the previous complete report or none. Never raises on the run's data; raises
    ReportWriteError when the directory is unusable (before writing anything) or after trying
    every file when any of them failed (`err.files` holds the ones that were written)."""
    directory = Path(directory)
    check_output_dir(directory)
    files = ReportFiles(directory)
    clean = sanitized(run)
    renderers: dict[str, tuple[Callable[[SignoffRun], str], Callable[[Path], None]]] = {
        "json": (lambda r: dumps_json(signoff_document(r)), _verify_json),
        "junit": (render_junit, _verify_junit),
        "html": (render_html, _verify_html),
        "manifest": (lambda r: dumps_json(build_signoff_manifest(r)), _verify_json),
    }
    for key, (render, verify) in renderers.items():
        path = directory / REPORT_FILES[key]
        try:
            text = render(clean)
        except Exception as err:  # a writer bug must not cost the other files
            files.failed[key] = f"{path.name}: not rendered ({type(err).__name__}: {err})"
            continue
        try:
            _write(path, text, verify)
        except OSError as err:
            files.failed[key] = f"{path.name}: {_os_reason(err)}"
        except Exception as err:  # the verification rejected the file: the old one stays
            files.failed[key] = f"{path.name}: not written ({type(err).__name__}: {err})"
        else:
            files.written[key] = path
    if files.failed:
        reasons = "; ".join(files.failed.values())
        raise ReportWriteError(
            f"could not write {len(files.failed)} of {len(renderers)} report files in {directory}: {reasons}", files
        )
    return files


def check_output_dir(path: Path) -> None:
    """Make sure `path` can hold the reports, creating it if needed: not a file, not under a file,
    not on a special (/proc, /sys, /dev) or read-only file system, writable, with at least
    MIN_FREE_BYTES free. Raises ReportWriteError naming the path and the reason; creates the
    directory and nothing else (a probe file is made and removed)."""
    path = Path(path)
    where = f"reports directory {path}"
    existing = path
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if os.path.lexists(existing) and not existing.is_dir():
        what = (
            "exists and is not a directory"
            if existing == path
            else f"cannot be created: {existing} exists and is not a directory"
        )
        raise ReportWriteError(f"{where} {what}")
    fstype = _filesystem_type(existing)
    if fstype in SPECIAL_FILESYSTEMS or (fstype is None and _under_special_prefix(existing)):
        raise ReportWriteError(f"{where} is on a {fstype or 'special'} file system, which cannot hold report files")
    try:
        if os.statvfs(existing).f_flag & os.ST_RDONLY:
            raise ReportWriteError(f"{where} is on a read-only file system")
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".ava-write-check-", dir=path)
        os.close(fd)
        os.unlink(probe)
        stats = os.statvfs(path)
    except OSError as err:
        raise ReportWriteError(f"{where}: {_os_reason(err)}") from None
    free = stats.f_bavail * stats.f_frsize
    if free < MIN_FREE_BYTES:
        raise ReportWriteError(f"{where}: only {free // 1024} KB free on its file system")


def _os_reason(err: OSError) -> str:
    # The operating system's words ("No space left on device"), without the temporary file's name.
    reason = err.strerror or str(err) or type(err).__name__
    return f"{reason} (errno {err.errno})" if err.errno else reason


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


def _write(final: Path, text: str, verify: Callable[[Path], None]) -> None:
    with atomic_output(final, verify=verify) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _verify_json(path: Path) -> None:
    json.loads(path.read_text(encoding="utf-8"))


def _verify_junit(path: Path) -> None:
    root = ET.parse(path).getroot()
    if root.tag != "testsuites":
        raise ValueError(f"root element is <{root.tag}>, not <testsuites>")


def _verify_html(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if not text.rstrip().endswith("</html>"):
        raise ValueError("HTML is incomplete")
