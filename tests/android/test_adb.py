"""The harness's adb layer against virtual devices through the real adb server: quoting, exit
codes, path validation, verified transfers, devices behind several adb servers."""

from __future__ import annotations

import os

import pytest

from ava_reference.virtual_app import ava_device_config
from harness.android.adb import AdbServer, connect, validate_device_path
from harness.errors import DeviceError, InputError
from harness.signoff.pipeline import deploy_test
from virtual_device import adbtools
from virtual_device.host import DeviceHost
from virtual_device.testing.pytest_plugin import start_private_server

pytestmark = pytest.mark.e2e
FILES = "/sdcard/Android/data/com.augmentalis.ava/files"


@pytest.fixture
def device(virtual_devices, adb_server):
    handle = virtual_devices(1, config=ava_device_config())[0]
    return connect(handle.serial, [AdbServer("127.0.0.1", adb_server.port)]), handle


@pytest.mark.parametrize("value", ["a b", "x; rm -rf /sdcard", "$(id)", "it's", 'say "hi"', "tab\tnew\nline", "ünï ☕"])
def test_every_argument_arrives_intact(device, value):
    adb, _ = device
    assert adb.shell(["echo", value]).stdout == value + "\n"


def test_exit_codes_and_check(device):
    adb, _ = device
    assert adb.shell(["false"]).exit_code == 1
    assert adb.shell(["nosuchcommand"]).exit_code == 127
    with pytest.raises(DeviceError, match="exited 127") as err:
        adb.shell(["nosuchcommand"], check=True)
    assert err.value.command == "nosuchcommand" and err.value.exit_status == 127 and "not found" in err.value.output


@pytest.mark.parametrize(
    "path", ["relative/x", "/sdcard/../etc/passwd", "/sdcard/a;b", "/sdcard/$(x)", "/sdcard//x", ""]
)
def test_unsafe_device_paths_are_refused(path):
    with pytest.raises(InputError, match="not allowed"):
        validate_device_path(path)


def test_verified_push_skips_identical_bytes_and_pull_checks_them(device, tmp_path):
    adb, handle = device
    local = tmp_path / "model.bin"
    local.write_bytes(os.urandom(1_500_000))
    remote = f"{FILES}/models/model.bin"
    assert adb.push_verified(local, remote) is True
    assert adb.push_verified(local, remote) is False  # same sha256 on the device: nothing sent
    assert adb.pull_verified(remote, tmp_path / "back.bin").read_bytes() == local.read_bytes()
    local.write_bytes(os.urandom(1_500_000))  # same size, other content: pushed again
    assert adb.push_verified(local, remote) is True
    assert handle.host_path(remote).read_bytes() == local.read_bytes()
    assert [p.name for p in handle.host_path(f"{FILES}/models").iterdir()] == ["model.bin"]


def test_pull_of_a_missing_file_is_an_error_not_an_empty_file(device, tmp_path):
    adb, _ = device
    with pytest.raises(DeviceError, match="no such file"):
        adb.pull_verified(f"{FILES}/nothing.bin", tmp_path / "x.bin")
    assert not (tmp_path / "x.bin").exists()


def test_a_lab_across_two_adb_servers(virtual_devices, adb_server, deploy_options, tmp_path):
    (local,) = virtual_devices(1, config=ava_device_config())
    other = start_private_server()
    try:
        with DeviceHost() as host:
            remote = host.add_device(ava_device_config(), sandbox=tmp_path)
            adbtools.connect(other.adb_path, other.port, remote.serial)
            options = deploy_options("AVA-ONX-384-FAST-INT8")
            options.servers = [AdbServer("127.0.0.1", adb_server.port), AdbServer("127.0.0.1", other.port)]
            run = deploy_test([local.serial, remote.serial], options)
            assert [d.status for d in run.devices] == ["passed", "passed"]
            assert {d.server for d in run.devices} == {f"127.0.0.1:{adb_server.port}", f"127.0.0.1:{other.port}"}
    finally:
        other.stop()
