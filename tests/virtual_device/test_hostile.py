"""A lying device, configured on the virtual device (no mocks): tamper_file edits what the app
wrote as the instrumentation finishes, rewrite_status edits what am instrument prints, props may
hold anything. Every check reads back what the host gets through adb."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from virtual_device import faults
from virtual_device.config import HELLO_COMPONENT
from virtual_device.faults import Fault, json_raw, json_repeat
from virtual_device.host import VirtualDeviceHandle
from virtual_device.testing.pytest_plugin import AdbServer

from .conftest import shell

WRITER = "com.example.hello.test/com.example.Writer"
OUT = "/sdcard/Android/data/com.example.hello/files/run/out"


@pytest.fixture
def writer(virtual_devices) -> VirtualDeviceHandle:
    return virtual_devices(1, instrumentations={WRITER: "virtual_device.apps.builtin:write_outputs"})[0]


def instrument(adb_server: AdbServer, serial: str, models: str = "A,B") -> str:
    res = adb_server.run("-s", serial, "shell", f"am instrument -w -r -e out {OUT} -e models {models} {WRITER}")
    assert res.returncode == 0 and "INSTRUMENTATION_CODE: -1" in res.stdout, res
    return res.stdout


def pull(adb_server: AdbServer, serial: str, device_path: str, tmp_path: Path) -> bytes:
    local = tmp_path / device_path.replace("/", "_")
    res = adb_server.run("-s", serial, "pull", device_path, str(local))
    assert res.returncode == 0, res.stderr
    return local.read_bytes()


def shell_bytes(adb_server: AdbServer, serial: str, command: str) -> bytes:
    """stdout as bytes: text mode would turn a lone \\r into \\n."""
    res = subprocess.run(
        [adb_server.adb_path, "-P", str(adb_server.port), "-s", serial, "shell", command],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert res.returncode == 0, res
    return res.stdout


def cat_json(adb_server: AdbServer, serial: str, device_path: str) -> dict:
    res = shell(adb_server, serial, f"cat {device_path}")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_json_field_replaced_in_one_model_only(adb_server: AdbServer, writer: VirtualDeviceHandle) -> None:
    writer.faults.tamper_file("*/out/A/result.json", json_set={"latencyMs": [1.0], "chapterTests.test1": False})
    instrument(adb_server, writer.serial)
    a = cat_json(adb_server, writer.serial, f"{OUT}/A/result.json")
    assert a["latencyMs"] == [1.0] and a["chapterTests"] == {"test1": False}
    assert a["modelId"] == "A" and a["loadMs"] == 12.0  # the rest is what the app wrote
    assert cat_json(adb_server, writer.serial, f"{OUT}/B/result.json")["latencyMs"] == [1.5, 2.5, 3.5]
    # One-shot: the next run's output is the app's own.
    instrument(adb_server, writer.serial)
    assert cat_json(adb_server, writer.serial, f"{OUT}/A/result.json")["latencyMs"] == [1.5, 2.5, 3.5]


def test_raw_json_and_wrong_types(adb_server: AdbServer, writer: VirtualDeviceHandle) -> None:
    writer.faults.tamper_file(
        f"{OUT}/A/result.json",
        json_set={"loadMs": json_raw("1e400"), "latencyMs": ["fast", None, json_raw("NaN")], "modelId": 7},
        json_delete=["chapterTests"],
    )
    instrument(adb_server, writer.serial)
    text = shell(adb_server, writer.serial, f"cat {OUT}/A/result.json").stdout
    assert '"loadMs": 1e400' in text
    doc = json.loads(text)  # Python reads 1e400 as inf and NaN as nan, as a lenient parser would
    assert doc["loadMs"] == float("inf") and doc["modelId"] == 7 and "chapterTests" not in doc
    assert doc["latencyMs"][:2] == ["fast", None] and doc["latencyMs"][2] != doc["latencyMs"][2]


def test_ten_million_latency_samples(adb_server: AdbServer, writer: VirtualDeviceHandle, tmp_path: Path) -> None:
    writer.faults.tamper_file("*/out/B/result.json", json_set={"latencyMs": json_repeat(1.25, 10_000_000)})
    instrument(adb_server, writer.serial)
    data = pull(adb_server, writer.serial, f"{OUT}/B/result.json", tmp_path)
    start = data.index(b'"latencyMs": [') + len(b'"latencyMs": [')
    end = data.index(b"]", start)
    samples = data[start:end]
    assert samples.count(b",") == 10_000_000 - 1 and samples.startswith(b"1.25, 1.25") and samples.endswith(b"1.25")
    # The document around the list is intact JSON.
    head = json.loads(data[: data.index(b'"latencyMs"')].decode().rstrip().rstrip(",") + "}")
    tail = json.loads(b"{" + data[end + 1 :].lstrip().lstrip(b","))
    assert head == {"modelId": "B"} and tail == {"loadMs": 12.0, "chapterTests": {"test1": True}}


def test_npy_filled_with_nan_keeps_shape_and_dtype(
    adb_server: AdbServer, writer: VirtualDeviceHandle, tmp_path: Path
) -> None:
    writer.faults.tamper_file("*/out/A/embeddings.npy", npy_fill=float("nan"))
    instrument(adb_server, writer.serial)
    tampered = np.load(io.BytesIO(pull(adb_server, writer.serial, f"{OUT}/A/embeddings.npy", tmp_path)))
    assert tampered.shape == (3, 4) and tampered.dtype == np.dtype("<f4") and np.isnan(tampered).all()
    intact = np.load(io.BytesIO(pull(adb_server, writer.serial, f"{OUT}/B/embeddings.npy", tmp_path)))
    assert np.array_equal(intact, np.arange(12, dtype="<f4").reshape(3, 4))


def test_file_deleted_replaced_and_truncated(
    adb_server: AdbServer, writer: VirtualDeviceHandle, tmp_path: Path
) -> None:
    garbage = bytes(range(256)) * 3
    writer.faults.tamper_file("*/out/A/token_ids.json", delete=True)
    writer.faults.tamper_file("*/out/A/result.json", replace_bytes=garbage)
    writer.faults.tamper_file("*/out/B/embeddings.npy", truncate=40)
    instrument(adb_server, writer.serial)
    res = shell(adb_server, writer.serial, f"ls {OUT}/A/token_ids.json")
    assert res.returncode == 1 and "No such file or directory" in res.stderr
    assert pull(adb_server, writer.serial, f"{OUT}/A/result.json", tmp_path) == garbage
    assert len(pull(adb_server, writer.serial, f"{OUT}/B/embeddings.npy", tmp_path)) == 40
    assert shell(adb_server, writer.serial, f"ls {OUT}/B/token_ids.json").returncode == 0
    assert not [p for p in writer.sandbox.rglob("*") if ".vdtmp" in p.name]


def test_persistent_tamper_and_clear(adb_server: AdbServer, writer: VirtualDeviceHandle) -> None:
    writer.faults.tamper_file("*/out/*/result.json", json_set={"loadMs": -1}, persistent=True)
    for _ in range(2):
        instrument(adb_server, writer.serial)
        assert [cat_json(adb_server, writer.serial, f"{OUT}/{m}/result.json")["loadMs"] for m in "AB"] == [-1, -1]
    writer.faults.clear()
    instrument(adb_server, writer.serial)
    assert cat_json(adb_server, writer.serial, f"{OUT}/A/result.json")["loadMs"] == 12.0


def test_tamper_from_the_device_config(adb_server: AdbServer, virtual_devices) -> None:
    """DeviceConfig.faults (as a daemon or ava_device_config(faults=...) gets them): Fault objects or
    their JSON form, NaN included."""
    armed = [
        faults.tamper_file("*/out/A/embeddings.npy", npy_fill=float("nan")),
        faults.tamper_file("*/out/A/result.json", json_set={"latencyMs": [1.0]}).to_dict(),
        faults.rewrite_status("test", "[/bold]"),
    ]
    (dev,) = virtual_devices(1, instrumentations={WRITER: "virtual_device.apps.builtin:write_outputs"}, faults=armed)
    assert all(isinstance(f, dict) for f in dev.config.faults)
    assert dev.config.replace().faults == dev.config.faults  # round-trips through JSON
    out = instrument(adb_server, dev.serial)
    assert "INSTRUMENTATION_STATUS: test=[/bold]\n" in out
    assert cat_json(adb_server, dev.serial, f"{OUT}/A/result.json")["latencyMs"] == [1.0]
    assert np.isnan(np.load(dev.host_path(f"{OUT}/A/embeddings.npy"))).all()


def test_hostile_test_names_and_status_values(adb_server: AdbServer, virtual_device: VirtualDeviceHandle) -> None:
    virtual_device.faults.rewrite_status("test", "[/bold]{value}\x1b[2J")
    virtual_device.faults.rewrite_status("class", "[red]x\r[/red]", match="com.example.*")
    out = shell_bytes(adb_server, virtual_device.serial, f"am instrument -w -r {HELLO_COMPONENT}")
    assert out.count(b"INSTRUMENTATION_STATUS: test=[/bold]sayHello\x1b[2J\n") == 2
    assert out.count(b"INSTRUMENTATION_STATUS: class=[red]x\r[/red]\n") == 2
    assert b"INSTRUMENTATION_CODE: -1" in out
    # One-shot: the next run is clean.
    again = shell_bytes(adb_server, virtual_device.serial, f"am instrument -w -r {HELLO_COMPONENT}")
    assert b"test=sayHello\n" in again and b"\x1b" not in again and b"\r" not in again


def test_rewritten_values_may_inject_lines(adb_server: AdbServer, virtual_device: VirtualDeviceHandle) -> None:
    virtual_device.faults.rewrite_status("test", "x\nINSTRUMENTATION_CODE: 0")
    virtual_device.faults.rewrite_status("id", "a{value}")
    virtual_device.faults.rewrite_status("id", "b{value}")  # both apply, in the order armed
    virtual_device.faults.rewrite_status("shortMsg", "never", match="*")  # no such line: nothing
    out = shell_bytes(adb_server, virtual_device.serial, f"am instrument -w -r {HELLO_COMPONENT}")
    assert out.count(b"INSTRUMENTATION_STATUS: test=x\nINSTRUMENTATION_CODE: 0\n") == 2
    assert out.count(b"INSTRUMENTATION_STATUS: id=baAndroidJUnitRunner\n") == 2 and b"never" not in out


def test_props_with_control_characters(adb_server: AdbServer, virtual_devices) -> None:
    hostile = {"ro.product.model": "[/bold]Pixel\x1b[2J", "ro.build.fingerprint": "a\rb\tc", "ro.serialno": "x\x07y"}
    (dev,) = virtual_devices(1, extra_props=hostile)
    for key, value in hostile.items():
        assert shell_bytes(adb_server, dev.serial, f"getprop {key}") == value.encode() + b"\n"
    assert b"[ro.product.model]: [[/bold]Pixel\x1b[2J]" in shell_bytes(adb_server, dev.serial, "getprop")


def test_bad_faults_are_refused_when_armed() -> None:
    with pytest.raises(ValueError, match="edits"):
        faults.tamper_file("*/x.json")
    with pytest.raises(ValueError):
        faults.tamper_file("*/x.npy", npy_fill="lots")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status key"):
        faults.rewrite_status("a=b", "x")
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("tamper")
    with pytest.raises(ValueError, match="count"):
        json_repeat(1, -1)


def test_globs_and_json_writer_unit(tmp_path: Path) -> None:
    from virtual_device.storage import Storage
    from virtual_device.tamper import matching_files, write_json

    storage = Storage(tmp_path, 10**9, ["com.x"])
    target = storage.host_path("/sdcard/Android/data/com.x/files/out/A/result.json")
    target.parent.mkdir(parents=True)
    target.write_text("{}")
    storage.host_path("/data/local/tmp/result.json").write_text("{}")
    for glob in (
        "/sdcard/Android/data/com.x/files/out/A/result.json",  # no wildcard
        "/storage/emulated/0/Android/*/A/result.json",  # an alias of /sdcard
        "/sd*/Android/data/*/result.json",  # a wildcard above the roots
        "out/A/result.json",  # relative: at any depth
    ):
        assert [host for _dev, host in matching_files(storage, glob)] == [target], glob
    assert len(matching_files(storage, "result.json")) == 2
    assert matching_files(storage, "/system/*") == [] and matching_files(storage, "/nowhere/x") == []
    for count, expected in ((0, "[]"), (1, "[2]"), (3, "[2, 2, 2]")):
        buffer = io.BytesIO()
        write_json({"a": json_repeat(2, count), "b": [json_raw("1e400")]}, buffer)
        assert buffer.getvalue().decode() == f'{{\n "a": {expected},\n "b": [\n  1e400\n ]\n}}'
