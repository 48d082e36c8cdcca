"""The default service table, without a device: which OPEN names get which service."""

from __future__ import annotations

import pytest

from virtual_device.context import ServiceTable
from virtual_device.services import DEFAULT_SERVICES
from virtual_device.services.shell_service import exec_service, shell_service
from virtual_device.services.sync import sync_service


@pytest.mark.parametrize(
    ("name", "handler"),
    [
        ("shell:", shell_service),
        ("shell:echo hi", shell_service),
        ("shell,v2,raw:ls", shell_service),
        ("exec:cat /sdcard/f", exec_service),
        ("sync:", sync_service),
    ],
)
def test_default_services(name: str, handler: object) -> None:
    assert DEFAULT_SERVICES.lookup(name) is handler


@pytest.mark.parametrize("name", ["sync:extra", "shell", "shellx:", "framebuffer:", "jdwp:1", ""])
def test_unknown_services_are_refused(name: str) -> None:
    assert DEFAULT_SERVICES.lookup(name) is None


def test_exact_name_wins_over_prefix() -> None:
    async def exact(device: object, stream: object) -> None: ...

    async def prefix(device: object, stream: object) -> None: ...

    table = ServiceTable(exact={"sync:": exact}, prefixes={"sync": prefix})
    assert table.lookup("sync:") is exact
    assert table.lookup("sync:x") is prefix
