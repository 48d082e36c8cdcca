"""Which adb the project runs: one rule ($ADB, else the adbutils wheel's adb, else PATH), shared by
the tests' adb servers (virtual_device.adbtools.find_adb) and the harness (adb_binary)."""

from __future__ import annotations

import os
from pathlib import Path

import adbutils
import pytest

from harness.android.adb import adb_binary
from virtual_device import adbtools

WHEEL_ADB = str(Path(adbutils.__file__).parent / "binaries" / "adb")


@pytest.fixture
def old_adb_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An executable `adb` first on PATH, as Debian's /usr/bin/adb is once installed."""
    fake = tmp_path / "adb"
    fake.write_text("#!/bin/sh\necho 'Android Debug Bridge version 1.0.39'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("ADB", raising=False)
    return fake


def test_the_wheel_adb_wins_over_an_older_adb_on_path(old_adb_on_path: Path) -> None:
    assert Path(WHEEL_ADB).is_file()
    assert adbtools.find_adb() == WHEEL_ADB
    assert adb_binary() == WHEEL_ADB


def test_adb_env_wins_over_everything(old_adb_on_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADB", str(old_adb_on_path))
    assert adbtools.find_adb() == str(old_adb_on_path)
    assert adb_binary() == str(old_adb_on_path)
    assert adbtools.find_adb("/explicit/adb") == "/explicit/adb"  # a caller's explicit choice first


def test_path_is_the_last_resort(old_adb_on_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(adbutils, "__file__", str(tmp_path / "no-wheel" / "__init__.py"))
    assert adbtools.find_adb() == str(old_adb_on_path)
    assert adb_binary() == str(old_adb_on_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError):
        adbtools.find_adb()
