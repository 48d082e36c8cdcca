"""`adb install` / `adb uninstall` of real APKs built with Debian's aapt and signed with apksigner
(skipped where they are absent: `apt-get install aapt apksigner android-framework-res`)."""

from __future__ import annotations

import datetime
import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from virtual_device.host import VirtualDeviceHandle
from virtual_device.packages import apk_path
from virtual_device.testing.pytest_plugin import AdbServer

FRAMEWORK = Path("/usr/share/android-framework-res/framework-res.apk")
PAYLOAD = b"virtual-device-payload " * 8
RUNNER = "androidx.test.runner.AndroidJUnitRunner"

pytestmark = pytest.mark.skipif(
    not (shutil.which("aapt") and shutil.which("apksigner") and FRAMEWORK.is_file())
    or not all(importlib.util.find_spec(m) for m in ("pyaxmlparser", "apksigtool", "cryptography")),
    reason="needs aapt, apksigner, android-framework-res (apt) and pyaxmlparser, apksigtool (PyPI)",
)


def _key(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # like a debug.keystore
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, directory.name)])
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=36500))
        .sign(key, hashes.SHA256())
    )
    pk8, pem = directory / "key.pk8", directory / "cert.pem"
    pk8.write_bytes(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pk8, pem


def build_apk(
    directory: Path,
    package: str,
    *,
    version: int = 1,
    target: str | None = None,
    sign: bool = True,
    signer: str = "key-a",
) -> Path:
    """A real APK: binary manifest from aapt, v2/v3 signature from apksigner. `target` adds an
    <instrumentation> of AndroidJUnitRunner for that package."""
    work = directory / f"{package}-{version}-{signer}"
    work.mkdir(parents=True)
    instr = f'<instrumentation android:name="{RUNNER}" android:targetPackage="{target}"/>' if target else ""
    (work / "AndroidManifest.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<manifest xmlns:android="http://schemas.android.com/apk/res/android" '
        f'package="{package}" android:versionCode="{version}" android:versionName="{version}.0">\n'
        '<uses-sdk android:minSdkVersion="24" android:targetSdkVersion="34"/>\n'
        f'<application android:debuggable="true"/>{instr}\n</manifest>\n'
    )
    assets = work / "assets"
    assets.mkdir()
    (assets / "payload.bin").write_bytes(PAYLOAD)  # stored: a test can change it without breaking the zip
    unsigned = work / "unsigned.apk"
    manifest = work / "AndroidManifest.xml"
    aapt = ["aapt", "package", "-f", "-0", "bin", "-M", str(manifest), "-I", str(FRAMEWORK), "-A", str(assets)]
    subprocess.run(
        [*aapt, "-F", str(unsigned)],
        check=True,
        capture_output=True,
    )
    if not sign:
        return unsigned
    keys = directory / signer
    if not keys.is_dir():
        keys.mkdir()
        _key(keys)
    signed = work / f"{package}.apk"
    subprocess.run(
        [
            "apksigner",
            "sign",
            "--key",
            str(keys / "key.pk8"),
            "--cert",
            str(keys / "cert.pem"),
            "--out",
            str(signed),
            str(unsigned),
        ],
        check=True,
        capture_output=True,
    )
    return signed


def adb(adb_server: AdbServer, dev: VirtualDeviceHandle, *args: str) -> subprocess.CompletedProcess:
    return adb_server.run("-s", dev.serial, *args, timeout=120)


def test_install_registers_package_version_and_instrumentation(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle, tmp_path: Path
) -> None:
    dev = virtual_device
    app = build_apk(tmp_path, "com.example.demo", version=7)
    tests = build_apk(tmp_path, "com.example.demo.test", target="com.example.demo")
    for apk in (app, tests):
        res = adb(adb_server, dev, "install", str(apk))
        assert res.returncode == 0, res.stdout + res.stderr
        # The device advertises `cmd`: adb streams the APK to `cmd package install -S SIZE`.
        assert res.stdout.splitlines() == ["Performing Streamed Install", "Success"]
    listed = adb(adb_server, dev, "shell", "pm", "list", "packages").stdout.splitlines()
    assert {"package:com.example.demo", "package:com.example.demo.test"} <= set(listed)
    instr = adb(adb_server, dev, "shell", "pm list instrumentation").stdout
    assert f"instrumentation:com.example.demo.test/{RUNNER} (target=com.example.demo)\n" in instr
    path = adb(adb_server, dev, "shell", "pm path com.example.demo").stdout
    assert path == f"package:{apk_path('com.example.demo')}\n"
    full = adb(adb_server, dev, "shell", "pm list packages -f demo").stdout
    assert f"package:{apk_path('com.example.demo')}=com.example.demo\n" in full
    dump = adb(adb_server, dev, "shell", "dumpsys package com.example.demo").stdout
    assert "Package [com.example.demo]" in dump and "versionCode=7 minSdk=24 targetSdk=34" in dump
    assert "versionName=7.0" in dump
    # Nothing was left in /data/local/tmp; the app data directories exist.
    assert adb(adb_server, dev, "shell", "ls /data/local/tmp").stdout == ""
    assert adb(adb_server, dev, "shell", "ls -d /sdcard/Android/data/com.example.demo").returncode == 0
    # Not bound to a Python entry: the runner class cannot be loaded, as when the APK lacks it.
    out = adb(adb_server, dev, "shell", f"am instrument -w -r com.example.demo.test/{RUNNER}").stdout
    assert "INSTRUMENTATION_RESULT: shortMsg=java.lang.RuntimeException" in out
    assert "ClassNotFoundException" in out


def test_installed_instrumentation_runs_the_entry_bound_to_its_package(
    adb_server: AdbServer, virtual_devices, tmp_path: Path
) -> None:
    (dev,) = virtual_devices(1, instrumentation_entries={"com.example.demo.test": "virtual_device.apps.builtin:hello"})
    tests = build_apk(tmp_path, "com.example.demo.test", target="com.example.demo")
    assert adb(adb_server, dev, "install", "-r", "-t", str(tests)).returncode == 0
    out = adb(adb_server, dev, "shell", f"am instrument -w -r com.example.demo.test/{RUNNER}").stdout
    assert "OK (1 test)" in out and "INSTRUMENTATION_CODE: -1" in out


def test_pushed_apk_installs_with_pm_as_adb_without_cmd_does(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle, tmp_path: Path
) -> None:
    dev = virtual_device
    apk = build_apk(tmp_path, "com.example.pushed", version=4)
    assert adb(adb_server, dev, "push", str(apk), "/data/local/tmp/pushed.apk").returncode == 0
    res = adb(adb_server, dev, "shell", "pm install -r /data/local/tmp/pushed.apk")
    assert (res.returncode, res.stdout) == (0, "Success\n")
    assert "versionCode=4 " in adb(adb_server, dev, "shell", "dumpsys package com.example.pushed").stdout


def test_unsigned_and_corrupt_apks_fail_like_a_phone(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle, tmp_path: Path
) -> None:
    dev = virtual_device
    unsigned = build_apk(tmp_path, "com.example.unsigned", sign=False)
    res = adb(adb_server, dev, "install", str(unsigned))
    assert res.returncode != 0
    assert "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: " in res.stdout + res.stderr
    corrupt = tmp_path / "corrupt.apk"
    corrupt.write_bytes(b"PK\x03\x04 this is no zip file" * 100)
    res = adb(adb_server, dev, "install", str(corrupt))
    assert res.returncode != 0
    assert "Failure [INSTALL_PARSE_FAILED_NOT_APK: " in res.stdout + res.stderr
    # A signed APK whose bytes were changed after signing does not verify.
    signed = build_apk(tmp_path, "com.example.tampered")
    data = bytearray(signed.read_bytes())
    data[data.index(PAYLOAD)] ^= 0x01  # an asset's bytes: the zip still reads, the v2 digest does not match
    tampered = tmp_path / "tampered.apk"
    tampered.write_bytes(bytes(data))
    res = adb(adb_server, dev, "install", str(tampered))
    assert "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: " in res.stdout + res.stderr
    listed = adb(adb_server, dev, "shell", "pm list packages example").stdout
    assert "unsigned" not in listed and "tampered" not in listed


def test_update_downgrade_other_signer_and_uninstall(
    adb_server: AdbServer, virtual_device: VirtualDeviceHandle, tmp_path: Path
) -> None:
    dev = virtual_device
    assert adb(adb_server, dev, "install", str(build_apk(tmp_path, "com.example.demo", version=2))).returncode == 0
    assert adb(adb_server, dev, "install", str(build_apk(tmp_path, "com.example.demo", version=3))).returncode == 0
    res = adb(adb_server, dev, "install", str(build_apk(tmp_path, "com.example.demo", version=1)))
    assert "Failure [INSTALL_FAILED_VERSION_DOWNGRADE: " in res.stdout + res.stderr
    res = adb(adb_server, dev, "install", str(build_apk(tmp_path, "com.example.demo", version=4, signer="key-b")))
    assert "Failure [INSTALL_FAILED_UPDATE_INCOMPATIBLE: " in res.stdout + res.stderr
    assert "versionCode=3 " in adb(adb_server, dev, "shell", "dumpsys package com.example.demo").stdout
    # App data goes with the package.
    assert adb(adb_server, dev, "shell", "echo x > /sdcard/Android/data/com.example.demo/files/f").returncode == 0
    res = adb(adb_server, dev, "uninstall", "com.example.demo")
    assert (res.returncode, res.stdout.strip()) == (0, "Success")
    assert "com.example.demo" not in adb(adb_server, dev, "shell", "pm list packages").stdout
    assert not dev.host_path("/sdcard/Android/data/com.example.demo").exists()
    assert adb(adb_server, dev, "shell", "pm path com.example.demo").returncode == 1
    res = adb(adb_server, dev, "uninstall", "com.example.demo")
    assert "Failure [DELETE_FAILED_INTERNAL_ERROR]" in res.stdout + res.stderr
    dump = adb(adb_server, dev, "shell", "dumpsys package com.example.demo").stdout
    assert dump == "Unable to find package: com.example.demo\n"


def test_cmd_package_install_reads_the_apk_from_stdin(tmp_path: Path) -> None:
    """The streamed install (`cmd package install -S SIZE`, APK on stdin), without adb."""
    import asyncio

    from virtual_device.config import DeviceConfig
    from virtual_device.faults import FaultInjector
    from virtual_device.shell.commands import COMMANDS
    from virtual_device.shell.interpreter import ShellSession
    from virtual_device.storage import Storage

    from .test_shell_unit import FakeDevice

    config = DeviceConfig()
    device = FakeDevice(
        config, Storage(tmp_path / "sandbox", config.capacity_bytes, config.all_packages), FaultInjector()
    )
    apk = build_apk(tmp_path, "com.example.streamed", version=5).read_bytes()

    def run(command: str, stdin: bytes, exactly: bool) -> tuple[int, str]:
        out = bytearray()

        async def sink(data: bytes) -> None:
            out.extend(data)

        async def main() -> int:
            session = ShellSession(device, sink, sink, commands=COMMANDS)

            async def read_all() -> bytes:
                return stdin

            async def read_exactly(n: int) -> bytes:
                return stdin[:n]

            session.stdin_source = read_all
            if exactly:
                session.stdin_exactly = read_exactly
            return await session.run(command)

        return asyncio.run(main()), out.decode()

    assert run(f"cmd package install -S {len(apk)}", apk + b"trailing", exactly=True) == (0, "Success\n")
    assert "package:com.example.streamed\n" in run("cmd package list packages streamed", b"", exactly=False)[1]
    code, out = run("cmd package install -S 100", b"\x00" * 100, exactly=False)
    assert code == 1 and out.startswith("Failure [INSTALL_PARSE_FAILED_NOT_APK: ")
    assert run("pm uninstall com.example.streamed", b"", exactly=False) == (0, "Success\n")


def test_installed_packages_survive_a_restart_over_the_same_sandbox(tmp_path: Path) -> None:
    import asyncio

    from virtual_device.config import DeviceConfig
    from virtual_device.faults import FaultInjector
    from virtual_device.shell.commands import COMMANDS
    from virtual_device.shell.interpreter import ShellSession
    from virtual_device.storage import Storage

    from .test_shell_unit import FakeDevice

    apk = build_apk(tmp_path, "com.example.kept.test", version=9, target="com.example.kept")

    def boot() -> FakeDevice:
        config = DeviceConfig(instrumentation_entries={"com.example.kept.test": "virtual_device.apps.builtin:hello"})
        return FakeDevice(
            config, Storage(tmp_path / "sandbox", config.capacity_bytes, config.all_packages), FaultInjector()
        )

    def run(device: FakeDevice, command: str) -> tuple[int, str]:
        out = bytearray()

        async def sink(data: bytes) -> None:
            out.extend(data)

        code = asyncio.run(ShellSession(device, sink, sink, commands=COMMANDS).run(command))
        return code, out.decode()

    first = boot()
    (tmp_path / "sandbox" / "data" / "local" / "tmp").mkdir(parents=True, exist_ok=True)
    (tmp_path / "sandbox" / "data" / "local" / "tmp" / "k.apk").write_bytes(apk.read_bytes())
    assert run(first, "pm install /data/local/tmp/k.apk") == (0, "Success\n")
    second = boot()
    assert "versionCode=9 " in run(second, "dumpsys package com.example.kept.test")[1]
    out = run(second, f"am instrument -w -r com.example.kept.test/{RUNNER}")[1]
    assert "OK (1 test)" in out
    assert run(second, "pm uninstall com.example.kept.test") == (0, "Success\n")
    assert "kept" not in run(boot(), "pm list packages")[1]
