"""Start-up and memory per device and model (contract v4), end to end through the virtual device:
the Python reference measures the load, the cold run, the warm-up and the process's resident
memory around the load and the inferences; the host validates them and shows them in
signoff.json, the terminal summary and signoff.html."""

from __future__ import annotations

import json
import os
import re

from rich.console import Console

from harness.android.contract import RunSettings
from harness.android.virtual import ava_device_config
from harness.reports.terminal import print_summary
from harness.reports.writers import write_reports
from harness.signoff.pipeline import deploy_test

FAST = "AVA-ONX-384-FAST-INT8"


def test_start_up_and_memory_arrive_and_are_plausible(virtual_devices, deploy_options, tmp_path):
    (device,) = virtual_devices(1, config=ava_device_config())
    options = deploy_options(FAST, settings=RunSettings(iterations=4, warmup=2, threads=1))
    run = deploy_test([device.serial], options)
    (record,) = run.devices
    (model,) = record.models
    assert record.status == "passed", record.error
    startup = model.startup
    assert startup["load_ms"] > 0 and startup["cold_ms"] > 0
    assert startup["warmup_ms"] > 0 and startup["warmup_runs"] == 2 and startup["samples"] == 4
    assert 0 < startup["p50_ms"] <= startup["p90_ms"] <= startup["p99_ms"] <= max(model.latency_samples_ms)
    memory = startup["memory_kb"]
    assert set(memory) == {"before_load", "peak_load", "after_load", "peak_inference"}
    assert all(isinstance(kb, int) and kb > 0 for kb in memory.values()), memory
    assert startup["load_delta_kb"] == memory["peak_load"] - memory["before_load"] >= 0
    assert startup["inference_delta_kb"] == memory["peak_inference"] - memory["after_load"] >= 0
    assert startup["load_ms"] == model.latency_ms["load_ms"] and startup["cold_ms"] == model.latency_ms["cold_ms"]

    write_reports(run, tmp_path)
    signoff = json.loads((tmp_path / "signoff.json").read_text())
    assert signoff["devices"][0]["models"][0]["startup"] == startup

    page = (tmp_path / "signoff.html").read_text()
    table = page[page.index('<table class="startup">') :]
    table = table[: table.index("</table>")]
    assert f">{FAST}<" in table and "(2 runs)" in table
    # load, cold, warm-up, p50, p90, p99 with their units; the two deltas signed, with theirs
    assert len(re.findall(r'<td class="num">[0-9.]+ (?:ms|s)[< ]', table)) == 6
    assert len(re.findall(r'<td class="num">\+[0-9.]+ (?:kB|MB)<', table)) == 2

    console = Console(record=True, width=160, file=open(os.devnull, "w"))  # noqa: SIM115
    print_summary(run, console)
    text = console.export_text()
    block = " ".join(text[text.index("Start-up and memory") :].split())  # a long line folds at the width
    line = block[block.index(f"{device.serial} · {FAST}: load ") :]
    assert re.match(
        rf"{re.escape(device.serial)} · {FAST}: load [0-9.]+ m?s · cold [0-9.]+ m?s · warm-up [0-9.]+ m?s \(2 runs\)"
        r" · p50/p90/p99 [0-9.]+/[0-9.]+/[0-9.]+ ms · memory \+[0-9.]+ [kM]B load, \+[0-9.]+ [kM]B inference",
        line,
    ), line
