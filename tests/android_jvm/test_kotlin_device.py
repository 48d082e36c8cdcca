"""The Kotlin device side runs for real: `am instrument` on a virtual device starts one JVM with
device_tests/android's sign-off (EmbeddingSignoffTest, the reference app's ONNXEmbeddingProvider)
over real ONNX Runtime (ort-jvm.jar), through the real adb server. One device and one `both` run
(the two default models, plus FP32 and FP16 ones for the live comparison) are shared by the
module; the comparison and the faults re-run `am instrument` on copies of that run's request.

The device also has the Python reference installed under a second runner name, so the same
request, on the same device and files, runs through both device sides."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.android.adb import AdbServer
from harness.android.contract import DEFAULT_APP_PACKAGE, DEFAULT_RUNNER, DEFAULT_TEST_PACKAGE, RunSettings
from harness.android.instrumentation import InstrumentationRun, parse_output
from harness.android.virtual import KOTLIN_MODEL
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "device_tests" / "android" / "build.sh"
MODELS = ("AVA-ONX-384-BASE-INT8", "AVA-ONX-384-FAST-INT8")  # the Makefile's default MODELS
# Same kernels on both sides at FP32 and FP16 whatever the ORT version: the live comparison's models.
COMPARED = ("AVA-ONX-384-FAST", "AVA-ONX-384-BASE-FP16")
PYTHON_RUNNER = "ava.reference.PythonRunner"  # the reference, installed next to the JVM app
TEST_CLASS = "com.augmentalis.ava.harness.EmbeddingSignoffTest"
FILES = f"/sdcard/Android/data/{DEFAULT_APP_PACKAGE}/files"
ORT_VERSION = "1.30.0"  # jvm-runtime/build-ort.sh's onnxruntime-node
CHECKS = ("modelLoads", "embeddingsValid", "ragRanking", "modelParity", "endToEnd", "latency")

pytestmark = pytest.mark.jvm


@pytest.fixture(scope="module")
def jvm_app() -> None:
    subprocess.run([str(BUILD)], check=True, timeout=900)


@pytest.fixture(scope="module")
def kotlin_device(adb_server, jvm_app, tmp_path_factory) -> Iterator[Any]:
    """One virtual device hosting the Kotlin app, for the whole module."""
    from ava_reference.virtual_app import ENTRY as PYTHON_ENTRY
    from harness.android.virtual import ava_kotlin_device_config
    from virtual_device import adbtools
    from virtual_device.config import InstrumentationSpec
    from virtual_device.host import DeviceHost

    config = ava_kotlin_device_config()
    python = InstrumentationSpec(entry=PYTHON_ENTRY, target=DEFAULT_APP_PACKAGE)
    config = config.replace(
        instrumentations={**config.instrumentations, f"{DEFAULT_TEST_PACKAGE}/{PYTHON_RUNNER}": python}
    )
    host = DeviceHost()
    handle = host.add_device(config, sandbox=tmp_path_factory.mktemp("kotlin-device"))
    adbtools.connect(adb_server.adb_path, adb_server.port, handle.serial)
    try:
        yield handle
    finally:
        adbtools.disconnect(adb_server.adb_path, adb_server.port, handle.serial)
        host.close()


def options(adb_server, model_file, tmp_path: Path, models: tuple[str, ...], mode: str) -> DeployOptions:
    for model_id in models:
        model_file(model_id)
    return DeployOptions(
        model_ids=list(models),
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
    """deploy-test, mode `both`: the two default models and the compared FP32/FP16 ones."""
    reports = tmp_path_factory.mktemp("reports")
    return deploy_test([kotlin_device.serial], options(adb_server, model_file, reports, MODELS + COMPARED, "both"))


def instrument(
    adb_server, serial: str, request: str, *extra: str, runner: str = DEFAULT_RUNNER, tests: str = TEST_CLASS
) -> str:
    """`am instrument -w -r` by hand, as a developer would repeat it (README, step 6): raw output."""
    args = "".join(f" -e {shlex.quote(k)} {shlex.quote(v)}" for k, v in zip(extra[::2], extra[1::2], strict=True))
    component = f"{DEFAULT_TEST_PACKAGE}/{runner}"
    command = f"am instrument -w -r -e class {shlex.quote(tests)} -e ava.request {request}{args} {component}"
    return adb_server.run("-s", serial, "shell", command, timeout=300).stdout


@pytest.fixture(scope="module")
def pushed(both_run, kotlin_device) -> tuple[str, dict[str, Any]]:
    """The device path of the both-run's request.json and its content."""
    path = f"{FILES}/ava-harness/runs/{both_run.run_id}/request.json"
    return path, json.loads(kotlin_device.host_path(path).read_text(encoding="utf-8"))


def request_copy(kotlin_device, pushed, name: str, models: tuple[str, ...], edit=None) -> str:
    """The pushed request under runs/<runId>-<name>/, for `models` only, edited; its device path."""
    _path, request = pushed
    copy = json.loads(json.dumps(request))
    copy["models"] = [m for m in copy["models"] if m["modelId"] in models]
    if edit is not None:
        edit(copy)
    device_dir = f"{FILES}/ava-harness/runs/{request['runId']}-{name}"
    host_dir = kotlin_device.host_path(device_dir)
    host_dir.mkdir(parents=True, exist_ok=True)
    (host_dir / "request.json").write_text(json.dumps(copy), encoding="utf-8")
    return f"{device_dir}/request.json"


def outputs(kotlin_device, request: str, model_id: str) -> Path:
    return kotlin_device.host_path(f"{request.rsplit('/', 1)[0]}/out/{model_id}")


def shape(run: InstrumentationRun) -> list[tuple[str, str, str]]:
    """The verdict's shape: every test's class, name and status, in order."""
    return [(t.class_name, t.test_name, t.status.value) for t in run.tests]


# -- passing runs --------------------------------------------------------------------------------


def test_both_modes_pass_for_the_default_models(both_run):
    (record,) = both_run.devices
    failed = [(m.model_id, g) for m in record.models for g in m.gates if not g.passed]
    assert record.status == "passed", (record.error, failed)
    assert [m.model_id for m in record.models] == list(MODELS + COMPARED)
    for model in record.models:
        assert model.ort_version == ORT_VERSION  # the JVM's ONNX Runtime, not the host's Python one
        assert model.chapter_tests == {
            "test1_loads_with_dimension": True,
            "test2_embeddings_valid": True,
            "test4_rag_ranking": True,
            "test3_cosine_vs_fp32": True,
        }
        assert model.end_to_end["token_agreement"] == 1.0  # Kotlin WordPiece == host tokenizers
    # the report names the device side (its model) and its ORT version
    assert record.props["ro.product.model"] == KOTLIN_MODEL
    assert record.instrumentation["session_code"] == -1
    assert [t["test_name"] for t in record.instrumentation["tests"]][:6] == [f"{c}[{MODELS[0]}]" for c in CHECKS]
    assert both_run.passed
    assert jvm_children() == []


def test_model_parity_mode_passes_for_the_default_models(both_run, kotlin_device, adb_server, model_file, tmp_path):
    run = deploy_test([kotlin_device.serial], options(adb_server, model_file, tmp_path, MODELS, "model_parity"))
    (record,) = run.devices
    assert record.status == "passed", (record.error, [g for m in record.models for g in m.gates if not g.passed])
    assert all(m.pushed is False for m in record.models)  # the both-run pushed them
    assert all(m.parity["min_cosine"] > 0.99 for m in record.models)
    assert run.passed


# -- the live comparison: the same request through both device sides -------------------------------


@pytest.fixture(scope="module")
def compared(pushed, kotlin_device, adb_server) -> dict[str, Any]:
    """The FP32 and FP16 models' request, run by the JVM app and by the Python reference."""
    runs = {}
    for side, runner in (("kotlin", DEFAULT_RUNNER), ("python", PYTHON_RUNNER)):
        request = request_copy(kotlin_device, pushed, f"compare-{side}", COMPARED)
        runs[side] = (request, parse_output(instrument(adb_server, kotlin_device.serial, request, runner=runner)))
    return runs


def test_same_request_same_token_ids_embeddings_keys_and_verdict(compared, kotlin_device):
    from harness.android import device_result as dr

    (k_request, k_run), (p_request, p_run) = compared["kotlin"], compared["python"]
    assert k_run.passed and p_run.passed, (k_run.summary(), p_run.summary())
    assert shape(k_run) == shape(p_run)  # same tests, same order, same statuses
    assert (k_run.expected_count, k_run.session_code) == (p_run.expected_count, p_run.session_code) == (12, -1)
    # the final stream: AndroidJUnitRunner's JUnit summary, the same but for the time
    k_stream, p_stream = (re.sub(r"Time: [0-9.,]+", "Time: T", r.result_stream or "") for r in (k_run, p_run))
    assert k_stream == p_stream and "OK (12 tests)" in k_stream
    for model_id in COMPARED:
        k_out, p_out = outputs(kotlin_device, k_request, model_id), outputs(kotlin_device, p_request, model_id)
        assert sorted(p.name for p in k_out.iterdir()) == sorted(p.name for p in p_out.iterdir())
        # end-to-end: the Kotlin WordPiece and the reference's tokenizer give the same ids
        k_ids = json.loads((k_out / "token_ids_e2e.json").read_text())
        assert k_ids == json.loads((p_out / "token_ids_e2e.json").read_text())
        k_result, p_result = (json.loads((d / "result.json").read_text()) for d in (k_out, p_out))
        assert sorted(k_result) == sorted(p_result), model_id  # identical result keys
        assert (k_result["abi"], k_result["modelId"]) == (p_result["abi"], p_result["modelId"])  # Build from props
        assert k_result["ortVersion"] == ORT_VERSION and p_result["ortVersion"] != ORT_VERSION
        for name in ("embeddings.npy", "embeddings_e2e.npy"):
            k, p = np.load(k_out / name), np.load(p_out / name)
            assert k.shape == p.shape == (len(k_ids), 384)
            cosines = (k * p).sum(1) / (np.linalg.norm(k, axis=1) * np.linalg.norm(p, axis=1))
            assert cosines.min() >= 0.99999, (model_id, name, cosines.min())
        dr.parse_result_json((k_out / "result.json").read_bytes(), model_id, "kotlin", iterations=3)


def test_the_host_tokenizer_agrees_with_the_kotlin_wordpiece(compared, kotlin_device, pushed):
    """End-to-end mode: the Kotlin app's ids are the host `tokenizers` ids the request carries."""
    _path, request = pushed
    k_request, _run = compared["kotlin"]
    for spec in request["models"]:
        if spec["modelId"] in COMPARED:
            k_ids = json.loads((outputs(kotlin_device, k_request, spec["modelId"]) / "token_ids_e2e.json").read_text())
            assert k_ids == spec["tokenIds"], spec["modelId"]


# -- faults through the Kotlin app ------------------------------------------------------------------

FAULT_MODEL = "AVA-ONX-384-FAST-INT8"


def test_a_failing_check_gives_a_failure_bundle_with_its_stack(pushed, kotlin_device, adb_server):
    def swap(request: dict[str, Any]) -> None:
        rag = request["chapter"]["rag"]
        rag["expectedFirst"], rag["neverFirst"] = rag["neverFirst"], rag["expectedFirst"]

    request = request_copy(kotlin_device, pushed, "fault-check", (FAULT_MODEL,), swap)
    raw = instrument(adb_server, kotlin_device.serial, request)
    run = parse_output(raw)
    (failed,) = run.failed_tests
    assert failed.test_name == f"ragRanking[{FAULT_MODEL}]" and failed.status.value == "failed"
    assert failed.stack.startswith("java.lang.AssertionError: expected document")
    assert "at com.augmentalis.ava.harness.ModelState.ragRanking(EmbeddingSignoffTest.kt:" in failed.stack
    assert f"\nError in ragRanking[{FAULT_MODEL}]({TEST_CLASS}):\njava.lang.AssertionError" in raw
    assert run.session_code == -1 and run.completed_count == run.expected_count == 6
    assert "FAILURES!!!\nTests run: 6,  Failures: 1" in (run.result_stream or "")
    result = json.loads((outputs(kotlin_device, request, FAULT_MODEL) / "result.json").read_text())
    assert result["chapterTests"]["test4_rag_ranking"] is False
    # android.util.Log lands in the device's logcat; the JVM's host paths never show, only the device's
    log = adb_server.run("-s", kotlin_device.serial, "logcat", "-d", "-s", "AvaSignoff", timeout=60).stdout
    assert f"I AvaSignoff: run {pushed[1]['runId']}: 1 model(s), FILES={FILES}" in log
    assert str(kotlin_device.sandbox) not in raw + log
    assert result["errors"] == [failed.stack.splitlines()[0].replace("java.lang.AssertionError: ", "ragRanking: ")]


@pytest.mark.parametrize("where", ["crash-in", "crash-after"])
def test_an_uncaught_exception_gives_the_crash_shape(pushed, kotlin_device, adb_server, where):
    request = request_copy(kotlin_device, pushed, f"fault-{where}", (FAULT_MODEL,))
    raw = instrument(adb_server, kotlin_device.serial, request, "ava.jvm.fault", f"{where}:embeddingsValid")
    assert raw.endswith("INSTRUMENTATION_RESULT: shortMsg=Process crashed.\nINSTRUMENTATION_CODE: 0\n"), raw[-600:]
    run = parse_output(raw)
    assert not run.passed and run.session_code == 0 and run.expected_count == 6
    names = [(t.test_name, t.status.value) for t in run.tests]
    if where == "crash-in":  # the running test fails with the exception, as AndroidJUnitRunner reports it
        assert names == [(f"modelLoads[{FAULT_MODEL}]", "passed"), (f"embeddingsValid[{FAULT_MODEL}]", "failed")]
        assert run.tests[1].stack.startswith("java.lang.IllegalStateException: fault injected by -e ava.jvm.fault")
        assert f"Process crashed while executing embeddingsValid[{FAULT_MODEL}]({TEST_CLASS})" in raw
    else:  # outside any test: both finished, nothing else started
        assert names == [(f"modelLoads[{FAULT_MODEL}]", "passed"), (f"embeddingsValid[{FAULT_MODEL}]", "passed")]
        assert "Process crashed while executing" not in raw
    log = adb_server.run("-s", kotlin_device.serial, "logcat", "-d", "-s", "AndroidRuntime", timeout=60).stdout
    assert "FATAL EXCEPTION: ava-fault" in log and "fault injected by -e ava.jvm.fault" in log


def test_a_missing_model_file_gives_the_loaders_error_and_its_fallback(pushed, kotlin_device, adb_server):
    """FILES/models/<id>.onnx gone: the sign-off's own session cannot load it; the app's loader
    (chapter 28A.5) falls back to the original's name, and without that too throws
    FileNotFoundException naming both places."""
    models = kotlin_device.host_path(f"{FILES}/models")
    pushed_file, original = models / f"{FAULT_MODEL}.onnx", models / "paraphrase-MiniLM-L3-v2.onnx"
    pushed_file.rename(original)
    try:
        request = request_copy(kotlin_device, pushed, "fault-fallback", (FAULT_MODEL,))
        run = parse_output(instrument(adb_server, kotlin_device.serial, request))
        status = {t.test_name.split("[")[0]: t for t in run.tests}
        assert status["modelLoads"].stack.startswith(
            f"java.io.FileNotFoundException: Model not found: {FAULT_MODEL} ({FILES}/models/{FAULT_MODEL}.onnx)"
        )
        # the app's provider found the original's name: its checks pass
        assert status["ragRanking"].status.value == "passed" and status["endToEnd"].status.value == "passed"

        original.rename(models / "elsewhere.onnx")
        request = request_copy(kotlin_device, pushed, "fault-missing", (FAULT_MODEL,))
        run = parse_output(instrument(adb_server, kotlin_device.serial, request))
        status = {t.test_name.split("[")[0]: t for t in run.tests}
        tried = f"tried {FILES}/models/{FAULT_MODEL}.onnx, then {FILES}/models/paraphrase-MiniLM-L3-v2.onnx"
        stack = status["ragRanking"].stack
        assert "initialize() failed: Model not found" in stack and tried in stack
        assert f"Caused by: java.io.FileNotFoundException: Model not found: {FAULT_MODEL} ({tried})" in stack
        assert status["endToEnd"].status.value == "failed" and tried in status["endToEnd"].stack
        assert run.session_code == -1 and run.completed_count == 6  # a failed run, not a crash
    finally:
        for leftover in (original, models / "elsewhere.onnx"):
            if leftover.exists():
                leftover.rename(pushed_file)


def test_a_fatal_runner_error_gives_androidjunitrunners_fatal_exception_shape(pushed, kotlin_device, adb_server):
    request = request_copy(kotlin_device, pushed, "fault-fatal", (FAULT_MODEL,))
    raw = instrument(adb_server, kotlin_device.serial, request, "ava.jvm.providerFactory", "no.such.Factory")
    assert raw.startswith("INSTRUMENTATION_RESULT: stream=Fatal exception when running tests\n"), raw[:400]
    assert "java.lang.IllegalArgumentException: -e ava.jvm.providerFactory no.such.Factory" in raw
    assert raw.endswith("INSTRUMENTATION_CODE: -1\n")
    run = parse_output(raw)
    assert not run.passed and run.run_failure and "Fatal exception when running tests" in run.run_failure


def test_class_and_method_arguments_select_tests_as_androidjunitrunner_does(pushed, kotlin_device, adb_server):
    request = request_copy(kotlin_device, pushed, "one-method", (FAULT_MODEL,))
    run = parse_output(instrument(adb_server, kotlin_device.serial, request, tests=f"{TEST_CLASS}#latency"))
    assert run.passed and run.expected_count == 1 and shape(run) == [(TEST_CLASS, f"latency[{FAULT_MODEL}]", "passed")]


def test_a_device_that_stops_the_run_kills_the_jvm(pushed, kotlin_device, adb_server):
    """The device's crash_instrumentation fault (its process dies after 3 writes): am's crash
    tail, and no JVM is left running."""
    request = request_copy(kotlin_device, pushed, "fault-device", (FAULT_MODEL,))
    kotlin_device.faults.crash_instrumentation(after_writes=3)
    raw = instrument(adb_server, kotlin_device.serial, request)
    assert raw.count("INSTRUMENTATION_STATUS_CODE:") == 3
    assert raw.endswith("INSTRUMENTATION_RESULT: shortMsg=Process crashed.\nINSTRUMENTATION_CODE: 0\n")
    assert jvm_children() == []  # the device (in this process) killed and reaped its JVM


def jvm_children() -> list[int]:
    """Processes of this test process running the JVM app (the in-process device starts them)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"InstrumentationMain" in cmdline:
            found.append(int(stat.parent.name))
    return found


def test_the_cli_starts_a_kotlin_device_and_signs_off_on_it(both_run, adb_server, tmp_path):
    """`deploy-test --device virtual-kotlin`: the run's own device hosts the JVM app."""
    from tests.helpers import deploy_test_args, only_run, run_cli

    args, env = deploy_test_args(adb_server.port, tmp_path / "reports", FAULT_MODEL)
    env["AVA_VIRTUAL_DEVICE_STATE"] = str(tmp_path / "state.json")
    result = run_cli(*args, "--device", "virtual-kotlin", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"({KOTLIN_MODEL})" in result.stdout
    run_dir = only_run(tmp_path / "reports")
    (device,) = json.loads((run_dir / "signoff.json").read_text())["devices"]
    assert device["props"]["ro.product.model"] == KOTLIN_MODEL
    assert [m["ort_version"] for m in device["models"]] == [ORT_VERSION]


def test_virtual_device_start_app_kotlin(jvm_app, adb_server, tmp_path):
    """`virtual-device start --app kotlin`: a detached device hosting the JVM app; a bad --app is
    one error line, exit 2."""
    from tests.helpers import assert_user_error, run_cli

    env = {"ANDROID_ADB_SERVER_PORT": str(adb_server.port), "AVA_VIRTUAL_DEVICE_STATE": str(tmp_path / "state.json")}
    assert_user_error(run_cli("virtual-device", "start", "--app", "java", env=env), "--app", "python or kotlin")
    started = run_cli("virtual-device", "start", "--app", "kotlin", env=env)
    assert started.returncode == 0, started.stderr[-2000:]
    (serial,) = started.stdout.split()
    try:
        (entry,) = json.loads((tmp_path / "state.json").read_text())["devices"]
        assert (entry["serial"], entry["app"], entry["model"]) == (serial, "kotlin", KOTLIN_MODEL)
        model = adb_server.run("-s", serial, "shell", "getprop", "ro.product.model").stdout.strip()
        assert model == KOTLIN_MODEL
    finally:
        stopped = run_cli("virtual-device", "stop", env=env)
    assert stopped.returncode == 0 and f"stopped {serial}" in stopped.stdout


# -- the glue's own rules (no JVM) ------------------------------------------------------------------


def test_log_records_and_plain_stderr_lines():
    from ava_reference.jvm_app import LOG_MARK, parse_log_line

    assert parse_log_line(f"{LOG_MARK}6\tAvaSignoff\tfailed\\n\\tat x\\\\y") == (6, "AvaSignoff", "failed\n\tat x\\y")
    assert parse_log_line("WARNING: a JVM warning") == ("W", "System.err", "WARNING: a JVM warning")
    assert parse_log_line(f"{LOG_MARK}x\ttag") == ("W", "System.err", f"{LOG_MARK}x\ttag")


class _Proc:
    def __init__(self, text: str) -> None:
        self.stdout = [line.encode() for line in text.splitlines(keepends=True)]


def test_output_is_forwarded_one_bundle_per_write_and_a_missing_code_is_a_crash():
    from ava_reference.jvm_app import _forward

    bundle = "INSTRUMENTATION_STATUS: stack=java.lang.AssertionError: x\n\tat y\nINSTRUMENTATION_STATUS_CODE: -2\n"
    final = "INSTRUMENTATION_RESULT: stream=\n\nOK (1 test)\nINSTRUMENTATION_CODE: -1\n"
    writes: list[str] = []

    class Ctx:
        write = writes.append

    assert _forward(_Proc(bundle + final), Ctx()) is True  # type: ignore[arg-type]
    assert writes == [bundle, final]
    writes.clear()
    assert _forward(_Proc(bundle + "INSTRUMENTATION_STATUS: test=half"), Ctx()) is False  # type: ignore[arg-type]
    assert writes == [bundle, "INSTRUMENTATION_STATUS: test=half"]
