"""The layout's rules, checked on the source: no import cycles between modules or packages, the
device side and the virtual phone import nothing from the harness, and modules stay small.
Imports inside functions and under TYPE_CHECKING count: a late import hides a cycle, it does not
remove it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "virtual_device", "ava_reference")
MAX_LINES = 450
# Modules allowed over MAX_LINES, with the reason (README "Architecture" repeats it).
LONG_MODULES: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(module: str, path: Path) -> Iterator[str]:
    """Every project module `module` imports, at any depth of its code."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            names = [origin] + [f"{origin}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                yield name


GRAPH = {module: set(_imported(module, path)) for module, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package_of(module: str) -> str:
    """harness.signoff.plan -> harness.signoff; harness.errors -> harness.errors (a module of its own)."""
    parts = module.split(".")
    if len(parts) >= 2 and f"{parts[0]}.{parts[1]}" in MODULES and (ROOT / parts[0] / parts[1]).is_dir():
        return f"{parts[0]}.{parts[1]}"
    return module


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_late_and_relative_imports():
    assert "harness.errors" in GRAPH["harness.signoff.pipeline"]
    assert len(MODULES) > 40


def test_no_import_cycles_between_modules():
    assert _cycles(GRAPH) == []


def test_no_import_cycles_between_packages():
    packages: dict[str, set[str]] = {}
    for module, imported in GRAPH.items():
        source = _package_of(module)
        packages.setdefault(source, set()).update(p for p in map(_package_of, imported) if p != source)
    assert _cycles(packages) == []


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("ava_reference", ("harness", "device_tests")),  # the device side knows only the contract
        ("virtual_device", ("harness", "ava_reference", "device_tests")),  # a phone meets the harness via adb
        ("harness", ("device_tests", "tests")),  # the product never depends on its test suites
    ],
)
def test_layers_import_only_downwards(package, forbidden):
    offending = sorted(
        f"{module} -> {name}"
        for module, path in MODULES.items()
        if module.split(".")[0] == package
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""])
        if name.split(".")[0] in forbidden
    )
    assert offending == []


def test_modules_stay_small():
    long = {
        module: lines
        for module, path in MODULES.items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES and module not in LONG_MODULES
    }
    assert long == {}
