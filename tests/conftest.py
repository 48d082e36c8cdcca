"""Shared fixtures. The virtual-device fixtures (private adb server + devices) come from the
virtual_device pytest plugin, so tests never touch a user's adb server on 5037."""

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.registry import Registry, load_registry

pytest_plugins = ["virtual_device.pytest_plugin"]


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


@pytest.fixture(scope="session")
def model_file(registry: Registry) -> Callable[[str], Path]:
    """Path of a model ID's file, built or quantized (cached) on first use: real weights."""
    from harness.model_store import ensure_model_file

    def get(model_id: str) -> Path:
        return ensure_model_file(registry.get(model_id), registry, progress=lambda _m: None)

    return get
