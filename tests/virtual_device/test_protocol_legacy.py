"""A host at protocol version 0x01000000 (before skip-checksum), spoken directly to the device's
port: every packet the device sends carries the byte sum of its payload, the host's sums are
checked, the CNXN reply states the negotiated maximum payload, and every stream is closed both
ways (whoever closes first gets the other side's CLSE)."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

from tests.virtual_device.rawhost import Raw
from virtual_device.config import DeviceConfig
from virtual_device.host import DeviceHost, VirtualDeviceHandle
from virtual_device.transport import protocol as p

LEGACY = 0x01000000
SYNC_MAX = 64 * 1024


class LegacyHost(Raw):
    """A version-0x01000000 host: sends real checksums and verifies the device's."""

    def __init__(self, port: int, maxdata: int = 256 * 1024) -> None:
        self.next_id = 100
        super().__init__(port, maxdata, version=LEGACY, banner=b"host::\0")

    def send(self, cmd: int, a0: int, a1: int, payload: bytes = b"", *, check: int | None = None) -> None:
        ck = p.checksum(payload) if check is None else check
        self.sock.sendall(p.pack_header(cmd, a0, a1, len(payload), ck) + payload)

    def recv(self) -> tuple[int, int, int, bytes]:
        cmd, a0, a1, length, check = p.unpack_header(self._exact(p.HEADER_SIZE))
        payload = self._exact(length) if length else b""
        assert check == p.checksum(payload), f"{p.COMMAND_NAMES.get(cmd)}: checksum {check} != {p.checksum(payload)}"
        return cmd, a0, a1, payload

    def open(self, service: str) -> tuple[int, int]:
        self.next_id += 1
        mine = self.next_id
        self.send(p.A_OPEN, mine, 0, service.encode() + b"\0")
        cmd, theirs, remote, _ = self.recv()
        assert (cmd, remote) == (p.A_OKAY, mine)
        return mine, theirs

    def write(self, mine: int, theirs: int, data: bytes) -> None:
        self.send(p.A_WRTE, mine, theirs, data)
        assert self.recv()[:3] == (p.A_OKAY, theirs, mine)

    def read_until_close(self, mine: int, theirs: int) -> bytes:
        """Collect the device's WRTEs (acknowledging each) until its CLSE; answer with ours."""
        got = bytearray()
        while True:
            cmd, a0, a1, payload = self.recv()
            assert (a0, a1) == (theirs, mine)
            if cmd == p.A_CLSE:
                self.send(p.A_CLSE, mine, theirs)
                return bytes(got)
            assert cmd == p.A_WRTE
            got += payload
            self.send(p.A_OKAY, mine, theirs)

    def read_reply(self, mine: int, theirs: int, size: int) -> bytes:
        got = bytearray()
        while len(got) < size:
            cmd, _, _, payload = self.recv()
            assert cmd == p.A_WRTE
            got += payload
            self.send(p.A_OKAY, mine, theirs)
        return bytes(got)

    def close_first(self, mine: int, theirs: int) -> None:
        """Close a stream from the host side: the device answers with its own CLSE."""
        self.send(p.A_CLSE, mine, theirs)
        assert self.recv()[:3] == (p.A_CLSE, theirs, mine)

    def close(self) -> None:
        self.sock.close()


def test_legacy_handshake_has_checksums_and_negotiated_maxdata(virtual_device: VirtualDeviceHandle) -> None:
    host = LegacyHost(virtual_device.port, maxdata=256 * 1024)
    cmd, version, maxdata, banner = host.banner  # its checksum was verified by recv()
    assert cmd == p.A_CNXN
    assert version == p.A_VERSION  # adbd states its own version; both sides use the minimum
    assert maxdata == 256 * 1024
    assert banner.startswith(b"device::")
    host.close()


def test_legacy_shell_echo_and_stdin(virtual_device: VirtualDeviceHandle) -> None:
    host = LegacyHost(virtual_device.port)
    mine, theirs = host.open("shell:echo legacy")
    assert host.read_until_close(mine, theirs) == b"legacy\n"
    # v1 stdin: WRTE payloads are the command's stdin; the host's CLSE is its EOF.
    mine, theirs = host.open("shell:cat > /sdcard/from-stdin.txt")
    host.write(mine, theirs, b"first ")
    host.write(mine, theirs, b"second")
    host.close_first(mine, theirs)
    # cat writes each payload as it comes; the last one may land just after the CLSE exchange.
    target = virtual_device.host_path("/sdcard/from-stdin.txt")
    deadline = time.monotonic() + 10
    while not (target.is_file() and target.read_bytes() == b"first second") and time.monotonic() < deadline:
        time.sleep(0.02)
    mine, theirs = host.open("shell:cat /sdcard/from-stdin.txt")
    assert host.read_until_close(mine, theirs) == b"first second"
    host.close()


def test_legacy_sync_push_pull_stat_list_closed_both_ways(virtual_device: VirtualDeviceHandle) -> None:
    host = LegacyHost(virtual_device.port, maxdata=64 * 1024 + 64)
    data = bytes(range(256)) * 1000  # 256000 bytes: several DATA chunks and WRTEs
    # Push, then the host closes the stream first (no QUIT), as direct clients do.
    mine, theirs = host.open("sync:")
    path = b"/sdcard/legacy.bin,33188"
    req = b"SEND" + struct.pack("<I", len(path)) + path
    for off in range(0, len(data), SYNC_MAX):
        chunk = data[off : off + SYNC_MAX]
        req += b"DATA" + struct.pack("<I", len(chunk)) + chunk
    req += b"DONE" + struct.pack("<I", 1_700_000_000)
    for off in range(0, len(req), 64 * 1024):
        host.write(mine, theirs, req[off : off + 64 * 1024])
    assert host.read_reply(mine, theirs, 8) == b"OKAY\0\0\0\0"
    host.close_first(mine, theirs)
    assert virtual_device.host_path("/sdcard/legacy.bin").read_bytes() == data

    # Stat and list, closed by the host.
    mine, theirs = host.open("sync:")
    host.write(mine, theirs, b"STAT" + struct.pack("<I", 18) + b"/sdcard/legacy.bin")
    ident, _mode, size, mtime = struct.unpack("<4sIII", host.read_reply(mine, theirs, 16))
    assert (ident, size, mtime) == (b"STAT", len(data), 1_700_000_000)
    host.close_first(mine, theirs)

    # Pull, ended with QUIT: the device closes first and the host answers.
    mine, theirs = host.open("sync:")
    host.write(mine, theirs, b"RECV" + struct.pack("<I", 18) + b"/sdcard/legacy.bin")
    raw = bytearray()
    pulled = bytearray()
    pos = 0
    done = False
    while not done:
        cmd, _, _, payload = host.recv()
        assert cmd == p.A_WRTE
        raw += payload
        host.send(p.A_OKAY, mine, theirs)
        while not done and len(raw) - pos >= 8:
            ident, length = struct.unpack_from("<4sI", raw, pos)
            if ident == b"DONE":
                done = True
            elif len(raw) - pos - 8 >= length:
                assert ident == b"DATA"
                pulled += raw[pos + 8 : pos + 8 + length]
                pos += 8 + length
            else:
                break
    host.write(mine, theirs, b"QUIT" + struct.pack("<I", 0))
    assert host.read_until_close(mine, theirs) == b""
    assert bytes(pulled) == data
    # The connection is still in order after all that.
    mine, theirs = host.open("shell:echo still")
    assert host.read_until_close(mine, theirs) == b"still\n"
    host.close()


def test_legacy_bad_checksum_drops_the_connection(virtual_device: VirtualDeviceHandle) -> None:
    host = LegacyHost(virtual_device.port)
    host.send(p.A_OPEN, 5, 0, b"shell:echo x\0", check=12345)
    assert host.sock.recv(100) == b""  # dropped, as an adbd that checks sums does
    host.close()
    # Modern hosts (skip-checksum) send 0 and nothing is checked; the device is fine.
    sock = socket.create_connection(("127.0.0.1", virtual_device.port), timeout=5)
    sock.sendall(p.pack(p.A_CNXN, p.A_VERSION, 4096, b"host::\0"))
    header = sock.recv(p.HEADER_SIZE, socket.MSG_WAITALL)
    cmd, _, maxdata, _length, check = p.unpack_header(header)
    assert (cmd, maxdata, check) == (p.A_CNXN, 4096, 0)
    sock.close()


def test_legacy_auth_token_has_a_checksum(tmp_path: Path) -> None:
    with DeviceHost() as host:
        dev = host.add_device(DeviceConfig(require_auth=True), sandbox=tmp_path / "sandbox")
        legacy = LegacyHost(dev.port)  # recv() checked the sum of the AUTH token it got instead of CNXN
        cmd, kind, _, token = legacy.banner
        assert (cmd, kind, len(token)) == (p.A_AUTH, 1, 20)
        legacy.close()
