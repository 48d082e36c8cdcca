"""The harness's adb layer. Against virtual devices through the real adb server (e2e): quoting,
exit codes, verified transfers, devices behind several adb servers. Without a device: path
validation, how arguments are quoted into one command line, and which error type each adbutils
failure becomes (the type decides whether a transfer retries)."""

from __future__ import annotations

import os
import shlex
from types import SimpleNamespace

import pytest
from adbutils.errors import AdbError, AdbTimeout

from harness.android import transfer
from harness.android.adb import AdbServer, Device, ShellResult, connect, parse_getprop, validate_device_path
from harness.android.virtual import ava_device_config
from harness.errors import DeviceError, DeviceRefusedError, DeviceTimeoutError, InputError, TransportError
from harness.signoff.pipeline import deploy_test
from virtual_device import adbtools
from virtual_device.host import DeviceHost
from virtual_device.testing.pytest_plugin import start_private_server

FILES = "/sdcard/Android/data/com.augmentalis.ava/files"


@pytest.fixture
def device(virtual_devices, adb_server):
    handle = virtual_devices(1, config=ava_device_config())[0]
    return connect(handle.serial, [AdbServer("127.0.0.1", adb_server.port)]), handle


@pytest.mark.e2e
@pytest.mark.parametrize("value", ["a b", "x; rm -rf /sdcard", "$(id)", "it's", 'say "hi"', "tab\tnew\nline", "ünï ☕"])
def test_every_argument_arrives_intact(device, value):
    adb, _ = device
    assert adb.shell(["echo", value]).stdout == value + "\n"


@pytest.mark.e2e
def test_exit_codes_and_check(device):
    adb, _ = device
    assert adb.shell(["false"]).exit_code == 1
    assert adb.shell(["nosuchcommand"]).exit_code == 127
    with pytest.raises(DeviceError, match="exited 127") as err:
        adb.shell(["nosuchcommand"], check=True)
    assert err.value.command == "nosuchcommand" and err.value.exit_status == 127 and "not found" in err.value.output
    assert type(err.value) is DeviceError  # a command that ran and failed: final, not a transport fault


@pytest.mark.parametrize(
    "path", ["relative/x", "/sdcard/../etc/passwd", "/sdcard/a;b", "/sdcard/$(x)", "/sdcard//x", ""]
)
def test_unsafe_device_paths_are_refused(path):
    with pytest.raises(InputError, match="not allowed"):
        validate_device_path(path)


@pytest.mark.parametrize(
    "path", ["/sdcard/..", "/sdcard/./x", "/sdcard/a b", "/sdcard/ü", "/sdcard/a\nb", "/" + "a" * 1001, "/sdcard/*"]
)
def test_more_unsafe_device_paths_are_refused(path):
    with pytest.raises(InputError, match="not allowed"):
        validate_device_path(path)


@pytest.mark.parametrize(
    "path", [f"{FILES}/models/AVA-ONX-384-FAST-INT8.onnx", "/data/local/tmp/a+b-c_d.1", "/sdcard/a..b", "/x"]
)
def test_plain_absolute_device_paths_pass_unchanged(path):
    assert validate_device_path(path) == path


def offline_device(monkeypatch, adb_device: object) -> Device:
    """A Device whose adbutils device is a stand-in: nothing here may reach an adb server (a
    refused connection makes adbutils start one on 5037)."""
    device = Device("emulator-5554", AdbServer("127.0.0.1", 1), timeout=5)
    monkeypatch.setattr(device, "_device", adb_device)
    return device


class StubAdbDevice:
    """adbutils' AdbDevice, as far as shell and state go: each call returns or raises `outcome`."""

    def __init__(self, outcome: object) -> None:
        self.outcome = outcome

    def get_features(self) -> str:
        return "shell_v2,cmd"

    def _answer(self) -> object:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def shell2(self, command: str, **_: object) -> object:
        return self._answer()

    def get_state(self) -> object:
        return self._answer()


def test_shell_quotes_every_argument_into_one_command_line(monkeypatch):
    device = offline_device(monkeypatch, StubAdbDevice(AssertionError("not called")))
    lines: list[str] = []

    def shell_line(command: str, **_: object) -> ShellResult:
        lines.append(command)
        return ShellResult(command, 0, "", "")

    monkeypatch.setattr(device, "shell_line", shell_line)
    argv = ["echo", "a b", "x; rm -rf /sdcard", "$(id)", "it's", 'say "hi"', "tab\tnew\nline", "", 42]
    device.shell(argv)
    assert shlex.split(lines[0]) == [str(a) for a in argv]
    assert lines[0].startswith("echo 'a b' ")


@pytest.mark.parametrize(
    ("raised", "error", "message"),
    [
        (AdbTimeout("read timeout"), DeviceTimeoutError, "timed out after 5 s"),
        (AdbError("device 'emulator-5554' not found"), TransportError, "shell failed: device not found"),
        (AdbError("device offline"), TransportError, "shell failed: device offline"),
        (ConnectionResetError(104, "Connection reset by peer"), TransportError, "shell failed: .*reset by peer"),
    ],
)
def test_shell_failures_become_typed_retryable_errors(monkeypatch, raised, error, message):
    device = offline_device(monkeypatch, StubAdbDevice(raised))
    with pytest.raises(error, match=message) as err:
        device.shell(["sha256sum", "/sdcard/x"])
    assert err.value.command == "sha256sum /sdcard/x"
    assert transfer._retryable(err.value)


def answer(returncode: int, stdout: bytes = b"", stderr: bytes = b"") -> SimpleNamespace:
    """adbutils' shell2 result: with shell v2 the streams apart, `output` both."""
    return SimpleNamespace(returncode=returncode, stdout=stdout, stderr=stderr, output=stdout + stderr)


def test_a_command_that_ran_and_failed_keeps_stdout_and_stderr_apart(monkeypatch):
    reply = answer(1, b"moved 0 files\n", b"mv: /sdcard/f: Read-only file system\n")
    device = offline_device(monkeypatch, StubAdbDevice(reply))
    assert device.shell(["mv", "-f", "/sdcard/a", "/sdcard/f"]).exit_code == 1  # without check: a result
    with pytest.raises(DeviceRefusedError, match="exited 1: mv: /sdcard/f: Read-only file system") as err:
        device.shell(["mv", "-f", "/sdcard/a", "/sdcard/f"], check=True)
    assert err.value.reason == "read_only" and err.value.exit_status == 1
    assert (err.value.stdout, err.value.stderr) == ("moved 0 files\n", "mv: /sdcard/f: Read-only file system\n")
    assert err.value.command == "mv -f /sdcard/a /sdcard/f"
    assert not transfer._retryable(err.value)


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        (b"mkdir: /sdcard/Android/data/x: Permission denied\n", "permission_denied"),
        (b"cp: /sdcard/m.onnx: No space left on device", "no_space"),
        (b"touch: /data/x: Operation not permitted\r\n", "permission_denied"),
        (b"mv: /sdcard/x.partial-1: No such file or directory\n", "no_such_file"),
        (b"rm: /sdcard/q: Disk quota exceeded\n", "no_space"),
    ],
)
def test_a_refusal_is_classified_from_the_commands_own_stderr(monkeypatch, stderr, reason):
    device = offline_device(monkeypatch, StubAdbDevice(answer(1, b"", stderr)))
    with pytest.raises(DeviceRefusedError) as err:
        device.shell(["mkdir", "-p", "/sdcard/x"], check=True)
    assert err.value.reason == reason


@pytest.mark.parametrize(
    ("reply", "features"),
    [
        (answer(127, b"", b"sh: nosuchcommand: not found\n"), "shell_v2,cmd"),  # not a refusal
        (answer(1, b"Permission denied\n", b"grep: bad regex\n"), "shell_v2,cmd"),  # stdout is the file's text
        (answer(1, b"", b"error: Permission denied while doing x\n"), "shell_v2,cmd"),  # not the errno's form
        (answer(1, b"mv: /sdcard/f: Read-only file system\n"), "cmd"),  # shell v1: stderr unknown
    ],
)
def test_other_failures_stay_plain_device_errors(monkeypatch, reply, features):
    stub = StubAdbDevice(reply)
    stub.get_features = lambda: features  # type: ignore[method-assign]
    device = offline_device(monkeypatch, stub)
    with pytest.raises(DeviceError) as err:
        device.shell(["cmd"], check=True)
    assert type(err.value) is DeviceError
    assert not transfer._retryable(err.value)
    if features == "cmd":
        assert err.value.stderr is None and err.value.stdout == "mv: /sdcard/f: Read-only file system\n"


@pytest.mark.parametrize(
    ("text", "props"),
    [
        ("[ro.x]: [a]b]\n", {"ro.x": "a]b"}),
        ("[ro.x]: [a]: [b]\n", {"ro.x": "a]: [b"}),
        ("[ro.x]: []\n[ro.y]: [[v]]\n", {"ro.x": "", "ro.y": "[v]"}),
        ("[ro.product.cpu.abi]: [arm64-v8a]\r\n[ro.x]: [1]\r\n", {"ro.product.cpu.abi": "arm64-v8a", "ro.x": "1"}),
        ("noise\n[]: [x]\n[ro.x]: [unterminated\n[ro.y]: [2]", {"ro.y": "2"}),
        ("[ro.x]: [1]\n[ro.x]: [2]\n", {"ro.x": "2"}),
    ],
)
def test_getprop_values_may_hold_brackets(text, props):
    assert parse_getprop(text) == props


def test_getprop_goes_through_the_parser(monkeypatch):
    device = offline_device(monkeypatch, StubAdbDevice(answer(0, b"[ro.build.fingerprint]: [google/x:14/[AP1]/1]\n")))
    assert device.getprop() == {"ro.build.fingerprint": "google/x:14/[AP1]/1"}


@pytest.mark.parametrize("stdout", ["²\n", "٣٤\n", "１２\n", "12a\n", "", "9" * 20 + "\n"])
def test_file_size_reads_ascii_digits_only(monkeypatch, stdout):
    device = offline_device(monkeypatch, StubAdbDevice(answer(0, stdout.encode())))
    assert device.file_size("/sdcard/x") is None


def test_file_size_of_a_plain_number(monkeypatch):
    device = offline_device(monkeypatch, StubAdbDevice(answer(0, b"1500000\n")))
    assert device.file_size("/sdcard/x") == 1_500_000


def test_free_bytes_refuses_digits_of_other_scripts(monkeypatch):
    df = "Filesystem 1K-blocks Used Available Use% Mounted on\n/dev/fuse 100 50 ٥٠ 50% /sdcard\n"
    device = offline_device(monkeypatch, StubAdbDevice(answer(0, df.encode())))
    with pytest.raises(DeviceError, match="cannot read free space"):
        device.free_bytes("/sdcard")


@pytest.mark.parametrize(
    ("raised", "error"), [(AdbTimeout("timeout"), DeviceTimeoutError), (BrokenPipeError(32, "x"), TransportError)]
)
def test_state_failures_are_typed(monkeypatch, raised, error):
    device = offline_device(monkeypatch, StubAdbDevice(raised))
    with pytest.raises(error, match="cannot read state"):
        device.state()


@pytest.mark.e2e
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


@pytest.mark.e2e
def test_pull_of_a_missing_file_is_an_error_not_an_empty_file(device, tmp_path):
    adb, _ = device
    with pytest.raises(DeviceRefusedError, match="no such file"):
        adb.pull_verified(f"{FILES}/nothing.bin", tmp_path / "x.bin")
    assert not (tmp_path / "x.bin").exists()


@pytest.mark.e2e
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


def test_reconnect_waits_until_the_device_is_online_again(monkeypatch):
    states = iter([AdbError("device offline"), "offline", "device", "never asked"])

    class Returning(StubAdbDevice):
        def get_state(self) -> object:
            self.outcome = next(states)
            return self._answer()

    device = offline_device(monkeypatch, Returning(None))
    device.reconnect()
    assert next(states) == "never asked"
