"""Writes a sign-off run's four report files. Every writer reads only the SignoffRun (through
`sanitized`) and must cope with partial and hostile data, because a run that broke half-way is
exactly the run someone needs a report for.

- `write_reports(run, directory)`: first checks the directory with harness.fileio.check_output_dir
  (the CLI's own check before any device work is the same one); one that cannot hold the reports
  is a ReportWriteError naming the path and the reason, before anything is written. Then each
  file is rendered, verified and renamed into place on its own, so one that fails does not stop
  the others; returns `ReportFiles` (a mapping key -> path of the files written) or, when any file
  could not be written, raises ReportWriteError carrying the same `ReportFiles` (what was written
  and what failed, and why).
- Each device's artifacts (harness.signoff.artifacts: instrumentation.txt, logcat.txt,
  host-error.txt, profiles) are written first, under <directory>/<device_dir_name(serial)>/, each
  file atomically and on its own; the ones written are listed on the device (`artifacts`, paths
  relative to `directory`) for signoff.json and the page, a failed one is a note there and in
  `ReportFiles.failed`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError, InputError
from harness.fileio import atomic_output, check_output_dir, dumps_json, os_reason
from harness.reports.formatting import terminal_text
from harness.reports.html_page import render_html
from harness.reports.json_report import signoff_document
from harness.reports.junit import render_junit
from harness.reports.manifest import build_signoff_manifest
from harness.reports.sanitize import sanitized
from harness.signoff.artifacts import device_dir_name, unique_dir_names
from harness.signoff.results import DeviceRun, SignoffRun

REPORT_FILES = {
    "json": "signoff.json",
    "junit": "junit.xml",
    "html": "signoff.html",
    "manifest": "manifest.json",
}


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
    artifacts: dict[str, Path] = field(default_factory=dict)  # relative path -> path of each artifact written

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
    try:
        check_output_dir(directory, "reports directory")
    except InputError as err:  # found at write time: the run's verdict stands, so exit code 3, not 2
        raise ReportWriteError(str(err)) from None
    files = ReportFiles(directory)
    clean = sanitized(run)
    _write_artifacts(run, clean, directory, files)
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
            files.failed[key] = f"{path.name}: {os_reason(err)}"
        except Exception as err:  # the verification rejected the file: the old one stays
            files.failed[key] = f"{path.name}: not written ({type(err).__name__}: {err})"
        else:
            files.written[key] = path
    if files.failed:
        reasons = "; ".join(files.failed.values())
        total = len(renderers) + len(files.artifacts) + sum(k.startswith("artifact:") for k in files.failed)
        raise ReportWriteError(
            f"could not write {len(files.failed)} of {total} report files in {directory}: {reasons}", files
        )
    return files


def _write_artifacts(run: SignoffRun, clean: SignoffRun, directory: Path, files: ReportFiles) -> None:
    """Each device's artifact bytes (on the run as the pipeline made it: the sanitized copy does not
    carry them) to its directory; what was written or failed is recorded on `clean`'s device."""
    try:
        devices = list(run.devices)
        names = unique_dir_names([str(getattr(d, "serial", "device")) for d in devices])
    except Exception:  # a run too broken to list its devices has no artifacts to write
        return
    for device, target, name in zip(devices, clean.devices, names, strict=False):
        data = getattr(device, "artifact_data", None) if isinstance(device, DeviceRun) else None
        if not isinstance(data, dict):
            continue
        for file_name, content in list(data.items()):
            safe = device_dir_name(str(file_name))
            relative = f"{name}/{safe}"
            path = directory / name / safe
            try:
                with atomic_output(path) as tmp:
                    tmp.write_bytes(bytes(content))
            except OSError as err:
                reason = os_reason(err)
            except Exception as err:  # content that is not bytes: this file only
                reason = f"not written ({type(err).__name__})"
            else:
                target.artifacts[safe] = relative
                files.artifacts[relative] = path
                continue
            files.failed[f"artifact:{relative}"] = f"{relative}: {reason}"
            target.artifact_notes.append(f"{safe} could not be written: {reason}")


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
