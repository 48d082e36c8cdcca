"""adb transport message constants and (de)serialisation (packages/modules/adb protocol.md)."""

from __future__ import annotations

import struct

A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_STLS = 0x534C5453

COMMAND_NAMES = {
    A_SYNC: "SYNC",
    A_CNXN: "CNXN",
    A_AUTH: "AUTH",
    A_OPEN: "OPEN",
    A_OKAY: "OKAY",
    A_CLSE: "CLSE",
    A_WRTE: "WRTE",
    A_STLS: "STLS",
}

# Version with "skip checksum": hosts since 2016 neither send nor verify the byte sum. The
# connection runs at min(host's CNXN version, A_VERSION); below A_VERSION_SKIP_CHECKSUM every
# packet carries the byte sum of its payload, both ways (CNXN and AUTH included).
A_VERSION = 0x01000001
A_VERSION_MIN = 0x01000000
A_VERSION_SKIP_CHECKSUM = 0x01000001
MAX_PAYLOAD = 1024 * 1024  # the host refuses anything larger
MAX_CNXN_PAYLOAD = 4096

HEADER = struct.Struct("<6I")
HEADER_SIZE = HEADER.size


class ProtocolError(Exception):
    """The peer sent something no adbd would accept; the connection is dropped."""


def checksum(payload: bytes | bytearray | memoryview) -> int:
    return sum(payload) & 0xFFFFFFFF


def pack_header(command: int, arg0: int, arg1: int, length: int, check: int = 0) -> bytes:
    return HEADER.pack(command, arg0 & 0xFFFFFFFF, arg1 & 0xFFFFFFFF, length, check, command ^ 0xFFFFFFFF)


def pack(command: int, arg0: int, arg1: int, payload: bytes = b"", *, with_checksum: bool = False) -> bytes:
    check = checksum(payload) if with_checksum else 0
    return pack_header(command, arg0, arg1, len(payload), check) + payload


def unpack_header(data: bytes) -> tuple[int, int, int, int, int]:
    command, arg0, arg1, length, check, magic = HEADER.unpack(data)
    if magic != command ^ 0xFFFFFFFF:
        raise ProtocolError(f"bad magic {magic:#x} for command {command:#x}")
    return command, arg0, arg1, length, check
