"""ava_reference is the device side: it meets the harness only through adb (request.json in,
result.json and .npy files out), so no module of it may import the harness, at any level."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ava_reference"
FORBIDDEN = "harness"


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file: module level, in functions, in try blocks, and
    the string given to importlib.import_module / __import__."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside ava_reference
                continue
            found.append((node.lineno, node.module or ""))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def _is_harness(module: str) -> bool:
    return module == FORBIDDEN or module.startswith(f"{FORBIDDEN}.")


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_there_are_sources() -> None:
    assert {p.name for p in SOURCES} >= {"runner.py", "virtual_app.py", "wordpiece.py", "ort_worker.py"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_ava_reference_imports_nothing_from_harness(path: Path) -> None:
    offending = [f"{path.relative_to(ROOT)}:{line}: {module}" for line, module in _imported_modules(path)]
    offending = [entry for entry in offending if _is_harness(entry.rsplit(": ", 1)[1])]
    assert not offending, "the device side imports the harness:\n" + "\n".join(offending)


def test_the_check_sees_function_level_and_dynamic_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import json\n"
        "from . import wordpiece\n"
        "def f():\n"
        "    from harness.reference.arm64 import DEFAULT_HOME\n"
        "    if True:\n"
        "        import harness.errors as errors\n"
        "    import importlib\n"
        "    importlib.import_module('harness.settings')\n"
        "class C:\n"
        "    def m(self):\n"
        "        from harness import settings\n"
        "        __import__('harness')\n"
        "from harnessy import x\n"
    )
    hits = [(line, module) for line, module in _imported_modules(sample) if _is_harness(module)]
    assert [line for line, _ in hits] == [4, 4, 6, 8, 11, 11, 12]
