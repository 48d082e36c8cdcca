"""Fuzz the raw device port (no adb server in between): random and mutated adb messages
over many connections. Afterwards the device still serves a normal client."""

from __future__ import annotations

import logging
import random
import socket
import struct
import time

import pytest

from virtual_device.host import VirtualDeviceHandle
from virtual_device.testing.pytest_plugin import AdbServer
from virtual_device.transport import protocol as p

SEED = 20240611
MESSAGES = 10_000
COMMANDS = [p.A_CNXN, p.A_OPEN, p.A_OKAY, p.A_WRTE, p.A_CLSE, p.A_AUTH, p.A_STLS, p.A_SYNC, 0, 0xDEADBEEF]
SERVICES = [
    b"shell:",
    b"shell,v2,raw:",
    b"sync:",
    b"exec:",
    b"tcpip:5555",
    b"remount:",  # not reboot:, which (as on a phone) takes the device offline for a while
    b"jdwp:1",
    b"framebuffer:",
    b"",
    b"shell,v2,TERM=xterm,pty:",
    b"\xff\xfe",
    b"sync:extra",
    b"shell",
]
SHELL_WORDS = [
    "echo",
    "ls",
    "-l",
    "cat",
    "/sdcard",
    "../../etc/passwd",
    "stat",
    "-c",
    "%s",
    "rm",
    "-rf",
    "/sdcard/fz",
    "mkdir",
    "-p",
    "getprop",
    ";",
    "&&",
    "||",
    "|",
    "'",
    '"',
    "$?",
    "pm",
    "list",
    "packages",
    "am",
    "instrument",
    "-w",
    "-e",
    "run-as",
    "df",
    "-k",
    "sha256sum",
    ">",
    "/dev/null",
    "exit",
    "300",
    "nosuch",
    "cp",
    "mv",
    "dumpsys",
    "battery",
    "x" * 5000,
    "\0",
    "\\",
]
SYNC_IDS = [b"STAT", b"STA2", b"LST2", b"LIST", b"LIS2", b"SEND", b"RECV", b"DATA", b"DONE", b"QUIT", b"XXXX"]
SYNC_PATHS = [
    b"/sdcard/fz/a",
    b"/sdcard/../../etc/passwd",
    b"/system/bin/sh",
    b"/",
    b"/data/local/tmp",
    b"/sdcard/fz/a,33188",
    b"/sdcard/" + b"a" * 2000,
    b"",
    b"relative",
    b"/proc/self/mem",
]


def msg(cmd: int, a0: int, a1: int, payload: bytes = b"") -> bytes:
    return p.pack(cmd, a0, a1, payload)


def cnxn() -> bytes:
    return msg(p.A_CNXN, p.A_VERSION, 1024 * 1024, b"host::features=shell_v2,cmd,stat_v2,ls_v2\0")


def random_message(rng: random.Random, stream_ids: list[int]) -> bytes:
    kind = rng.random()
    if kind < 0.1:
        return rng.randbytes(rng.randint(0, 64))  # raw garbage
    if kind < 0.2:
        # Header with a wrong magic or an absurd length (connection should be dropped).
        hdr = bytearray(msg(rng.choice(COMMANDS), rng.getrandbits(32), rng.getrandbits(32)))
        if rng.random() < 0.5:
            hdr[20:24] = rng.randbytes(4)
        else:
            struct.pack_into("<I", hdr, 12, rng.choice([p.MAX_PAYLOAD + 1, 0xFFFFFFFF, 2**31]))
        return bytes(hdr)
    if kind < 0.35:
        return msg(
            p.A_OPEN,
            rng.randint(0, 50),
            rng.randint(0, 3),
            rng.choice(SERVICES)
            + b" ".join(rng.choice(SHELL_WORDS).encode() for _ in range(rng.randint(0, 6)))
            + b"\0",
        )
    if kind < 0.55:
        # Sync requests, well-formed or not, inside a WRTE to a stream that may or may not exist.
        ident = rng.choice(SYNC_IDS)
        path = rng.choice(SYNC_PATHS)
        length = len(path) if rng.random() < 0.8 else rng.getrandbits(32)
        body = ident + struct.pack("<I", length) + path
        if ident == b"SEND" and rng.random() < 0.7:
            data = rng.randbytes(rng.randint(0, 300))
            body += b"DATA" + struct.pack("<I", len(data)) + data + b"DONE" + struct.pack("<I", 0)
        return msg(p.A_WRTE, rng.randint(0, 50), rng.choice([*stream_ids, 0, 999999]), body)
    if kind < 0.7:
        # shell v2 packets (stdin, close-stdin, window, garbage ids).
        data = rng.randbytes(rng.randint(0, 40))
        body = bytes([rng.randint(0, 9)]) + struct.pack("<I", len(data) if rng.random() < 0.8 else 10**9) + data
        return msg(p.A_WRTE, rng.randint(0, 50), rng.choice([*stream_ids, 1, 2, 3]), body)
    if kind < 0.8:
        return msg(rng.choice([p.A_OKAY, p.A_CLSE]), rng.randint(0, 50), rng.choice([*stream_ids, 0, 7, 2**32 - 1]))
    if kind < 0.9:
        return (
            cnxn()
            if rng.random() < 0.5
            else msg(p.A_CNXN, rng.getrandbits(32), rng.getrandbits(32), rng.randbytes(rng.randint(0, 100)))
        )
    # Truncated message: a header promising more payload than follows.
    return msg(p.A_WRTE, 1, 1, b"x" * 100)[: rng.randint(1, 80)]


def read_ids(data: bytes) -> list[int]:
    """Stream ids the device assigned (from its OKAY replies) so later messages can hit them."""
    ids = []
    for off in range(0, max(0, len(data) - 23)):
        if data[off : off + 4] == b"OKAY":
            cmd, a0, _a1, _ln, _ck, magic = struct.unpack_from("<6I", data, off)
            if magic == cmd ^ 0xFFFFFFFF:
                ids.append(a0)
    return ids


def test_fuzz_raw_port(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(SEED)
    sent = 0
    connections = 0
    deadline = time.monotonic() + 60
    with caplog.at_level(logging.ERROR, logger="virtual_device"):
        while sent < MESSAGES and time.monotonic() < deadline:
            connections += 1
            with socket.create_connection(("127.0.0.1", virtual_device.port), timeout=2) as sock:
                sock.settimeout(0.005)
                ids: list[int] = []
                batch = rng.randint(5, 60)
                for i in range(batch):
                    # Mostly a proper handshake first, so the stream code gets exercised.
                    data = cnxn() if i == 0 and rng.random() < 0.85 else random_message(rng, ids)
                    sent += 1
                    try:
                        sock.sendall(data)
                        if rng.random() < 0.3:
                            ids += read_ids(sock.recv(1 << 16))
                    except TimeoutError:
                        pass
                    except OSError:
                        break  # the device dropped this connection: allowed
    assert sent >= MESSAGES
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors[:5]]
    # The device survived and a normal client still works through the adb server.
    res = adb_server.run("-s", virtual_device.serial, "shell", "echo alive")
    assert (res.returncode, res.stdout) == (0, "alive\n")
    dev = adb_server.client().device(virtual_device.serial)
    dev.sync.push(b"after-fuzz", "/sdcard/after.txt")
    assert dev.sync.read_text("/sdcard/after.txt") == "after-fuzz"
    assert connections > 100
