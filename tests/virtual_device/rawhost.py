"""A host that speaks the adb wire protocol straight to a virtual device's port (no adb server)."""

from __future__ import annotations

import socket

from virtual_device.transport import protocol as p


class Raw:
    """A host speaking the adb protocol straight to the device's port (no adb server)."""

    def __init__(
        self, port: int, maxdata: int = 1024 * 1024, *, version: int = p.A_VERSION, banner: bytes = b""
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.send(p.A_CNXN, version, maxdata, banner or b"host::features=shell_v2\0")
        self.banner = self.recv()

    def send(self, cmd: int, a0: int, a1: int, payload: bytes = b"") -> None:
        self.sock.sendall(p.pack(cmd, a0, a1, payload))

    def _exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return bytes(buf)

    def recv(self) -> tuple[int, int, int, bytes]:
        cmd, a0, a1, length, _ck = p.unpack_header(self._exact(p.HEADER_SIZE))
        return cmd, a0, a1, self._exact(length) if length else b""

    def close(self) -> None:
        self.sock.close()
