"""push/pull through the real adb CLI and adbutils, sizes around the 64 KiB chunk boundary."""

from __future__ import annotations

import hashlib
import os
import struct
import threading
from pathlib import Path

import pytest

from tests.virtual_device.test_protocol_legacy import LegacyHost
from virtual_device.host import VirtualDeviceHandle
from virtual_device.testing.pytest_plugin import AdbServer

SIZES = [0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 5_000_000]


def make_file(path: Path, size: int, seed: int = 0) -> str:
    # Pseudo-random but cheap: repeat a random 1 MiB block so 100 MB files build fast.
    block = hashlib.sha256(str(seed).encode()).digest() * 32768  # 1 MiB
    block = bytes(b ^ (i & 0xFF) for i, b in enumerate(block[:4096])) + block[4096:]
    h = hashlib.sha256()
    with open(path, "wb") as fh:
        left = size
        while left:
            chunk = block[: min(left, len(block))]
            fh.write(chunk)
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@pytest.mark.parametrize("size", SIZES)
def test_push_pull_cli(adb_server: AdbServer, shared_device: VirtualDeviceHandle, tmp_path: Path, size: int) -> None:
    src = tmp_path / "src.bin"
    digest = make_file(src, size, seed=size)
    remote = f"/sdcard/cli/{size}/file.bin"  # parent dirs do not exist yet
    res = adb_server.run("-s", shared_device.serial, "push", str(src), remote)
    assert res.returncode == 0, res.stderr
    assert sha256(shared_device.host_path(remote)) == digest
    dst = tmp_path / "dst.bin"
    res = adb_server.run("-s", shared_device.serial, "pull", remote, str(dst))
    assert res.returncode == 0, res.stderr
    assert sha256(dst) == digest
    res = adb_server.run("-s", shared_device.serial, "shell", f"sha256sum {remote}")
    assert res.stdout.split()[0] == digest


@pytest.mark.parametrize("size", SIZES)
def test_push_pull_adbutils(
    adb_server: AdbServer, shared_device: VirtualDeviceHandle, tmp_path: Path, size: int
) -> None:
    src = tmp_path / "src.bin"
    digest = make_file(src, size, seed=size + 1)
    dev = adb_server.client().device(shared_device.serial)
    remote = f"/data/local/tmp/au/{size}.bin"
    dev.sync.push(str(src), remote)
    assert sha256(shared_device.host_path(remote)) == digest
    dst = tmp_path / "dst.bin"
    dev.sync.pull(remote, str(dst))
    assert sha256(dst) == digest
    st = dev.sync.stat(remote)
    assert st.size == size


def test_stat_list_and_dirs(adb_server: AdbServer, shared_device: VirtualDeviceHandle, tmp_path: Path) -> None:
    dev = adb_server.client().device(shared_device.serial)
    dev.sync.push(b"abc", "/sdcard/listing/a.txt")
    dev.sync.push(b"defg", "/sdcard/listing/b.txt")
    names = {e.path: e.size for e in dev.sync.list("/sdcard/listing")}
    assert names.get("a.txt") == 3 and names.get("b.txt") == 4
    assert dev.sync.stat("/sdcard/nope").mode == 0
    assert dev.sync.read_text("/sdcard/listing/b.txt") == "defg"
    # Directory pull/push through the CLI uses LIS2 and STA2.
    out = tmp_path / "pulled"
    res = adb_server.run("-s", shared_device.serial, "pull", "/sdcard/listing", str(out))
    assert res.returncode == 0, res.stderr
    assert (out / "a.txt").read_bytes() == b"abc"
    res = adb_server.run("-s", shared_device.serial, "push", str(out), "/sdcard/listing2")
    assert res.returncode == 0, res.stderr
    assert shared_device.host_path("/sdcard/listing2/b.txt").read_bytes() == b"defg"
    res = adb_server.run("-s", shared_device.serial, "pull", "/sdcard/missing.bin", str(tmp_path / "m"))
    assert res.returncode != 0 and "No such file or directory" in res.stderr


@pytest.mark.slow
def test_100mb_cli(adb_server: AdbServer, shared_device: VirtualDeviceHandle, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    digest = make_file(src, 100_000_000, seed=7)
    remote = "/sdcard/big/big.bin"
    res = adb_server.run("-s", shared_device.serial, "push", str(src), remote)
    assert res.returncode == 0, res.stderr
    assert sha256(shared_device.host_path(remote)) == digest
    dst = tmp_path / "big.out"
    res = adb_server.run("-s", shared_device.serial, "pull", remote, str(dst))
    assert res.returncode == 0, res.stderr
    assert sha256(dst) == digest
    os.remove(dst)
    shared_device.host_path(remote).unlink()


@pytest.mark.slow
def test_100mb_adbutils(adb_server: AdbServer, shared_device: VirtualDeviceHandle, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    digest = make_file(src, 100_000_000, seed=8)
    dev = adb_server.client().device(shared_device.serial)
    remote = "/data/local/tmp/big.bin"
    dev.sync.push(str(src), remote)
    assert sha256(shared_device.host_path(remote)) == digest
    dst = tmp_path / "big.out"
    dev.sync.pull(remote, str(dst))
    assert sha256(dst) == digest
    shared_device.host_path(remote).unlink()


@pytest.mark.parametrize("count", [2, 4])
def test_concurrent_devices(adb_server: AdbServer, virtual_devices, tmp_path: Path, count: int) -> None:
    handles: list[VirtualDeviceHandle] = virtual_devices(count)
    assert len({h.serial for h in handles}) == count
    listed = adb_server.run("devices").stdout
    assert all(f"{h.serial}\tdevice" in listed for h in handles)
    errors: list[BaseException] = []

    def worker(i: int, handle: VirtualDeviceHandle) -> None:
        try:
            src = tmp_path / f"src{i}.bin"
            digest = make_file(src, 3_000_000 + i, seed=100 + i)
            for j in range(2):
                remote = f"/sdcard/c/{j}.bin"
                res = adb_server.run("-s", handle.serial, "push", str(src), remote)
                assert res.returncode == 0, res.stderr
                dst = tmp_path / f"dst{i}-{j}.bin"
                res = adb_server.run("-s", handle.serial, "pull", remote, str(dst))
                assert res.returncode == 0, res.stderr
                assert sha256(dst) == digest
                assert adb_server.run("-s", handle.serial, "shell", "echo", str(i)).stdout == f"{i}\n"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i, h)) for i, h in enumerate(handles)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    # Each device kept its own storage.
    for i, h in enumerate(handles):
        assert h.host_path("/sdcard/c/1.bin").stat().st_size == 3_000_000 + i


def test_sync_stat_v2_and_list_v2_owners_match_ls_and_stat(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle
) -> None:
    """STA2 / LIS2 carry the uid and gid that `ls -l` and `stat` show for the same path."""
    dev = virtual_device
    adb_server.run("-s", dev.serial, "shell", "echo x > /data/local/tmp/f; echo y > /sdcard/g", check=True)
    paths = ["/data/local/tmp/f", "/sdcard/g", "/system"]
    paths += [f"/data/data/{pkg}/files" for pkg in sorted(dev.config.all_packages)[:1]]
    shown = adb_server.run("-s", dev.serial, "shell", "stat -c '%u %g' " + " ".join(paths)).stdout.splitlines()
    assert len(shown) == len(paths) and "2000 2000" in shown and "0 1015" in shown
    host = LegacyHost(dev.port)
    mine, theirs = host.open("sync:")
    for path, expected in zip(paths, shown, strict=True):
        raw = path.encode()
        host.write(mine, theirs, b"STA2" + struct.pack("<I", len(raw)) + raw)
        ident, err, _dev, _ino, _mode, _nlink, uid, gid = struct.unpack_from(
            "<4sIQQIIII", host.read_reply(mine, theirs, 72)
        )
        assert (ident, err, f"{uid} {gid}") == (b"STA2", 0, expected), path
    # Every entry of /data/local/tmp is shell's, as `ls -l` says.
    host.write(mine, theirs, b"LIS2" + struct.pack("<I", 15) + b"/data/local/tmp")
    dents, pos, owners = bytearray(), 0, set()
    while True:
        dents += host.read_reply(mine, theirs, 1)
        while len(dents) - pos >= 76 and dents[pos : pos + 4] == b"DNT2":
            *_, uid, gid, _size, _atime, _mtime, _ctime, namelen = struct.unpack_from("<4sIQQIIIIQqqqI", dents, pos)
            owners.add((uid, gid))
            pos += 76 + namelen
        if dents[pos : pos + 4] == b"DONE":
            break
    assert owners == {(2000, 2000)}
    host.close_first(mine, theirs)
    host.close()
