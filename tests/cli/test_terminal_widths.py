"""The sign-off summary fits the terminal: at 80 columns it is stacked per device, at 120 a
table; serials, model IDs and failed gate names are never cut, and each failed gate is listed
under the table with its value, operator, threshold and unit. Recorded rich Consoles at those
widths, and a real run through a virtual device in tmux panes of 80 and 120 columns."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest
from rich.console import Console

from harness.android.virtual import ava_device_config
from harness.gates import Gate
from harness.reports.terminal import print_summary
from harness.signoff.results import SignoffRun
from tests.helpers import PROJECT_ROOT
from tests.reports.conftest import BASE, FAILING_SERIAL, FAST, make_run

MODEL = "AVA-ONX-384-FAST-INT8"


def _render(run: SignoffRun, width: int) -> list[str]:
    console = Console(record=True, width=width, file=open(os.devnull, "w"))  # noqa: SIM115
    print_summary(run, console)
    return console.export_text().splitlines()


def _lab_run() -> SignoffRun:
    """Three devices with long serials, one model failing a latency and a parity gate."""
    run = make_run()
    run.devices[0].serial = "127.0.0.1:44243"
    run.devices[0].props["ro.product.model"] = "AVA_Virtual_Device"
    failing = run.devices[0].models[1]
    failing.gates.append(Gate("latency_p50_ms", False, 312.5, 250.0, "budget per text"))
    run.devices[0].status = "failed"
    return run


@pytest.mark.parametrize("width", [80, 100, 120, 160])
def test_ids_serials_and_failed_gates_are_whole_at_every_width(width):
    run = _lab_run()
    lines = _render(run, width)
    text = "\n".join(lines)
    assert "…" not in text
    for serial in ("127.0.0.1:44243", FAILING_SERIAL, "emulator-5556"):
        assert any(serial in line for line in lines), (serial, text)
    for model_id in (BASE, FAST):
        assert sum(model_id in line for line in lines) >= 3, (model_id, text)  # two devices' rows + the gates
    # the failed gate names whole in the table (or the stacked block), and listed under it
    assert sum("latency_p50_ms" in line for line in lines) >= 2, text
    assert sum("parity_min_cosine" in line for line in lines) >= 2, text
    failed = lines.index("Failed gates:")
    listed = " ".join(line.strip() for line in lines[failed + 1 : lines.index("Not judged:")])
    assert f"127.0.0.1:44243 · {FAST} · latency_p50_ms = 312.5 ms, needs <= 250 ms (budget per text)" in listed
    assert f"{FAILING_SERIAL} · {FAST} · parity_min_cosine = 0.99862, needs >= 0.999 (vs x86_64 host)" in listed


def test_stacked_below_100_columns_table_at_120():
    stacked = _render(_lab_run(), 80)
    assert not any("┃" in line or "│" in line for line in stacked)
    assert "127.0.0.1:44243 (AVA_Virtual_Device)  failed" in stacked
    assert f"  {FAST}  failed: latency_p50_ms" in stacked
    assert all(len(line) <= 80 for line in stacked)

    table = _render(_lab_run(), 120)
    rows = [line for line in table if "│" in line]
    assert any(FAST in row and "0.999934" in row and "failed:" in row for row in rows), "\n".join(table)
    assert all(len(line) <= 120 for line in table)


def test_a_table_that_cannot_fit_whole_is_stacked():
    run = _lab_run()
    run.devices[1].props["ro.product.model"] = "M" * 40  # a 60-character device label, one long word
    lines = _render(run, 120)
    assert not any("│" in line for line in lines)
    assert f"{FAILING_SERIAL} ({'M' * 40})  failed" in lines


def _tmux_capture(width: int, command: str, socket: str) -> list[str]:
    """Run `command` in a detached tmux pane `width` columns wide; its screen and history."""
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", str(width), "-y", "60", "-s", "w", command], check=True, timeout=30
    )
    subprocess.run([*tmux, "set-option", "-t", "w", "remain-on-exit", "on"], check=True, timeout=30)
    try:
        for _ in range(600):  # bounded wait for the run to end (not a timing assertion)
            dead = subprocess.run(
                [*tmux, "display-message", "-p", "-t", "w", "#{pane_dead}"], capture_output=True, text=True, timeout=30
            ).stdout.strip()
            if dead == "1":
                break
            time.sleep(0.5)
        captured = subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", "w", "-S", "-"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=30)
    return captured.splitlines()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize("width", [80, 120])
def test_a_real_run_in_a_tmux_pane(virtual_devices, adb_server, model_file, tmp_path, width):
    model_file(MODEL)
    (device,) = virtual_devices(1, config=ava_device_config())
    args = [
        sys.executable, "-m", "harness.cli.app", "deploy-test", "--device", device.serial, "--models", MODEL,
        "--adb-server", f"127.0.0.1:{adb_server.port}", "--iterations", "3", "--host-eval-limit", "40",
        "--reports-dir", str(tmp_path / "reports"), "--latency-budget-ms", "0.0001", "--gate-latency-on-emulators",
    ]  # fmt: skip
    command = (
        f"cd {shlex.quote(str(PROJECT_ROOT))} && env -u COLUMNS ANDROID_ADB_SERVER_PORT={adb_server.port}"
        f" {shlex.join(args)}; echo exit=$?"
    )
    lines = _tmux_capture(width, command, f"ava-widths-{os.getpid()}-{width}")
    text = "\n".join(lines)
    assert "exit=1" in lines, text
    assert all(len(line) <= width for line in lines), text
    summary = lines[next(i for i, line in enumerate(lines) if line.startswith("FAIL")) :]
    assert "…" not in "\n".join(summary)
    assert any(device.serial in line for line in summary) and any(MODEL in line for line in summary), text
    failed = summary.index("Failed gates:")
    listed = " ".join(line.strip() for line in summary[failed + 1 : failed + 4])
    assert f"{device.serial} · {MODEL} · latency_p50_ms = " in listed and "ms, needs <= 0.0001 ms" in listed, text
