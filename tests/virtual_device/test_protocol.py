"""Wire-level checks on the raw device port: handshake, refusal, payload negotiation, flow control."""

from __future__ import annotations

import socket
import struct

from tests.virtual_device.rawhost import Raw
from virtual_device.host import VirtualDeviceHandle
from virtual_device.transport import protocol as p


def test_handshake_banner(virtual_device: VirtualDeviceHandle) -> None:
    raw = Raw(virtual_device.port)
    cmd, version, maxdata, banner = raw.banner
    assert (cmd, version, maxdata) == (p.A_CNXN, 0x01000001, 1024 * 1024)
    text = banner.decode()
    assert text.startswith("device::ro.product.name=ava_virtual;ro.product.model=AVA Virtual Device;")
    # Exactly what is implemented: `cmd` (streamed install), no abb_exec, sendrecv_v2 or delayed_ack.
    assert text.endswith("features=shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir")
    raw.close()


def test_refused_open_and_unknown_stream(virtual_device: VirtualDeviceHandle) -> None:
    raw = Raw(virtual_device.port)
    raw.send(p.A_OPEN, 7, 0, b"framebuffer:\0")
    assert raw.recv()[:3] == (p.A_CLSE, 0, 7)
    raw.send(p.A_WRTE, 9, 12345, b"data")
    assert raw.recv()[:3] == (p.A_CLSE, 0, 9)
    raw.send(p.A_OPEN, 8, 0, b"shell:echo ok\0")
    cmd, local, remote, _ = raw.recv()
    assert (cmd, remote) == (p.A_OKAY, 8)
    assert raw.recv() == (p.A_WRTE, local, 8, b"ok\n")
    raw.send(p.A_OKAY, 8, local)
    assert raw.recv()[:3] == (p.A_CLSE, local, 8)
    raw.close()


def test_negotiated_payload_and_one_unacked_write(virtual_device: VirtualDeviceHandle) -> None:
    virtual_device.host_path("/sdcard/blob").write_bytes(b"z" * 50_000)
    raw = Raw(virtual_device.port, maxdata=4096)
    assert raw.banner[2] == 4096  # the negotiated maximum, as adbd states it
    raw.send(p.A_OPEN, 3, 0, b"shell:cat /sdcard/blob\0")
    _, local, _, _ = raw.recv()
    got = bytearray()
    raw.sock.settimeout(0.05)
    while True:
        cmd, _, _, payload = raw.recv()
        if cmd == p.A_CLSE:
            break
        assert cmd == p.A_WRTE and len(payload) <= 4096
        got += payload
        # Without our OKAY the device must not send another WRTE on this stream.
        try:
            extra = raw.recv()
        except TimeoutError:
            extra = None
        assert extra is None, f"second message before OKAY: {extra[:3]}, {len(got)}"
        raw.send(p.A_OKAY, 3, local)
        if len(got) == 50_000:
            raw.sock.settimeout(5)  # CLSE follows the OKAY of the last WRTE
    assert bytes(got) == b"z" * 50_000
    raw.close()


def test_sync_fail_messages(virtual_device: VirtualDeviceHandle) -> None:
    raw = Raw(virtual_device.port)
    raw.send(p.A_OPEN, 5, 0, b"sync:\0")
    _, local, _, _ = raw.recv()
    # Request split across two WRTEs at an awkward point: the device parses a byte stream.
    req = b"RECV" + struct.pack("<I", 12) + b"/sdcard/nope"
    for part in (req[:6], req[6:]):
        raw.send(p.A_WRTE, 5, local, part)
        assert raw.recv()[:3] == (p.A_OKAY, local, 5)
    cmd, _, _, payload = raw.recv()
    assert cmd == p.A_WRTE
    assert payload[:4] == b"FAIL" and payload[8:] == b"open failed: No such file or directory"
    raw.close()
    raw = Raw(virtual_device.port)
    raw.send(p.A_OPEN, 5, 0, b"sync:\0")
    _, local2, _, _ = raw.recv()
    raw.send(p.A_WRTE, 5, local2, b"STAT" + struct.pack("<I", 5000) + b"a" * 5000)
    assert raw.recv()[0] == p.A_OKAY
    cmd, _, _, payload = raw.recv()
    assert payload[:4] == b"FAIL" and payload[8:] == b"path too long"
    raw.close()


def test_bad_magic_drops_only_that_connection(virtual_device: VirtualDeviceHandle) -> None:
    good = Raw(virtual_device.port)
    bad = socket.create_connection(("127.0.0.1", virtual_device.port), timeout=5)
    hdr = bytearray(p.pack(p.A_CNXN, p.A_VERSION, 4096))
    hdr[20:24] = b"\0\0\0\0"
    bad.sendall(bytes(hdr))
    assert bad.recv(100) == b""  # dropped
    bad.close()
    good.send(p.A_OPEN, 1, 0, b"shell:echo still\0")
    assert good.recv()[0] == p.A_OKAY
    assert good.recv()[3] == b"still\n"
    good.close()
