"""`ava-harness doctor` as a user runs it: a healthy set-up exits 0; no adb exits non-zero with
one error line naming the fix."""

from __future__ import annotations

from tests.helpers import assert_user_error, run_cli


def test_doctor_healthy_lists_the_virtual_device(virtual_devices, adb_server):
    (device,) = virtual_devices(1)
    result = run_cli("doctor", env={"ANDROID_ADB_SERVER_PORT": str(adb_server.port)}, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok") and "adb binary:" in line and "Android Debug Bridge" in line for line in lines)
    assert any(line.startswith("ok") and f"adb server: 127.0.0.1:{adb_server.port}" in line for line in lines)
    assert any(line.startswith("ok") and f"devices: {device.serial} (device)" in line for line in lines)
    for name in ("Python:", "packages: onnxruntime", "models:", "arm64 runtime:", "kotlinc:", "Chromium:", "disk:"):
        assert any(name in line for line in lines), (name, result.stdout)
    assert "0 failed" in result.stdout and "error:" not in result.stderr


def test_doctor_without_adb_names_the_fix(tmp_path):
    result = run_cli(
        "doctor",
        env={"ADB": str(tmp_path / "nowhere" / "adb"), "ANDROID_ADB_SERVER_PORT": "1"},
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert_user_error(result, "adb binary", "nowhere/adb", "fix: install Android SDK platform-tools", "ADB")
    assert "FAIL  adb binary" in result.stdout and "nothing answers at 127.0.0.1:1" in result.stdout
