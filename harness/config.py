"""One configuration for the sign-off: `deploy-test`, `lab` and the pytest suite (device_tests/)
read the same file with the same keys.

Where it comes from, first found wins: `--config PATH`; else `ava-harness.toml` in the working
directory; else the `[tool.ava-harness]` table of `pyproject.toml` in the working directory; else
no file. Keys are the long option names without dashes in front (`min-parity-cosine = 0.9995`,
`models = ["AVA-ONX-384-BASE-INT8"]`, `device = ["virtual"]`). Top-level keys apply to every
sign-off; a `[deploy-test]` or `[lab]` table (`[tool.ava-harness.lab]` in pyproject.toml) holds
keys for that command only and wins over the top level. The command line wins over the file;
the file wins over the environment (ANDROID_SERIAL, ANDROID_ADB_SERVER_PORT, ADB).

A key the sign-off does not know, or a value of the wrong type, is one InputError naming the
file and the key."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InputError

CONFIG_FILE = "ava-harness.toml"
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = ("tool", "ava-harness")
COMMANDS = ("deploy-test", "lab")  # the per-command tables

# Every key, with the type of its value. The same names as the options of `deploy-test`/`lab`
# (tests/cli/test_config_cli.py holds them together).
KEYS: dict[str, type] = {
    "device": list,
    "models": list,
    "adb-server": list,
    "mode": str,
    "iterations": int,
    "warmup": int,
    "threads": int,
    "preset": str,
    "gate-profile": str,
    "min-parity-cosine": float,
    "latency-budget-ms": float,
    "gate-latency-on-emulators": bool,
    "reports-dir": str,
    "host-eval-limit": int,
    "app-package": str,
    "test-package": str,
    "runner": str,
    "reference": str,
    "device-ort-version": str,
    "baseline": str,
    "baseline-min-cosine": float,
    "baseline-max-sts-drop": float,
    "baseline-max-xquad-drop": float,
    "baseline-max-latency-ratio": float,
    "baseline-max-size-ratio": float,
}
_TYPE_NAMES = {
    list: "a list of strings",
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
}


@dataclass(frozen=True)
class Config:
    """A configuration file, read and checked: `path` is None when there was none."""

    path: Path | None = None
    shared: Mapping[str, Any] = field(default_factory=dict)
    commands: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def for_command(self, command: str | None) -> dict[str, Any]:
        """The keys for `command` (`deploy-test`, `lab`; None: the top level only), its table winning."""
        return {**self.shared, **(self.commands.get(command, {}) if command else {})}

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "no configuration file"


def find_config(explicit: Path | None = None, cwd: Path | None = None) -> tuple[Path, tuple[str, ...]] | None:
    """Which file holds the configuration and the table inside it: `explicit` (must exist), else
    ava-harness.toml, else a pyproject.toml with a [tool.ava-harness] table, in `cwd`."""
    if explicit is not None:
        if not explicit.is_file():
            raise InputError(f"--config {explicit}: no such file")
        return explicit, PYPROJECT_TABLE if explicit.name == PYPROJECT else ()
    here = cwd or Path.cwd()
    if (here / CONFIG_FILE).is_file():
        return here / CONFIG_FILE, ()
    pyproject = here / PYPROJECT
    if pyproject.is_file():
        data = _read_toml(pyproject)
        if isinstance(data.get("tool"), dict) and PYPROJECT_TABLE[1] in data["tool"]:
            return pyproject, PYPROJECT_TABLE
    return None


def load_config(explicit: Path | None = None, cwd: Path | None = None) -> Config:
    """The configuration in effect (see the module's docstring); an empty one without a file."""
    found = find_config(explicit, cwd)
    if found is None:
        return Config()
    path, table = found
    data: Any = _read_toml(path)
    for name in table:
        data = data.get(name) if isinstance(data, dict) else None
        if data is None:
            if explicit is not None:
                raise InputError(f"{path}: no [{'.'.join(table)}] table")
            return Config()
    if not isinstance(data, dict):
        raise InputError(f"{path}: [{'.'.join(table)}] must be a table")
    return parse_config(path, data, prefix=".".join(table))


def parse_config(path: Path, data: Mapping[str, Any], prefix: str = "") -> Config:
    """Check `data` (a TOML document's table) key by key: known names, values of the right type."""
    shared: dict[str, Any] = {}
    commands: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if key in COMMANDS:
            if not isinstance(value, dict):
                raise InputError(f"{path}: {_dotted(prefix, key)} must be a table ([{_dotted(prefix, key)}])")
            commands[key] = {k: check_value(path, _dotted(prefix, key, k), k, v) for k, v in value.items()}
        else:
            shared[key] = check_value(path, _dotted(prefix, key), key, value)
    return Config(path, shared, commands)


def check_value(path: Path, where: str, key: str, value: Any) -> Any:
    """`value` for `key`, checked against its type (an int is a fine float; a string is a list of
    one for the repeatable keys), or InputError naming the file and the key."""
    kind = KEYS.get(key)
    if kind is None:
        known = ", ".join(sorted(KEYS))
        raise InputError(f"{path}: unknown key {where!r} (known keys: {known}; tables: {', '.join(COMMANDS)})")
    if kind is list and isinstance(value, str):
        value = [value]
    ok = {
        list: isinstance(value, list) and all(isinstance(item, str) for item in value),
        str: isinstance(value, str),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        bool: isinstance(value, bool),
    }[kind]
    if not ok:
        raise InputError(f"{path}: {where} = {value!r}: expected {_TYPE_NAMES[kind]}")
    return float(value) if kind is float else value


def _dotted(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML ({err})") from None
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror or err})") from None
