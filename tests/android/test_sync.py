"""The sync protocol's framing (harness.android.sync) over a real socket pair, no device: what a
frame the harness reads means (data, the end, the device's refusal, a broken stream) and what the
harness writes (DATA frames of at most 64 KiB, DONE, QUIT)."""

from __future__ import annotations

import io
import socket
import struct
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from harness.android import sync, transfer
from harness.errors import DeviceRefusedError, DeviceTimeoutError, TransportError

SERIAL = "emulator-5554"


def frame(tag: bytes, payload: bytes = b"", length: int | None = None) -> bytes:
    return tag + struct.pack("<I", len(payload) if length is None else length) + payload


def read_frames(data: bytes) -> list[tuple[bytes, bytes]]:
    """(tag, payload) for every frame the harness wrote; DONE carries a time, QUIT nothing."""
    frames, at = [], 0
    while at < len(data):
        tag, length = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        at += 8
        if tag in (b"DONE", b"QUIT"):
            frames.append((tag, b""))
            continue
        frames.append((tag, data[at : at + length]))
        at += length
    return frames


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    harness_end, device_end = socket.socketpair()
    harness_end.settimeout(5)
    device_end.settimeout(5)
    yield harness_end, device_end
    harness_end.close()
    device_end.close()


def fake_device(sock: socket.socket, timeout: float = 5.0) -> SimpleNamespace:
    """What sync.session needs from a Device: a serial, a timeout and an open sync connection."""
    connection = SimpleNamespace(conn=sock, close=sock.close)
    return SimpleNamespace(serial=SERIAL, timeout=timeout, open_sync=lambda: connection)


def drain(sock: socket.socket) -> bytes:
    """Everything the other end writes until it closes."""
    chunks = []
    while piece := sock.recv(1 << 20):
        chunks.append(piece)
    return b"".join(chunks)


# --- reading: _recv_chunks and _expect_okay ----------------------------------------------------


def test_recv_chunks_yields_data_until_done(pair):
    harness_end, device_end = pair
    device_end.sendall(frame(b"DATA", b"abc") + frame(b"DATA", b"x" * sync.SYNC_CHUNK) + frame(b"DONE"))
    assert list(sync._recv_chunks(harness_end, SERIAL, "/sdcard/f")) == [b"abc", b"x" * sync.SYNC_CHUNK]


def test_recv_chunks_rejects_an_oversized_data_frame_as_a_transport_fault(pair):
    harness_end, device_end = pair
    device_end.sendall(frame(b"DATA", length=sync.SYNC_CHUNK + 1))
    with pytest.raises(TransportError, match=f"DATA chunk of {sync.SYNC_CHUNK + 1} bytes") as err:
        list(sync._recv_chunks(harness_end, SERIAL, "/sdcard/f"))
    assert transfer._retryable(err.value)


def test_recv_chunks_fail_frame_is_the_devices_refusal_with_its_reason(pair):
    harness_end, device_end = pair
    device_end.sendall(frame(b"DATA", b"partial") + frame(b"FAIL", b"open failed: No such file or directory"))
    chunks = sync._recv_chunks(harness_end, SERIAL, "/sdcard/f")
    assert next(chunks) == b"partial"
    with pytest.raises(DeviceRefusedError, match="/sdcard/f: open failed: No such file") as err:
        next(chunks)
    assert err.value.output == "open failed: No such file or directory"
    assert not transfer._retryable(err.value)


def test_recv_chunks_unknown_tag_is_a_transport_fault(pair):
    harness_end, device_end = pair
    device_end.sendall(frame(b"OKAY"))
    with pytest.raises(TransportError, match="unexpected sync reply b'OKAY'"):
        list(sync._recv_chunks(harness_end, SERIAL, "/sdcard/f"))


def test_recv_chunks_connection_closed_mid_frame_is_an_oserror(pair):
    harness_end, device_end = pair
    device_end.sendall(frame(b"DATA", length=10) + b"12345")
    device_end.close()
    with pytest.raises(OSError, match="connection closed"):
        list(sync._recv_chunks(harness_end, SERIAL, "/sdcard/f"))


def test_recv_exact_reassembles_a_frame_sent_a_byte_at_a_time(pair):
    harness_end, device_end = pair
    payload = frame(b"DATA", b"hello")

    def trickle() -> None:
        for byte in payload:
            device_end.sendall(bytes([byte]))

    writer = threading.Thread(target=trickle)
    writer.start()
    assert sync._recv_exact(harness_end, len(payload)) == payload
    writer.join()


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (frame(b"FAIL", b"No space left on device"), DeviceRefusedError, "failed: No space left on device"),
        (frame(b"DATA", b"??"), TransportError, "unexpected sync reply b'DATA'"),
    ],
)
def test_expect_okay(pair, reply, error, message):
    harness_end, device_end = pair
    device_end.sendall(frame(b"OKAY") + reply)
    sync._expect_okay(harness_end, SERIAL, "/sdcard/f")  # the OKAY
    with pytest.raises(error, match=message):
        sync._expect_okay(harness_end, SERIAL, "/sdcard/f")


# --- writing: _sendmsg_all and send ------------------------------------------------------------


class TrickleSocket:
    """sendmsg that takes at most `limit` bytes per call, as a full socket buffer does."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.received = bytearray()
        self.calls = 0

    def sendmsg(self, buffers: list[memoryview]) -> int:
        self.calls += 1
        taken = b"".join(bytes(b) for b in buffers)[: self.limit]
        self.received += taken
        return len(taken)


def test_sendmsg_all_finishes_partial_sends_in_order():
    buffers: list[bytes | memoryview] = [b"DATA", memoryview(b"0123456789"), b"", b"DONE", b"xyz"]
    sock = TrickleSocket(limit=3)
    sync._sendmsg_all(sock, buffers)  # type: ignore[arg-type]
    assert bytes(sock.received) == b"DATA0123456789DONExyz"
    assert sock.calls == 7  # 21 bytes, 3 at a time: nothing sent twice, nothing skipped


def test_send_frames_data_in_64k_chunks_then_done_and_quit(pair, tmp_path):
    harness_end, device_end = pair
    data = bytes(range(256)) * 1100  # 281,600 bytes: four full chunks and a short one
    progress: list[tuple[int, int]] = []
    received: list[bytes] = []

    def device_side() -> None:
        # Everything up to DONE, then OKAY, then the QUIT and the close.
        buffered = b""
        while not _has_done(buffered):
            buffered += device_end.recv(1 << 20)
        device_end.sendall(frame(b"OKAY"))
        received.append(buffered + drain(device_end))

    reader = threading.Thread(target=device_side)
    reader.start()
    source = tmp_path / "model.bin"
    source.write_bytes(data)
    with open(source, "rb") as handle:
        sync.send(fake_device(harness_end), handle, len(data), "/sdcard/m.bin", lambda s, t: progress.append((s, t)))
    reader.join(5)

    frames = read_frames(received[0][8 + len(b"/sdcard/m.bin,33188") :])
    request = received[0][: 8 + len(b"/sdcard/m.bin,33188")]
    assert request == frame(b"SEND", b"/sdcard/m.bin,33188")
    assert [tag for tag, _ in frames] == [b"DATA"] * 5 + [b"DONE", b"QUIT"]
    assert [len(p) for _, p in frames[:5]] == [sync.SYNC_CHUNK] * 4 + [len(data) - 4 * sync.SYNC_CHUNK]
    assert b"".join(p for _, p in frames[:5]) == data
    assert progress == [(len(data), len(data))]  # one 1 MiB read covers the whole file


def _has_done(buffered: bytes) -> bool:
    """Whether the SEND stream so far holds its DONE frame. Frames are walked from the request
    on, so the bytes "DONE" inside file data do not count."""
    if len(buffered) < 8:
        return False
    at = 8 + struct.unpack("<I", buffered[4:8])[0]  # past the SEND request
    while at + 8 <= len(buffered):
        tag, length = buffered[at : at + 4], struct.unpack("<I", buffered[at + 4 : at + 8])[0]
        if tag == b"DONE":
            return True
        at += 8 + length
    return False


def test_send_refused_by_the_device_is_not_retried(pair):
    harness_end, device_end = pair

    def device_side() -> None:
        buffered = b""
        while not _has_done(buffered):
            buffered += device_end.recv(1 << 20)
        device_end.sendall(frame(b"FAIL", b"No space left on device"))

    reader = threading.Thread(target=device_side)
    reader.start()
    with pytest.raises(DeviceRefusedError, match=r"push to /sdcard/m\.bin failed: No space left") as err:
        sync.send(fake_device(harness_end), io.BytesIO(b"abc"), 3, "/sdcard/m.bin", None)
    reader.join(5)
    assert not transfer._retryable(err.value)


# --- session: the request frame, QUIT, and what a dead or silent peer becomes --------------------


def test_session_writes_the_request_and_quits(pair):
    harness_end, device_end = pair
    with sync.session(fake_device(harness_end), "/sdcard/ünï", b"RECV"):
        pass
    assert read_frames(drain(device_end)) == [(b"RECV", "/sdcard/ünï".encode()), (b"QUIT", b"")]


def test_session_peer_gone_is_a_transport_error(pair):
    harness_end, device_end = pair
    device_end.close()
    with pytest.raises(TransportError, match="/sdcard/f: connection lost during transfer") as err:
        sync.recv_bytes(fake_device(harness_end), "/sdcard/f")
    assert transfer._retryable(err.value)


def test_session_silent_peer_is_a_timeout(pair):
    harness_end, _device_end = pair
    with pytest.raises(DeviceTimeoutError, match="/sdcard/f: transfer stalled for 0 s") as err:
        sync.recv_bytes(fake_device(harness_end, timeout=0.2), "/sdcard/f")
    assert transfer._retryable(err.value)


# --- the device's refusal, classified where its FAIL frame arrives ----------------------------


@pytest.mark.parametrize(
    ("reason_text", "reason"),
    [
        (b"open failed: No such file or directory", "no_such_file"),
        (b"couldn't create file: Read-only file system", "read_only"),
        (b"secure_mkdirs() failed: Permission denied", "permission_denied"),
        (b"No space left on device", "no_space"),
        (b"write failed: Quota exceeded", "no_space"),
        (b"adbd: unsupported sync command", None),
    ],
)
def test_fail_frames_carry_the_refusal_the_device_named(pair, reason_text, reason):
    harness_end, device_end = pair
    device_end.sendall(frame(b"FAIL", reason_text) + frame(b"FAIL", reason_text))
    with pytest.raises(DeviceRefusedError) as err:
        list(sync._recv_chunks(harness_end, SERIAL, "/sdcard/f"))
    assert err.value.reason == reason
    with pytest.raises(DeviceRefusedError) as err:
        sync._expect_okay(harness_end, SERIAL, "/sdcard/f")
    assert err.value.reason == reason


def test_an_oversized_fail_frame_is_a_transport_fault_not_read(pair):
    harness_end, device_end = pair
    device_end.sendall(frame(b"FAIL", length=sync.MAX_FAIL_BYTES + 1))  # no payload follows
    with pytest.raises(TransportError, match=f"FAIL frame of {sync.MAX_FAIL_BYTES + 1} bytes"):
        list(sync._recv_chunks(harness_end, SERIAL, "/sdcard/f"))


def test_a_fail_reason_becomes_one_line_of_plain_text(pair):
    harness_end, device_end = pair
    device_end.sendall(frame(b"FAIL", b"open failed:\n\x1b[31mPermission denied\x1b[0m\r\n"))
    with pytest.raises(DeviceRefusedError) as err:
        list(sync._recv_chunks(harness_end, SERIAL, "/sdcard/f"))
    assert err.value.output == "open failed: [31mPermission denied [0m"
    assert str(err.value) == f"device {SERIAL}: /sdcard/f: open failed: [31mPermission denied [0m"
    assert err.value.reason == "permission_denied"


def test_the_errno_text_must_end_a_stderr_line_but_may_sit_anywhere_in_a_fail_frame():
    assert sync.refusal_reason("mv: /x: Read-only file system\n", stderr=True) == "read_only"
    assert sync.refusal_reason("Read-only file system, says the log\n", stderr=True) is None
    assert sync.refusal_reason("remount: Read-only file system, says the log") == "read_only"
