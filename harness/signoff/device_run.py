"""One device's sign-off: connect, health check, push (verified), instrument, pull, compare.
Whatever goes wrong on one device is recorded on that device's run and never raised."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable

import numpy as np

from harness.android.adb import Device, connect
from harness.android.contract import (
    CHECKS,
    RESULT_JSON_MAX_BYTES,
    TEST_CLASS,
    DevicePaths,
    build_request,
    npy_max_bytes,
    parse_device_result,
    parse_npy,
    parse_token_ids,
    token_ids_max_bytes,
)
from harness.android.instrument_run import MAX_OUTPUT_BYTES
from harness.android.instrumentation import (
    InstrumentationResultParser,
    InstrumentationRun,
    build_instrument_command,
    collect_output,
    socket_reader,
)
from harness.android.transfer import CLEANUP_TIMEOUT
from harness.errors import DeviceError, HarnessError
from harness.gates import Gate
from harness.reference.arm64 import available as arm64_available
from harness.reference.choice import HOST_ABI, choose_reference
from harness.signoff.artifacts import (
    LogcatCapture,
    OutputRecorder,
    artifact_name,
    keep_instrumentation,
    record_host_error,
)
from harness.signoff.baseline import embeddings_file, encode_embeddings
from harness.signoff.compare import compare_model
from harness.signoff.health import health_check, sweep_device_partials
from harness.signoff.interrupts import POLL_SECONDS, Cancellation, Cancelled
from harness.signoff.options import DeployOptions, Progress
from harness.signoff.plan import HostPlan, PlannedModel
from harness.signoff.profile import PROFILE_FILE, PROFILE_MAX_BYTES, ProfileError, summarise_profile
from harness.signoff.results import DeviceRun, ModelOnDevice
from harness.signoff.startup import startup_summary


def run_device(
    serial: str,
    plan: HostPlan,
    options: DeployOptions,
    progress: Progress,
    cancel: Cancellation | None = None,
) -> DeviceRun:
    record = DeviceRun(serial=serial)
    started = time.monotonic()
    paths = DevicePaths(options.app_package)
    cancel = cancel or Cancellation()
    device: Device | None = None
    logcat = LogcatCapture((options.app_package, options.test_package))
    recorder: OutputRecorder | None = None

    def stage(name: str, detail: str = "") -> None:
        cancel.check()
        record.stage = name
        progress(serial, f"{name}{': ' + detail if detail else ''}")

    try:
        stage("connect")
        device = connect(serial, options.servers, timeout=options.adb_timeout)
        record.server = str(device.server)
        stage("health check")
        health_check(device, plan, options, record)
        sweep_device_partials(device, paths)
        for model in plan.models:
            size = model.path.stat().st_size
            stage("push", f"{model.spec.id} ({size / 1e6:.1f} MB)")

            began = time.monotonic()

            def pushed_bytes(sent: int, total: int, model_id: str = model.spec.id, began: float = began) -> None:
                cancel.check()
                progress(serial, push_message(model_id, sent, total, time.monotonic() - began))

            pushed = device.push_verified(
                model.path, paths.model(model.spec.id), expected_sha256=model.sha256, progress=pushed_bytes
            )
            device.push_verified(model.tokenizer_path, paths.tokenizer(model.spec.id))
            record.models.append(ModelOnDevice(model.spec.id, model.spec.variant, model.sha256, size, pushed=pushed))
        request = build_request(
            plan.run_id,
            paths,
            [(m.spec, m.sha256, m.token_ids) for m in plan.models],
            list(plan.signoff.texts),
            options.settings,
        )
        device.write_bytes(paths.request(plan.run_id), json.dumps(request).encode())

        stage("instrument")
        logcat.start(device, record)
        recorder = OutputRecorder(MAX_OUTPUT_BYTES)
        started_tests: list[str] = []
        expected_tests = len(plan.models) * len(CHECKS)

        def on_test(test: str) -> None:
            if test not in started_tests:  # the status block names a test when it starts and when it ends
                started_tests.append(test)
            progress(serial, f"instrument: {started_tests.index(test) + 1}/{expected_tests} {test}")

        run = _instrument(device, paths, plan, options, cancel, on_test, recorder)
        record.instrumentation = run.to_dict()

        stage("pull")
        abi = record.health.get("abi", "")
        emulated = bool(record.health.get("emulator"))
        for model, result in zip(plan.models, record.models, strict=True):
            cancel.check()
            try:
                vectors = _pull_and_compare(device, paths, plan, model, result, options, abi, emulated)
                if vectors is not None:  # kept for a later run's --baseline comparison
                    record.artifact_data[embeddings_file(model.spec.id)] = encode_embeddings(vectors)
            except HarnessError as err:  # this model is not judged; the others still are
                reason = err.message if isinstance(err, DeviceError) else str(err)
                # The run already failed (device lost, crash): say so first, then why nothing came back.
                result.error = reason if run.passed else f"instrumentation: {run.summary()}; then {reason}"
            if options.settings.profile:  # a diagnostic: never a verdict, never raises
                _pull_profile(device, paths.out_dir(plan.run_id, model.spec.id), result, record)
        judged = all(m.judged for m in record.models)
        if not judged:
            record.status = "error"
            record.error = next(m.error for m in record.models if m.error)
        else:
            record.status = "passed" if run.passed and all(m.passed for m in record.models) else "failed"
            if not run.passed:
                record.error = f"instrumentation: {run.summary()}"
    except Cancelled as stop:
        record.status = "interrupted"
        record.error = f"interrupted ({stop}) during {record.stage or 'start'}"
        if device is not None:
            _clean_up_after_interrupt(device, paths, options)
    except HarnessError as err:
        record.status = "error"
        record.error = str(err)
    except Exception as err:  # a bug or an unforeseen fault on one device must not stop the lab
        record.status = "error"
        record.error = f"{type(err).__name__}: {err}"
        record_host_error(record)  # the line stays in the report; the traceback goes to host-error.txt
    keep_instrumentation(record, recorder)
    if device is not None and record.status != "interrupted":  # never raises
        logcat.finish(device, record, failed=record.status != "passed")
    record.seconds = time.monotonic() - started
    record.stage = record.stage if record.status == "interrupted" else "done"
    progress(serial, f"done: {record.status}")
    return record


def push_message(model_id: str, sent: int, total: int, seconds: float) -> str:
    """`push: MODEL 12.3/23.0 MB (53%) 41.0 MB/s`: how far a push is and how fast it goes."""
    rate = f" {sent / 1e6 / seconds:.1f} MB/s" if seconds > 0 else ""
    return f"push: {model_id} {sent / 1e6:.1f}/{total / 1e6:.1f} MB ({sent * 100 // max(total, 1)}%){rate}"


def _instrument(
    device: Device,
    paths: DevicePaths,
    plan: HostPlan,
    options: DeployOptions,
    cancel: Cancellation,
    on_test: Callable[[str], None],
    recorder: OutputRecorder,
) -> InstrumentationRun:
    command = build_instrument_command(
        options.test_package,
        options.runner,
        {"class": TEST_CLASS, "ava.request": paths.request(plan.run_id), "ava.runId": plan.run_id},
    )
    stream = device.open_stream(command)
    try:
        read_socket = recorder.wrap(socket_reader(stream.conn))  # the raw output, for instrumentation.txt

        def read(timeout_seconds: float) -> bytes | None:
            cancel.check()  # Cancelled leaves collect_output at once; the stream is closed below
            return read_socket(min(timeout_seconds, POLL_SECONDS))

        def on_line(line: str) -> None:
            if line.startswith("INSTRUMENTATION_STATUS: test="):
                on_test(line.split("=", 1)[1])

        return collect_output(
            read,
            InstrumentationResultParser(),
            overall_timeout=options.instrument_timeout,
            idle_timeout=options.idle_timeout,
            on_line=on_line,
        )
    finally:
        stream.close()


def _clean_up_after_interrupt(device: Device, paths: DevicePaths, options: DeployOptions) -> None:
    """Best effort, briefly: stop the app's instrumentation and remove half-pushed files."""
    with contextlib.suppress(HarnessError, OSError):
        device.shell(["am", "force-stop", options.app_package], timeout=CLEANUP_TIMEOUT)
    with contextlib.suppress(HarnessError, OSError):
        sweep_device_partials(device, paths, timeout=CLEANUP_TIMEOUT)


def _pull_profile(device: Device, out: str, result: ModelOnDevice, record: DeviceRun) -> None:
    """The device's profile.json of one model: kept raw (artifact profile-<model>.json) and
    summarised on the model (profile); anything wrong is profile_error, never the verdict's."""
    path = f"{out}/{PROFILE_FILE}"
    try:
        size = device.file_size(path)
        if size is None:
            result.profile_error = f"the device wrote no {PROFILE_FILE}"
            return
        if size > PROFILE_MAX_BYTES:
            result.profile_error = f"{PROFILE_FILE} is {size} bytes, more than the {PROFILE_MAX_BYTES} read"
            return
        data = device.read_bytes(path, limit=PROFILE_MAX_BYTES)
    except HarnessError as err:
        result.profile_error = f"{PROFILE_FILE} could not be pulled: {str(err)[:300]}"
        return
    record.artifact_data[artifact_name("profile-", result.model_id, ".json")] = data
    try:
        result.profile = {**summarise_profile(data, f"{device.serial}:{path}"), **result.profile}
    except ProfileError as err:
        result.profile_error = f"{PROFILE_FILE} unusable: {err}"


def _pull_and_compare(
    device: Device,
    paths: DevicePaths,
    plan: HostPlan,
    model: PlannedModel,
    result: ModelOnDevice,
    options: DeployOptions,
    device_abi: str,
    emulated: bool,
) -> np.ndarray | None:
    """Pull one model's results and compare them; returns the device's vectors (None without any)."""
    out = paths.out_dir(plan.run_id, model.spec.id)
    rows, dim = len(plan.signoff.texts), model.spec.dimension

    def optional(name: str, limit: int) -> bytes | None:
        if device.file_size(f"{out}/{name}") is None:
            return None
        return device.read_bytes(f"{out}/{name}", limit=limit)

    raw_result = optional("result.json", RESULT_JSON_MAX_BYTES)
    if raw_result is None:
        result.gates = [Gate("device_result", False, None, None, f"the device wrote no {out}/result.json")]
        return None
    device_result = parse_device_result(
        raw_result,
        serial=device.serial,
        path=f"{out}/result.json",
        model_id=model.spec.id,
        iterations=options.settings.iterations,
    )
    if device_result.sha256 is None:
        why = "; ".join(device_result.errors) or "no reason given"
        result.gates = [Gate("device_model_loads", False, None, None, f"the model did not load on the device: {why}")]
        return None
    if device_result.sha256 != model.sha256:
        result.gates = [
            Gate("device_model_sha256", False, device_result.sha256, model.sha256, "the device ran another file")
        ]
        return None
    embeddings = optional("embeddings.npy", npy_max_bytes(rows, dim))
    e2e = optional("embeddings_e2e.npy", npy_max_bytes(rows, dim))
    token_ids = optional("token_ids_e2e.json", token_ids_max_bytes(rows))
    if device_result.profile_ms is not None:
        result.profile["pass_ms"] = device_result.profile_ms
    result.latency_samples_ms = list(device_result.latency_ms)
    result.startup = startup_summary(device_result, options.settings.warmup)
    result.peak_memory_kb = device_result.peak_memory_kb
    result.ort_version = device_result.ort_version
    result.execution_provider = device_result.execution_provider
    reference, strict = choose_reference(device_abi, model.spec.variant, options.reference, arm64_available())
    if reference == "arm64":
        reference_embeddings = plan.arm64_reference(model)
        result.reference = "arm64-v8a ONNX Runtime (qemu-user)"
    else:
        reference_embeddings = model.host_embeddings
        result.reference = f"{HOST_ABI} host ONNX Runtime"
    vectors = parse_npy(embeddings, f"{device.serial}:{out}/embeddings.npy", rows, dim) if embeddings else None
    compare_model(
        result,
        device_embeddings=vectors,
        host_embeddings=reference_embeddings,
        strict=strict or options.parity.cross_arch_int8 == "strict",
        x86_embeddings=model.host_embeddings if reference != "host" else None,
        host_fp32_embeddings=model.host_fp32_embeddings,
        device_e2e_embeddings=parse_npy(e2e, f"{device.serial}:{out}/embeddings_e2e.npy", rows, dim) if e2e else None,
        device_token_ids=parse_token_ids(token_ids, f"{device.serial}:{out}/token_ids_e2e.json", rows)
        if token_ids
        else None,
        host_token_ids=model.token_ids,
        device_result=device_result,
        signoff=plan.signoff,
        parity=options.parity,
        quality=model.spec.gate,
        expect_end_to_end=options.settings.mode in ("end_to_end", "both"),
        emulated=emulated,
    )
    return vectors
