"""Writes a sign-off run's four report files. Every writer reads only the SignoffRun and must cope
with partial data, because a run that broke half-way is exactly the run someone needs a report for."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from harness.fileio import atomic_output, dumps_json
from harness.reports.html_page import render_html
from harness.reports.json_report import signoff_document
from harness.reports.junit import render_junit
from harness.reports.manifest import build_signoff_manifest
from harness.signoff.results import SignoffRun

REPORT_FILES = {
    "json": "signoff.json",
    "junit": "junit.xml",
    "html": "signoff.html",
    "manifest": "manifest.json",
}


def write_reports(run: SignoffRun, directory: Path) -> dict[str, Path]:
    """Write the four report files into `directory` (the caller's reports/<run-id>/) and return
    their paths keyed json / junit / html / manifest. Each file is verified before it replaces an
    older one, so a crash leaves either the previous complete report or none."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {key: directory / name for key, name in REPORT_FILES.items()}

    _write(paths["json"], dumps_json(signoff_document(run)), _verify_json)
    _write(paths["junit"], render_junit(run), _verify_junit)
    _write(paths["html"], render_html(run), _verify_html)
    _write(paths["manifest"], dumps_json(build_signoff_manifest(run)), _verify_json)
    return paths


def _write(final: Path, text: str, verify: Callable[[Path], None]) -> None:
    with atomic_output(final, verify=verify) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _verify_json(path: Path) -> None:
    json.loads(path.read_text(encoding="utf-8"))


def _verify_junit(path: Path) -> None:
    root = ET.parse(path).getroot()
    if root.tag != "testsuites":
        raise ValueError(f"{path}: root element is <{root.tag}>, not <testsuites>")


def _verify_html(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if not text.rstrip().endswith("</html>"):
        raise ValueError(f"{path}: HTML is incomplete")
