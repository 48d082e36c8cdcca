"""The Kotlin device side runs for real: `am instrument` on a virtual device starts one JVM with
device_tests/android's sign-off (EmbeddingSignoffTest, the reference app's ONNXEmbeddingProvider)
over real ONNX Runtime (ort-jvm.jar), through the real adb server. One device and one passing run
are shared by the module; the faults re-run `am instrument` on that run's pushed files."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.android.adb import AdbServer
from harness.android.contract import DEFAULT_APP_PACKAGE, DEFAULT_RUNNER, DEFAULT_TEST_PACKAGE, RunSettings
from harness.android.instrumentation import InstrumentationRun, parse_output
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "device_tests" / "android" / "build.sh"
MODELS = ("AVA-ONX-384-BASE-INT8", "AVA-ONX-384-FAST-INT8")  # the Makefile's default MODELS
TEST_CLASS = "com.augmentalis.ava.harness.EmbeddingSignoffTest"
FILES = f"/sdcard/Android/data/{DEFAULT_APP_PACKAGE}/files"
CHECKS = ("modelLoads", "embeddingsValid", "ragRanking", "modelParity", "endToEnd", "latency")

pytestmark = pytest.mark.jvm


@pytest.fixture(scope="module")
def jvm_app() -> None:
    subprocess.run([str(BUILD)], check=True, timeout=900)


@pytest.fixture(scope="module")
def kotlin_device(adb_server, jvm_app, tmp_path_factory) -> Iterator[Any]:
    """One virtual device hosting the Kotlin app, for the whole module."""
    from harness.android.virtual import ava_kotlin_device_config
    from virtual_device import adbtools
    from virtual_device.host import DeviceHost

    host = DeviceHost()
    handle = host.add_device(ava_kotlin_device_config(), sandbox=tmp_path_factory.mktemp("kotlin-device"))
    adbtools.connect(adb_server.adb_path, adb_server.port, handle.serial)
    try:
        yield handle
    finally:
        adbtools.disconnect(adb_server.adb_path, adb_server.port, handle.serial)
        host.close()


def options(adb_server, model_file, tmp_path: Path, mode: str = "both") -> DeployOptions:
    for model_id in MODELS:
        model_file(model_id)
    return DeployOptions(
        model_ids=list(MODELS),
        servers=[AdbServer("127.0.0.1", adb_server.port)],
        settings=RunSettings(mode=mode, iterations=3, warmup=1, threads=1),
        host_eval_limit=40,
        adb_timeout=20,
        instrument_timeout=300,
        idle_timeout=120,
        reports_dir=tmp_path,
    )


@pytest.fixture(scope="module")
def both_run(kotlin_device, adb_server, model_file, tmp_path_factory) -> Any:
    """deploy-test, mode `both`, the two default models, on the Kotlin device."""
    return deploy_test([kotlin_device.serial], options(adb_server, model_file, tmp_path_factory.mktemp("reports")))


def instrument(adb_server, serial: str, request: str, *extra: str) -> InstrumentationRun:
    """`am instrument -w -r` by hand, as a developer would repeat it (README, step 6)."""
    args = " ".join(f"-e {shlex.quote(k)} {shlex.quote(v)}" for k, v in zip(extra[::2], extra[1::2], strict=True))
    command = (
        f"am instrument -w -r -e class {TEST_CLASS} -e ava.request {request} {args} "
        f"{DEFAULT_TEST_PACKAGE}/{DEFAULT_RUNNER}"
    )
    out = adb_server.run("-s", serial, "shell", command, timeout=300)
    return parse_output(out.stdout)


def device_run_dir(kotlin_device, run_id: str) -> str:
    return f"{FILES}/ava-harness/runs/{run_id}"


def test_both_modes_pass_for_the_default_models(both_run, kotlin_device):
    (record,) = both_run.devices
    failed = [(m.model_id, g) for m in record.models for g in m.gates if not g.passed]
    assert record.status == "passed", (record.error, failed)
    assert [m.model_id for m in record.models] == list(MODELS)
    for model in record.models:
        assert model.ort_version == "1.30.0"  # the JVM's ONNX Runtime, not the host's Python one
        assert model.chapter_tests == {
            "test1_loads_with_dimension": True,
            "test2_embeddings_valid": True,
            "test4_rag_ranking": True,
            "test3_cosine_vs_fp32": True,
        }
        assert model.end_to_end["token_agreement"] == 1.0  # Kotlin WordPiece == host tokenizers
    assert record.props["ro.product.model"] == "AVA Virtual Device (Kotlin app on a JVM)"
    assert record.instrumentation["session_code"] == -1
    assert both_run.passed
