"""The shell without adb or sockets: tokenizer, stdin detection, flag parsing, the command
registry and whole command lines run by a ShellSession over a sandbox in tmp_path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from virtual_device.config import DeviceConfig
from virtual_device.faults import FaultInjector
from virtual_device.shell.commands import COMMANDS, basic
from virtual_device.shell.interpreter import CommandTable, ShellSession, reads_stdin, tokenize
from virtual_device.shell.registry import split_flags
from virtual_device.storage import Storage

T = TypeVar("T")


@dataclass
class FakeDevice:
    """A context.DeviceContext that is no VirtualDevice: what the shell needs, nothing more."""

    config: DeviceConfig
    storage: Storage
    faults: FaultInjector

    @property
    def props(self) -> dict[str, str]:
        return self.config.props("fake-serial")

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)  # off the loop, as VirtualDevice does


@pytest.fixture
def device(tmp_path: Path) -> FakeDevice:
    config = DeviceConfig(packages=["com.example.hello"], capacity_bytes=1_000_000)
    return FakeDevice(config, Storage(tmp_path, config.capacity_bytes, config.all_packages), FaultInjector())


def sh(device: FakeDevice, command: str, commands: CommandTable = COMMANDS) -> tuple[int, str, str]:
    out, err = bytearray(), bytearray()

    async def to_out(data: bytes) -> None:
        out.extend(data)

    async def to_err(data: bytes) -> None:
        err.extend(data)

    code = asyncio.run(ShellSession(device, to_out, to_err, commands=commands).run(command))
    return code, out.decode(), err.decode()


def test_tokenize_operators_quotes_comments() -> None:
    line = "echo 'a;b' \"c && d\"&&ls|wc -l>out # note"
    assert tokenize(line) == ["echo", "a;b", "c && d", "&&", "ls", "|", "wc", "-l", ">", "out"]
    assert tokenize("cat f 2>/dev/null") == ["cat", "f", "2", ">", "/dev/null"]
    assert tokenize("a;b&c >& x") == ["a", ";", "b", "&", "c", ">&", "x"]
    with pytest.raises(ValueError):
        tokenize('echo "unterminated')


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["cat"], True),
        (["cat", "-"], True),
        (["cat", "/sdcard/f"], False),
        (["cat", "<", "/sdcard/f"], False),
        (["cat", ">", "/sdcard/out"], True),
        (["grep", "-v", "x"], True),
        (["grep", "x", "/sdcard/f"], False),
        (["wc", "-l"], True),
        (["echo", "x"], False),
        ([], False),
    ],
)
def test_reads_stdin(tokens: list[str], expected: bool) -> None:
    assert reads_stdin(tokens) is expected


def test_split_flags() -> None:
    assert split_flags(["-la", "/sdcard", "-R"], "laR") == ({"l", "a", "R"}, ["/sdcard"])
    # A flag outside the allowed set is an operand, and so is everything after "--".
    assert split_flags(["-z", "--", "-l"], "l") == (set(), ["-z", "-l"])
    assert split_flags(["-"], "l") == (set(), ["-"])


def test_every_command_is_registered() -> None:
    expected = {
        *("true", ":", "false", "exit", "echo", "id", "whoami", "pwd", "cd", "sleep", "uname", "date"),
        *("ls", "mkdir", "touch", "rm", "rmdir", "mv", "cp", "stat", "df"),
        *("cat", "sha256sum", "sha1sum", "md5sum", "wc", "grep"),
        *("getprop", "setprop", "pm", "cmd", "run-as", "dumpsys", "am", "logcat"),
        *("export", "exec", "env", "printenv", "which", "test", "["),
        *("head", "tail", "cut", "find", "chmod", "ps", "pidof", "getenforce", "settings", "bugreportz"),
    }
    assert COMMANDS.names() == expected
    # Commands that await are dispatched without the DeviceOSError wrapper of plain ones.
    assert set(COMMANDS.coroutines) == {"sleep", "run-as", "am", "logcat", "exec", "pm", "cmd", "cat"}
    # File-heavy plain commands run on the device's worker thread, off the event loop.
    assert COMMANDS.blocking == {"sha256sum", "sha1sum", "md5sum", "wc", "grep", "head", "tail", "cut", "cp", "find"}


def test_lists_pipelines_and_status(device: FakeDevice) -> None:
    assert sh(device, "echo hi | wc -c") == (0, "3\n", "")
    assert sh(device, "false || echo $?; true && echo yes") == (0, "1\nyes\n", "")
    assert sh(device, "echo a; exit 3; echo never") == (3, "a\n", "")
    assert sh(device, "echo $EXTERNAL_STORAGE") == (0, "/sdcard\n", "")
    assert sh(device, "echo 'x") == (2, "", "/system/bin/sh: syntax error: No closing quotation\n")


def test_redirects_reach_the_sandbox(device: FakeDevice) -> None:
    assert sh(device, "echo one > /sdcard/f; echo two >> /sdcard/f") == (0, "", "")
    assert device.storage.host_path("/sdcard/f").read_text() == "one\ntwo\n"
    assert sh(device, "grep t < /sdcard/f") == (0, "two\n", "")
    assert sh(device, "cat /sdcard/nope 2>/dev/null; echo $?") == (0, "1\n", "")
    assert sh(device, "cat /sdcard/nope 2>&1") == (1, "cat: /sdcard/nope: No such file or directory\n", "")
    code, _, err = sh(device, "echo x > /system/f")
    assert code == 1 and err.startswith("/system/bin/sh: can't create /system/f: ")


def test_dispatch_by_name_and_path(device: FakeDevice) -> None:
    assert sh(device, "/system/bin/echo ok") == (0, "ok\n", "")
    assert sh(device, "frobnicate") == (127, "", "/system/bin/sh: frobnicate: not found\n")
    assert sh(device, "/bin/echo ok") == (127, "", "/system/bin/sh: /bin/echo: inaccessible or not found\n")


def test_session_uses_the_table_it_is_given(device: FakeDevice) -> None:
    only_echo = CommandTable()
    only_echo.command("echo")(basic.cmd_echo)
    assert sh(device, "echo hi", only_echo) == (0, "hi\n", "")
    assert sh(device, "ls /", only_echo) == (127, "", "/system/bin/sh: ls: not found\n")
    # run-as starts a sub-shell with the same table as its parent.
    assert sh(device, "run-as com.example.hello pwd") == (0, "/data/data/com.example.hello\n", "")
    assert sh(device, "run-as com.example.hello ls", only_echo)[0] == 127


def test_props_come_from_the_device(device: FakeDevice) -> None:
    assert sh(device, "getprop ro.serialno") == (0, "fake-serial\n", "")
    assert sh(device, "setprop debug.x 1; getprop debug.x") == (0, "1\n", "")
    assert device.config.extra_props == {"debug.x": "1"}


def test_cat_streams_stdin_chunks_and_places_them_among_files(device: FakeDevice) -> None:
    """A v1/exec host's stdin (ShellSession.stdin_chunks): `cat` passes each piece on as it comes,
    `cat > f` appends each, `cat a - b` puts all of it in its place; other filters never see it."""

    def run(command: str) -> tuple[int, list[bytes]]:
        writes: list[bytes] = []

        async def to_out(data: bytes) -> None:
            writes.append(data)

        async def pieces() -> AsyncIterator[bytes]:
            for piece in (b"foo", b"bar\n"):
                yield piece

        async def main() -> int:
            session = ShellSession(device, to_out, to_out, commands=COMMANDS)
            session.stdin_chunks = pieces
            return await session.run(command)

        return asyncio.run(main()), writes

    assert run("cat") == (0, [b"foo", b"bar\n"])  # two writes: nothing waited for the end
    assert run("cat -u -") == (0, [b"foo", b"bar\n"])
    assert run("cat > /sdcard/s; cat /sdcard/s") == (0, [b"foobar\n"])
    sh(device, "echo file > /sdcard/a")
    assert run("cat /sdcard/a - /sdcard/a") == (0, [b"file\nfoobar\nfile\n"])
    assert run("cat | wc -c") == (0, [b"7\n"])
