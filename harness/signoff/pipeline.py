"""deploy-test: quantize (cached) -> host eval (cached) -> deploy -> instrument -> pull ->
compare -> report, for one device or a lab of them in parallel. A failing device never stops
the others; every device's failure is reported on its own."""

from __future__ import annotations

import json
import platform
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from harness import __version__
from harness.android.adb import AdbServer, Device, connect, list_devices
from harness.android.contract import (
    DEFAULT_APP_PACKAGE,
    DEFAULT_RUNNER,
    DEFAULT_TEST_PACKAGE,
    TEST_CLASS,
    DevicePaths,
    RunSettings,
    build_request,
    parse_npy,
    parse_result_json,
    parse_token_ids,
)
from harness.android.instrumentation import (
    InstrumentationResultParser,
    build_instrument_command,
    collect_output,
    socket_reader,
)
from harness.errors import DeviceError, HarnessError, InputError
from harness.evaluation.embed import Embedder
from harness.evaluation.evaluate import EvalReport, evaluate
from harness.fileio import sha256_file, write_json_atomic
from harness.gates import ParityGates
from harness.models.registry import MODELS_DIR, PROJECT_ROOT, ModelSpec, Registry, load_registry
from harness.models.store import ensure_model_file
from harness.signoff.compare import SignoffSet, compare_model, default_signoff_set
from harness.signoff.results import DeviceRun, Gate, HostModel, ModelOnDevice, SignoffRun

Progress = Callable[[str, str], None]  # (serial or "host", message)


@dataclass
class DeployOptions:
    model_ids: list[str]
    servers: list[AdbServer] = field(default_factory=list)
    app_package: str = DEFAULT_APP_PACKAGE
    test_package: str = DEFAULT_TEST_PACKAGE
    runner: str = DEFAULT_RUNNER
    settings: RunSettings = field(default_factory=RunSettings)
    parity: ParityGates = field(default_factory=ParityGates)
    preset: str | None = None
    reports_dir: Path = PROJECT_ROOT / "reports"
    run_id: str | None = None
    instrument_timeout: float = 1800.0
    idle_timeout: float = 300.0
    adb_timeout: float = 60.0
    max_battery_celsius: float = 45.0
    storage_margin_bytes: int = 64 * 1024 * 1024
    host_eval_limit: int | None = None  # None: the full STS-B and XQuAD-en sets
    check_packages: bool = True
    # Which kernels the device's output is held against: "auto" (the device's ABI decides),
    # "host" (this machine's ONNX Runtime), "arm64" (aarch64 ONNX Runtime under qemu-user).
    reference: str = "auto"


@dataclass
class PlannedModel:
    spec: ModelSpec
    path: Path
    sha256: str
    tokenizer_path: Path
    token_ids: list[list[int]]
    host_embeddings: np.ndarray  # the same file, on the host, same token ids
    host_fp32_embeddings: np.ndarray
    host: HostModel
    feeds: list[dict[str, np.ndarray]] = field(default_factory=list)  # per text, batch of one


@dataclass
class HostPlan:
    run_id: str
    signoff: SignoffSet
    models: list[PlannedModel]
    _arm64: dict[str, np.ndarray] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def arm64_reference(self, model: PlannedModel) -> np.ndarray:
        """What aarch64 ONNX Runtime kernels compute for the sign-off texts (batch of one each),
        computed once per run (devices share it) and cached on disk by model and inputs."""
        with self._lock:
            if model.spec.id not in self._arm64:
                from harness.evaluation.embed import pool
                from harness.reference.arm64 import reference_embeddings

                raw = reference_embeddings(model.path, model.feeds, model.spec.output)
                self._arm64[model.spec.id] = np.concatenate(
                    [
                        pool(out, feeds["attention_mask"], model.spec.pooling, model.spec.normalize)
                        for out, feeds in zip(raw, model.feeds, strict=True)
                    ]
                )
            return self._arm64[model.spec.id]


HOST_ABI = {"x86_64": "x86_64", "AMD64": "x86_64", "aarch64": "arm64-v8a", "arm64": "arm64-v8a"}.get(
    platform.machine(), platform.machine()
)


def choose_reference(abi: str, variant: str, requested: str, arm64_available: bool = True) -> tuple[str, bool]:
    """(reference, strict) for a device ABI and model precision: the device's ABI picks the
    reference; INT8 is strict only against kernels of the device's own architecture. Without
    the arm64 runtime, an arm64 device's INT8 parity against this host is reported, not gated."""
    if requested not in ("auto", "host", "arm64"):
        raise InputError(f"reference {requested!r}: use auto, host or arm64")
    same_arch = not abi or abi == HOST_ABI
    wants_arm64 = not same_arch and abi == "arm64-v8a" and variant == "INT8" and arm64_available
    if requested == "arm64" or (requested == "auto" and wants_arm64):
        return "arm64", True
    return "host", same_arch or variant != "INT8"


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _host_eval_cached(spec: ModelSpec, base: ModelSpec, path: Path, base_path: Path, limit: int | None) -> dict:
    """Host evaluation (STS-B, XQuAD-en, chapter tests), cached by both files' sha256."""
    key = f"{sha256_file(path)[:16]}-{sha256_file(base_path)[:16]}-{limit or 'full'}"
    cache = MODELS_DIR / "cache" / "eval" / f"{key}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    from harness.evaluation.datasets import STSB_TEST, XQUAD_EN, load_squad_retrieval, load_sts_csv

    sts = load_sts_csv(STSB_TEST)
    retrieval = [load_squad_retrieval(XQUAD_EN, "xquad_en")]
    if limit:
        sts, retrieval = sts[:limit], [r.head(limit) for r in retrieval]
    report: EvalReport = evaluate(
        spec,
        base,
        candidate_path=path,
        baseline_path=base_path,
        sts_pairs=sts,
        retrieval_sets=retrieval,
        latency_texts=0,
    )
    data = report.to_dict()
    write_json_atomic(cache, data)
    return data


def _host_model(spec: ModelSpec, sha: str, size: int, report: dict) -> HostModel:
    retrieval = report.get("retrieval", {}).get("xquad_en", {})
    quality = {
        "mean_cosine_vs_fp32": report["cosine_vs_baseline"].get("mean"),
        "p5_cosine_vs_fp32": report["cosine_vs_baseline"].get("p5"),
        "sts_spearman": report["sts"].get("spearman"),
        "sts_retention": report["sts"].get("retention"),
        "xquad_top1": retrieval.get("top1"),
        "xquad_top1_retention": retrieval.get("top1_retention"),
        "xquad_ndcg10_retention": retrieval.get("ndcg10_retention"),
        "sts_pairs": report["sts"].get("pairs"),
        "xquad_queries": retrieval.get("queries"),
    }
    gates = [Gate(f"host_{g['name']}", g["passed"], g["value"], g["threshold"]) for g in report["gates"]]
    gates += [Gate(f"host_{c['name']}", c["passed"], c["value"], c["threshold"]) for c in report["chapter_tests"]]
    return HostModel(spec.id, spec.variant, sha, size, report["baseline_size_bytes"], quality, gates)


def prepare_host(options: DeployOptions, registry: Registry, progress: Progress) -> HostPlan:
    if not options.model_ids:
        raise InputError("no models given (MODELS=...)")
    say = lambda message: progress("host", message)  # noqa: E731
    signoff = default_signoff_set()
    planned: list[PlannedModel] = []
    for model_id in dict.fromkeys(options.model_ids):
        spec = registry.get(model_id)
        base = registry.get(spec.base_id)
        path = ensure_model_file(spec, registry, preset=options.preset, progress=say)
        base_path = ensure_model_file(base, registry, progress=say)
        say(f"{model_id}: host evaluation (cached after the first run)")
        report = _host_eval_cached(spec, base, path, base_path, options.host_eval_limit)
        # Batch of one, as the app's embed(text) runs: dynamic INT8 quantizes activations with one
        # scale per tensor, so padding and batch-mates change a text's INT8 embedding (cosine ~0.99).
        embedder = Embedder(spec, path, threads=options.settings.threads, batch_size=1)
        token_ids = embedder.tokenize(list(signoff.texts)).ids
        host_embeddings = embedder.embed_token_ids(token_ids)
        fp32 = Embedder(base, base_path, threads=options.settings.threads, batch_size=1).embed_token_ids(token_ids)
        sha = sha256_file(path)
        planned.append(
            PlannedModel(
                spec,
                path,
                sha,
                spec.tokenizer_path,
                token_ids,
                host_embeddings,
                fp32,
                _host_model(spec, sha, path.stat().st_size, report),
                [embedder.feeds_for([ids]) for ids in token_ids],
            )
        )
    return HostPlan(options.run_id or new_run_id(), signoff, planned)


def _battery_celsius(device: Device) -> float | None:
    text = device.shell(["dumpsys", "battery"]).stdout
    match = re.search(r"^\s*temperature:\s*(-?\d+)", text, re.MULTILINE)
    return int(match.group(1)) / 10.0 if match else None


def health_check(device: Device, plan: HostPlan, options: DeployOptions, record: DeviceRun) -> None:
    record.props = device.getprop()
    needed = sum(m.path.stat().st_size for m in plan.models) + options.storage_margin_bytes
    free = device.free_bytes("/sdcard")
    temperature = _battery_celsius(device)
    record.health = {
        "state": device.state(),
        "free_bytes": free,
        "needed_bytes": needed,
        "battery_celsius": temperature,
        "abi": record.props.get("ro.product.cpu.abi", ""),
    }
    if free < needed:
        raise DeviceError(device.serial, f"storage: {free / 1e6:.0f} MB free on /sdcard, {needed / 1e6:.0f} MB needed")
    if temperature is not None and temperature > options.max_battery_celsius:
        raise DeviceError(
            device.serial, f"battery at {temperature:.1f} °C, above the {options.max_battery_celsius:.0f} °C limit"
        )
    if options.check_packages:
        listing = device.shell(["pm", "list", "instrumentation"]).stdout
        component = f"{options.test_package}/{options.runner}"
        if f"instrumentation:{component} " not in listing + " ":
            raise DeviceError(
                device.serial,
                f"test package not installed: no instrumentation {component} "
                f"(install the app's androidTest APK; see device_tests/android/README.md)",
            )


def run_device(serial: str, plan: HostPlan, options: DeployOptions, progress: Progress) -> DeviceRun:
    record = DeviceRun(serial=serial)
    started = time.monotonic()
    paths = DevicePaths(options.app_package)

    def stage(name: str, detail: str = "") -> None:
        record.stage = name
        progress(serial, f"{name}{': ' + detail if detail else ''}")

    try:
        stage("connect")
        device = connect(serial, options.servers, timeout=options.adb_timeout)
        record.server = str(device.server)
        stage("health check")
        health_check(device, plan, options, record)
        for model in plan.models:
            size = model.path.stat().st_size
            stage("push", f"{model.spec.id} ({size / 1e6:.1f} MB)")
            pushed = device.push_verified(
                model.path,
                paths.model(model.spec.id),
                expected_sha256=model.sha256,
                progress=lambda sent, total, mid=model.spec.id: progress(
                    serial, f"push: {mid} {sent * 100 // max(total, 1)}%"
                ),
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
        command = build_instrument_command(
            options.test_package,
            options.runner,
            {"class": TEST_CLASS, "ava.request": paths.request(plan.run_id), "ava.runId": plan.run_id},
        )
        stream = device.open_stream(command)
        try:

            def on_line(line: str) -> None:
                if line.startswith("INSTRUMENTATION_STATUS: test="):
                    progress(serial, f"instrument: {line.split('=', 1)[1]}")

            run = collect_output(
                socket_reader(stream.conn),
                InstrumentationResultParser(),
                overall_timeout=options.instrument_timeout,
                idle_timeout=options.idle_timeout,
                on_line=on_line,
            )
        finally:
            stream.close()
        record.instrumentation = run.to_dict()

        stage("pull")
        try:
            for model, result in zip(plan.models, record.models, strict=True):
                _pull_and_compare(device, paths, plan, model, result, options, record.health.get("abi", ""))
        except HarnessError as err:
            if run.passed:
                raise
            # The run already failed (device lost, crash): say so first, then why nothing came back.
            then = err.message if isinstance(err, DeviceError) else str(err)
            raise DeviceError(serial, f"instrumentation: {run.summary()}; then {then}") from None
        record.status = "passed" if run.passed and all(m.passed for m in record.models) else "failed"
        if not run.passed:
            record.error = f"instrumentation: {run.summary()}"
    except HarnessError as err:
        record.status = "error"
        record.error = str(err)
    except Exception as err:  # a bug or an unforeseen fault on one device must not stop the lab
        record.status = "error"
        record.error = f"{type(err).__name__}: {err}"
    record.seconds = time.monotonic() - started
    stage("done", record.status)
    return record


def _pull_and_compare(
    device: Device,
    paths: DevicePaths,
    plan: HostPlan,
    model: PlannedModel,
    result: ModelOnDevice,
    options: DeployOptions,
    device_abi: str,
) -> None:
    out = paths.out_dir(plan.run_id, model.spec.id)
    rows, dim = len(plan.signoff.texts), model.spec.dimension

    def optional(name: str) -> bytes | None:
        if device.file_size(f"{out}/{name}") is None:
            return None
        return device.read_bytes(f"{out}/{name}")

    raw_result = optional("result.json")
    if raw_result is None:
        result.gates = [Gate("device_result", False, None, None, f"the device wrote no {out}/result.json")]
        return
    raw = parse_result_json(raw_result, model.spec.id, f"{device.serial}:{out}/result.json")
    if raw["sha256"] != model.sha256:
        result.gates = [Gate("device_model_sha256", False, raw["sha256"], model.sha256, "the device ran another file")]
        return
    embeddings = optional("embeddings.npy")
    e2e = optional("embeddings_e2e.npy")
    token_ids = optional("token_ids_e2e.json")
    result.latency_samples_ms = [float(v) for v in raw.get("latencyMs", [])]
    result.peak_memory_kb = raw.get("peakMemoryKb")
    result.ort_version = raw.get("ortVersion", "")
    result.execution_provider = raw.get("executionProvider", "")
    from harness.reference.arm64 import available as arm64_available

    reference, strict = choose_reference(device_abi, model.spec.variant, options.reference, arm64_available())
    if reference == "arm64":
        reference_embeddings = plan.arm64_reference(model)
        result.reference = "arm64-v8a ONNX Runtime (qemu-user)"
    else:
        reference_embeddings = model.host_embeddings
        result.reference = f"{HOST_ABI} host ONNX Runtime"
    compare_model(
        result,
        device_embeddings=parse_npy(embeddings, f"{device.serial}:{out}/embeddings.npy", rows, dim)
        if embeddings
        else None,
        host_embeddings=reference_embeddings,
        strict=strict or options.parity.cross_arch_int8 == "strict",
        x86_embeddings=model.host_embeddings if reference != "host" else None,
        host_fp32_embeddings=model.host_fp32_embeddings,
        device_e2e_embeddings=parse_npy(e2e, f"{device.serial}:{out}/embeddings_e2e.npy", rows, dim) if e2e else None,
        device_token_ids=parse_token_ids(token_ids, f"{device.serial}:{out}/token_ids_e2e.json", rows)
        if token_ids
        else None,
        host_token_ids=model.token_ids,
        device_raw=raw,
        signoff=plan.signoff,
        parity=options.parity,
        quality=model.spec.gate,
    )


def attached_serials(servers: Sequence[AdbServer]) -> list[str]:
    return [d.serial for d in list_devices(list(servers) or [AdbServer.from_env()]) if d.state == "device"]


def deploy_test(
    serials: Sequence[str],
    options: DeployOptions,
    progress: Progress = lambda _s, _m: None,
    registry: Registry | None = None,
) -> SignoffRun:
    """Run the sign-off on every device in parallel; the host work is done once."""
    import onnxruntime

    if not serials:
        raise InputError('no devices: pass DEVICE=<serial> / DEVICES="s1 s2", or attach one (adb devices)')
    registry = registry or load_registry()
    plan = prepare_host(options, registry, progress)
    run = SignoffRun(
        run_id=plan.run_id,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        harness_version=__version__,
        onnxruntime_version=onnxruntime.__version__,
        texts=list(plan.signoff.texts),
        models=[m.host for m in plan.models],
        settings={
            "mode": options.settings.mode,
            "threads": options.settings.threads,
            "warmup": options.settings.warmup,
            "iterations": options.settings.iterations,
            "parity_gates": options.parity.__dict__,
            "app_package": options.app_package,
            "test_package": options.test_package,
            "runner": options.runner,
        },
    )
    with ThreadPoolExecutor(max_workers=max(1, len(serials)), thread_name_prefix="device") as pool:
        run.devices = list(pool.map(lambda s: run_device(s, plan, options, progress), serials))
    return run
