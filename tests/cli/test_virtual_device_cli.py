"""`ava-harness virtual-device start`, then the plain adb CLI shells, pushes and pulls; `stop`
ends it. Against the private adb server (ANDROID_ADB_SERVER_PORT), never the user's."""

from __future__ import annotations

import hashlib
import os

from tests.helpers import run_cli


def test_start_then_plain_adb_shell_push_pull_then_stop(adb_server, tmp_path):
    env = {"ANDROID_ADB_SERVER_PORT": str(adb_server.port), "AVA_VIRTUAL_DEVICE_STATE": str(tmp_path / "state.json")}
    started = run_cli("virtual-device", "start", "--count", "2", env=env, timeout=120)
    assert started.returncode == 0, started.stderr
    serials = started.stdout.split()
    assert len(serials) == 2 and all(s.startswith("127.0.0.1:") for s in serials)
    try:
        listing = adb_server.run("devices", "-l").stdout
        assert all(f"{s}" in listing for s in serials) and "model:AVA_Virtual_Device" in listing
        assert adb_server.run("-s", serials[0], "shell", "echo", "hi").stdout == "hi\n"
        instrumentation = adb_server.run("-s", serials[0], "shell", "pm", "list", "instrumentation").stdout
        assert "com.augmentalis.ava.test/androidx.test.runner.AndroidJUnitRunner" in instrumentation
        payload = os.urandom(3_000_001)
        (tmp_path / "up.bin").write_bytes(payload)
        remote = "/sdcard/Android/data/com.augmentalis.ava/files/up.bin"
        assert adb_server.run("-s", serials[1], "push", str(tmp_path / "up.bin"), remote).returncode == 0
        assert adb_server.run("-s", serials[1], "pull", remote, str(tmp_path / "down.bin")).returncode == 0
        assert hashlib.sha256((tmp_path / "down.bin").read_bytes()).digest() == hashlib.sha256(payload).digest()
    finally:
        stopped = run_cli("virtual-device", "stop", env=env, timeout=60)
    assert stopped.returncode == 0 and all(f"stopped {s}" in stopped.stdout for s in serials)
    assert all(s not in adb_server.run("devices").stdout for s in serials)
