"""The `sync:` service (file_sync_protocol.h): STAT/STA2/LST2, LIST/LIS2, SEND, RECV, QUIT."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import posixpath
import stat as statmod
import struct
import time
import uuid
from pathlib import Path

from virtual_device.context import DeviceContext
from virtual_device.shell.commands.files import owner
from virtual_device.storage import DeviceOSError, Resolved
from virtual_device.transport.streams import Stream

SYNC_DATA_MAX = 64 * 1024
MAX_PATH_LEN = 1024
ID_STAT, ID_STA2, ID_LST2 = b"STAT", b"STA2", b"LST2"
ID_LIST, ID_LIS2, ID_DENT, ID_DNT2 = b"LIST", b"LIS2", b"DENT", b"DNT2"
ID_SEND, ID_RECV, ID_DATA, ID_DONE = b"SEND", b"RECV", b"DATA", b"DONE"
ID_OKAY, ID_FAIL, ID_QUIT = b"OKAY", b"FAIL", b"QUIT"

STAT_V1 = struct.Struct("<4sIII")
# id, error, dev, ino, mode, nlink, uid, gid, size, atime, mtime, ctime
STAT_V2 = struct.Struct("<4sIQQIIIIQqqq")
DENT_V1 = struct.Struct("<4sIIII")
DENT_V2 = struct.Struct("<4sIQQIIIIQqqqI")
DATA_HDR = struct.Struct("<4sI")
# DATA chunks per WRTE so that framed bytes stay within a 1 MiB payload.
DIR_MODE = 0o40771


class SyncFail(Exception):
    """Reported to the client as FAIL <message>; ends the session like adbd."""


def _fake_virtual_stat() -> os.stat_result:
    return os.stat_result((statmod.S_IFDIR | 0o755, 1, 1, 2, 0, 0, 4096, 0, 0, 0))


class SyncSession:
    def __init__(self, device: DeviceContext, stream: Stream) -> None:
        self.device = device
        self.stream = stream
        self.storage = device.storage
        self.faults = device.faults

    async def run(self) -> None:
        while True:
            ident, length = await self.stream.read_u32_pair()
            if ident == ID_QUIT:
                return
            if ident not in (ID_STAT, ID_STA2, ID_LST2, ID_LIST, ID_LIS2, ID_SEND, ID_RECV):
                await self.fail(f"unknown command {ident.hex()}")
                return
            if length > MAX_PATH_LEN:
                await self.fail("path too long")
                return
            path = (await self.stream.read_exactly(length)).decode("utf-8", "surrogateescape")
            try:
                if ident == ID_STAT:
                    await self.do_stat_v1(path)
                elif ident in (ID_STA2, ID_LST2):
                    await self.do_stat_v2(ident, path)
                elif ident == ID_LIST:
                    await self.do_list(path, v2=False)
                elif ident == ID_LIS2:
                    await self.do_list(path, v2=True)
                elif ident == ID_SEND:
                    if not await self.do_send(path):
                        return
                elif ident == ID_RECV:
                    await self.do_recv(path)
            except SyncFail as exc:
                await self.fail(str(exc))
                return

    async def fail(self, message: str) -> None:
        data = message.encode()
        await self.stream.write(DATA_HDR.pack(ID_FAIL, len(data)) + data)

    # --- stat / list --------------------------------------------------------------------
    def _lookup(self, path: str, follow: bool) -> os.stat_result:
        res: Resolved = self.storage.readable(path)
        if res.host is None:
            return _fake_virtual_stat()
        return os.stat(res.host) if follow else os.lstat(res.host)

    async def do_stat_v1(self, path: str) -> None:
        try:
            st = self._lookup(path, follow=False)
            reply = STAT_V1.pack(ID_STAT, st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime) & 0xFFFFFFFF)
        except OSError:
            # v1 has no error field: a missing path is all zeros.
            reply = STAT_V1.pack(ID_STAT, 0, 0, 0)
        await self.stream.write(reply)

    async def do_stat_v2(self, ident: bytes, path: str) -> None:
        try:
            st = self._lookup(path, follow=ident == ID_STA2)
            reply = self._pack_v2(STAT_V2, ident, 0, st, self.storage.normalize(path))
        except OSError as exc:
            reply = STAT_V2.pack(ident, exc.errno or errno.ENOENT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        await self.stream.write(reply)

    @staticmethod
    def _pack_v2(
        fmt: struct.Struct, ident: bytes, err: int, st: os.stat_result, device_path: str, *extra: int
    ) -> bytes:
        # The owner `ls -l` and `stat` show for the same path (files.owner).
        uid, _, gid, _ = owner(device_path)
        return fmt.pack(
            ident,
            err,
            st.st_dev & 0xFFFFFFFFFFFFFFFF,
            st.st_ino,
            st.st_mode,
            st.st_nlink,
            uid,
            gid,
            st.st_size,
            int(st.st_atime),
            int(st.st_mtime),
            int(st.st_ctime),
            *extra,
        )

    async def do_list(self, path: str, *, v2: bool) -> None:
        out = bytearray()
        try:
            res = self.storage.readable(path)
            entries: list[tuple[str, os.stat_result]] = [(".", self._lookup(path, True))]
            if res.host is None:
                for name in self.storage.virtual_children(res.device):
                    child = res.device.rstrip("/") + "/" + name
                    with contextlib.suppress(OSError):
                        entries.append((name, self._lookup(child, True)))
            elif res.host.is_dir():
                for entry in os.scandir(res.host):
                    with contextlib.suppress(OSError):
                        entries.append((entry.name, entry.stat(follow_symlinks=False)))
            else:
                entries = []
        except OSError:
            entries = []
        for name, st in entries:
            raw = name.encode("utf-8", "surrogateescape")
            if v2:
                where = res.device if name == "." else posixpath.join(res.device, name)
                out += self._pack_v2(DENT_V2, ID_DNT2, 0, st, where, len(raw)) + raw
            else:
                out += DENT_V1.pack(ID_DENT, st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime), len(raw))
                out += raw
            if len(out) >= self.stream.conn.max_payload:
                await self.stream.write(out)
                out = bytearray()
        out += DENT_V2.pack(ID_DONE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) if v2 else DENT_V1.pack(ID_DONE, 0, 0, 0, 0)
        await self.stream.write(out)

    # --- send (push) ----------------------------------------------------------------------
    async def _throttle(self, fault_rate: float, nbytes: int) -> None:
        if fault_rate > 0:
            await asyncio.sleep(nbytes / fault_rate)

    async def do_send(self, spec: str) -> bool:
        """Returns False when the session must end (after a FAIL), like adbd."""
        path, comma, mode_text = spec.rpartition(",")
        if not comma:
            path, mode_text = spec, "33188"
        try:
            mode = int(mode_text)
        except ValueError:
            mode = 0o100644
        tmp: Path | None = None
        try:
            if statmod.S_ISLNK(mode):
                raise SyncFail("symlinks are not supported")
            try:
                final = self.storage.writable(path)
                if final.is_dir():
                    raise DeviceOSError(errno.EISDIR, path)
                try:
                    final.parent.mkdir(parents=True, exist_ok=True)
                except (FileExistsError, NotADirectoryError):
                    raise DeviceOSError(errno.ENOTDIR, path) from None
            except OSError as exc:
                raise SyncFail(f"couldn't create file: {exc.strerror}") from None
            # Temp file next to the final one (same filesystem for the atomic rename).
            tmp = final.parent / f".{final.name[:64]}.vdtmp-{uuid.uuid4().hex[:8]}"
            drop = self.faults.take("drop", "push")
            throttle = self.faults.take("throttle", "push")
            received = 0
            with self.storage.reservation() as reservation, open(tmp, "wb") as fh:
                while True:
                    ident, length = await self.stream.read_u32_pair()
                    if ident == ID_DONE:
                        mtime = length
                        break
                    if ident != ID_DATA:
                        raise SyncFail(f"invalid data message: expected DATA, got {ident!r}")
                    if length > SYNC_DATA_MAX:
                        raise SyncFail("oversize data message")
                    chunk = await self.stream.read_exactly(length)
                    if drop is not None and received + length >= drop.after:
                        self.stream.conn.abort()
                        raise ConnectionResetError("fault: dropped connection")
                    try:
                        reservation.grow(length, path)
                        fh.write(chunk)
                    except OSError as exc:
                        await self.fail(f"write failed: {exc.strerror}")
                        await self._discard_until_done()
                        return False
                    received += length
                    if throttle is not None:
                        await self._throttle(throttle.rate, length)
            os.chmod(tmp, mode & 0o777 or 0o644)
            with contextlib.suppress(OSError):
                os.utime(tmp, (time.time(), mtime))
            os.replace(tmp, final)
            tmp = None
            await self.stream.write(DATA_HDR.pack(ID_OKAY, 0))
            return True
        except SyncFail as exc:
            await self.fail(str(exc))
            await self._discard_until_done()
            return False
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    tmp.unlink()

    async def _discard_until_done(self) -> None:
        # adbd keeps draining DATA after a FAIL so old clients that never read mid-transfer
        # still get to see the error.
        while True:
            ident, length = await self.stream.read_u32_pair()
            if ident == ID_DONE:
                return
            if ident != ID_DATA or length > SYNC_DATA_MAX:
                return
            await self.stream.read_exactly(length)

    # --- recv (pull) ----------------------------------------------------------------------
    async def do_recv(self, path: str) -> None:
        try:
            res = self.storage.readable(path)
            if res.host is None:
                raise DeviceOSError(errno.EISDIR, path)
            fh = open(res.host, "rb")  # noqa: SIM115 - closed in the finally below
        except OSError as exc:
            raise SyncFail(f"open failed: {exc.strerror}") from None
        drop = self.faults.take("drop", "pull")
        truncate = self.faults.take("truncate_pull")
        throttle = self.faults.take("throttle", "pull")
        limit = truncate.after if truncate is not None else None
        per_wrte = max(1, self.stream.conn.max_payload // (SYNC_DATA_MAX + DATA_HDR.size))
        step = SYNC_DATA_MAX + DATA_HDR.size
        buf = bytearray(per_wrte * step)
        view = memoryview(buf)
        sent = 0
        try:
            done = False
            while not done:
                pos = 0
                for _ in range(per_wrte):
                    want = SYNC_DATA_MAX
                    if limit is not None:
                        want = min(want, limit - sent)
                    if drop is not None:
                        want = min(want, max(0, drop.after - sent))
                    n = fh.readinto(view[pos + 8 : pos + 8 + want]) if want > 0 else 0
                    if n is None or n == 0:
                        done = True
                        break
                    DATA_HDR.pack_into(buf, pos, ID_DATA, n)
                    pos += 8 + n
                    sent += n
                if pos:
                    await self.stream.write(view[:pos])
                    if throttle is not None:
                        await self._throttle(throttle.rate, pos)
                if drop is not None and sent >= drop.after:
                    self.stream.conn.abort()
                    raise ConnectionResetError("fault: dropped connection")
        except IsADirectoryError:
            raise SyncFail("read failed: Is a directory") from None
        finally:
            view.release()
            fh.close()
        await self.stream.write(DATA_HDR.pack(ID_DONE, 0))


async def sync_service(device: DeviceContext, stream: Stream) -> None:
    await SyncSession(device, stream).run()
