"""The sign-off instrumentation: reads request.json, runs every model with ONNX Runtime, writes
the outputs of contract v2 and prints real-shaped `am instrument -r` output as it goes."""

from __future__ import annotations

import hashlib
import json
import math
import os
import resource
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ava_reference.wordpiece import WordPieceTokenizer

CONTRACT = "ava-harness-device/2"
# The app's own test class (this module plays it): the host names it in `-e class`.
TEST_CLASS = "com.augmentalis.ava.harness.EmbeddingSignoffTest"
CHECKS = ("modelLoads", "embeddingsValid", "ragRanking", "modelParity", "endToEnd", "latency")
# A virtual device's prop naming the CPU emulator (qemu-user runtime.json) that runs its code.
CPU_EMULATOR_PROP = "ro.vd.cpu_emulator"


class CheckFailed(AssertionError):
    pass


class RequestError(ValueError):
    """A field of request.json is missing or malformed."""


@dataclass(frozen=True)
class Chapter:
    """request.json's "chapter": the thresholds of chapter 28A.6's tests 2 and 4 (contract v2)."""

    norm_range: tuple[float, float]  # test 2: every L2 norm strictly inside
    documents: dict[str, str]  # test 4: id -> text, in the request's order (ties keep it)
    query: str
    expected_first: str  # this document must rank first ...
    never_first: str  # ... and this one must not

    def embeddings_valid(self, array: np.ndarray) -> bool:
        """Chapter test 2: every value finite and every row's L2 norm in the open range."""
        norms = np.linalg.norm(array, axis=1)
        low, high = self.norm_range
        return bool(np.all(np.isfinite(array))) and bool(np.all((norms > low) & (norms < high)))

    def ranking_passes(self, ranking: list[str]) -> bool:
        return bool(ranking) and ranking[0] == self.expected_first and ranking[0] != self.never_first


def parse_chapter(request: dict[str, Any], source: str = "request.json") -> Chapter:
    """Validates request.json's "chapter"; RequestError names the field that is wrong."""
    where = f"{source}.chapter"

    def child(obj: dict[str, Any], key: str, at: str) -> Any:
        if obj.get(key) is None:
            raise RequestError(f'{at}: missing "{key}"')
        return obj[key]

    def text(obj: dict[str, Any], key: str, at: str) -> str:
        value = child(obj, key, at)
        if not isinstance(value, str):
            raise RequestError(f'{at}: "{key}" must be a string')
        return value

    chapter = child(request, "chapter", source)
    if not isinstance(chapter, dict):
        raise RequestError(f'{source}: "chapter" must be an object')
    bounds = child(chapter, "normRange", where)
    if (
        not isinstance(bounds, list)
        or len(bounds) != 2
        or not all(isinstance(b, int | float) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)
        or not 0 <= bounds[0] < bounds[1]
    ):
        raise RequestError(f'{where}: "normRange" must be [low, high], finite numbers with 0 <= low < high')
    rag = child(chapter, "rag", where)
    if not isinstance(rag, dict):
        raise RequestError(f'{where}: "rag" must be an object')
    at = f"{where}.rag"
    documents = child(rag, "documents", at)
    if not isinstance(documents, dict) or not documents or not all(isinstance(v, str) for v in documents.values()):
        raise RequestError(f'{at}: "documents" must be a non-empty object of strings')
    query = text(rag, "query", at)
    expected, never = text(rag, "expectedFirst", at), text(rag, "neverFirst", at)
    for key, value in (("expectedFirst", expected), ("neverFirst", never)):
        if value not in documents:
            raise RequestError(f'{at}: "{key}" "{value}" is not a document id')
    if expected == never:
        raise RequestError(f'{at}: "expectedFirst" and "neverFirst" are the same document "{expected}"')
    return Chapter((float(bounds[0]), float(bounds[1])), dict(documents), query, expected, never)


@dataclass
class Printer:
    """Prints status bundles exactly as `am instrument -r` does (keys sorted, one per line)."""

    write: Any
    total: int
    current: int = 0
    failures: list[str] = field(default_factory=list)

    def bundle(self, values: dict[str, str], code: int) -> None:
        lines = [f"INSTRUMENTATION_STATUS: {key}={values[key]}" for key in sorted(values)]
        self.write("\n".join(lines) + f"\nINSTRUMENTATION_STATUS_CODE: {code}\n")

    def start(self, test: str) -> dict[str, str]:
        self.current += 1
        base = {
            "class": TEST_CLASS,
            "current": str(self.current),
            "id": "AndroidJUnitRunner",
            "numtests": str(self.total),
            "test": test,
        }
        self.bundle({**base, "stream": f"\n{TEST_CLASS}:" if self.current == 1 else ""}, 1)
        return base

    def end(self, base: dict[str, str], error: BaseException | None, metrics: dict[str, str]) -> None:
        if error is None:
            self.bundle({**base, **metrics, "stream": "."}, 0)
            return
        stack = "".join(traceback.format_exception_only(type(error), error)).strip()
        method = base["test"].split("[")[0]
        stack = f"java.lang.AssertionError: {stack}\n\tat {TEST_CLASS}.{method}(EmbeddingSignoffTest.kt)"
        self.failures.append(f"{base['test']}: {error}")
        self.bundle(
            {**base, **metrics, "stack": stack, "stream": f"\nError in {base['test']}({TEST_CLASS}):\n{stack}\n"}, -2
        )


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype="<f4"), allow_pickle=False)
    return buffer.getvalue()


def _pool(output: np.ndarray, mask: np.ndarray, pooling: str, normalize: bool) -> np.ndarray:
    output = output.astype(np.float32)
    if output.ndim == 3:
        if pooling == "cls":
            output = output[:, 0]
        else:
            m = mask[..., None].astype(np.float32)
            output = (output * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    if normalize:
        output = output / np.clip(np.linalg.norm(output, axis=1, keepdims=True), 1e-12, None)
    return output


class ModelRunner:
    """ONNX Runtime in this process: the device's CPU is the host's."""

    def __init__(self, spec: dict[str, Any], files: Path, threads: int, provider: str) -> None:
        import onnxruntime as ort

        self.ort_version = ort.__version__
        self.spec = spec
        self.path = files / spec["file"]
        if not self.path.is_file():
            raise FileNotFoundError(f"Model not found: {spec['modelId']}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        started = time.perf_counter()
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.load_ms = (time.perf_counter() - started) * 1000
        self.provider = "CPU" if provider == "CPU" else f"CPU (fallback from {provider})"

    def embed(self, token_ids: list[list[int]]) -> np.ndarray:
        out = []
        for ids in token_ids:  # one text at a time, as the app's embed(text) does
            row = np.array([ids], dtype=np.int64)
            mask = np.ones_like(row)
            feeds = {"input_ids": row, "attention_mask": mask, "token_type_ids": np.zeros_like(row)}
            result = self.session.run([self.spec["output"]], {k: feeds[k] for k in self.spec["inputs"]})[0]
            out.append(_pool(result, mask, self.spec["pooling"], self.spec["normalize"])[0])
        return np.stack(out).astype(np.float32)

    def close(self) -> None:
        pass


class EmulatedModelRunner:
    """ONNX Runtime for another CPU architecture, run by the virtual device's CPU emulator
    (qemu-user with an aarch64 Python and onnxruntime): what an arm64 phone's kernels compute."""

    def __init__(self, spec: dict[str, Any], files: Path, threads: int, provider: str, emulator: Path) -> None:
        import subprocess

        self.spec = spec
        self.path = files / spec["file"]
        if not self.path.is_file():
            raise FileNotFoundError(f"Model not found: {spec['modelId']}")
        runtime = json.loads(emulator.read_text())
        base = emulator.parent
        command = [
            str(base / runtime["qemu"]),
            "-cpu",
            runtime.get("default_cpu", "cortex-a76"),
            "-L",
            str(base / runtime["root"]),
            str(base / runtime["python"]),
            "-I",
            str(Path(__file__).with_name("ort_worker.py")),
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
        )
        reply = self._ask(
            {
                "op": "load",
                "model": str(self.path),
                "threads": threads,
                "inputs": spec["inputs"],
                "output": spec["output"],
                "pooling": spec["pooling"],
                "normalize": spec["normalize"],
            }
        )
        self.load_ms = float(reply["loadMs"])
        self.ort_version = str(reply["ortVersion"])
        self.provider = "CPU" if provider == "CPU" else f"CPU (fallback from {provider})"

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulated ONNX Runtime exited (code {self.process.poll()})")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error", "emulated ONNX Runtime failed"))
        return reply

    def embed(self, token_ids: list[list[int]]) -> np.ndarray:
        return np.array([self._ask({"op": "embed", "ids": list(ids)})["vector"] for ids in token_ids], dtype=np.float32)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except Exception:
                self.process.kill()


def open_model_runner(
    spec: dict[str, Any], files: Path, threads: int, provider: str, props: dict[str, str]
) -> ModelRunner | EmulatedModelRunner:
    """The device's CPU runs the model, as on a phone. The device says what that CPU is through
    its props (getprop, like `Build.SUPPORTED_ABIS` on a phone): `ro.product.cpu.abi` is reported
    in result.json, and a virtual device whose CPU is emulated (an arm64-v8a phone on an x86-64
    host) names its emulator in `ro.vd.cpu_emulator`. Without that prop this process's CPU is the
    device's: the harness that built the virtual device gave it this host's ABI."""
    emulator = props.get(CPU_EMULATOR_PROP, "")
    if not emulator:
        return ModelRunner(spec, files, threads, provider)
    if not Path(emulator).is_file():
        abi = props.get("ro.product.cpu.abi", "?")
        raise RuntimeError(f"the device's {abi} CPU emulator {emulator} is missing (make arm64-runtime)")
    return EmulatedModelRunner(spec, files, threads, provider, Path(emulator))


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _run_model(
    ctx: Any,
    request: dict[str, Any],
    chapter: Chapter | RequestError,
    spec: dict[str, Any],
    printer: Printer,
    files: Path,
    run_dir: Path,
    device_run_dir: str,
) -> bool:
    """All checks of one model; False when the run was stopped (the process 'crashed')."""
    mode = request.get("mode", "both")
    texts: list[str] = request["texts"]
    model_id = spec["modelId"]
    out_dir = run_dir / "out" / model_id
    result: dict[str, Any] = {
        "contract": CONTRACT,
        "modelId": model_id,
        "errors": [],
        "abi": ctx.props.get("ro.product.cpu.abi", ""),
        "chapterTests": {},
    }
    runner: ModelRunner | EmulatedModelRunner | None = None
    load_error: BaseException | None = None
    parity: np.ndarray | None = None

    def check(name: str, body: Any, metrics: dict[str, str] | None = None) -> None:
        if ctx.should_stop():
            raise SystemExit(0)
        base = printer.start(f"{name}[{model_id}]")
        extra = {"ava.modelId": model_id, **(metrics or {})}
        try:
            more = body() or {}
            printer.end(base, None, {**extra, **more})
        except Exception as err:
            result["errors"].append(f"{name}: {err}")
            printer.end(base, err, extra)

    def require_chapter() -> Chapter:
        if isinstance(chapter, RequestError):
            raise CheckFailed(str(chapter))
        return chapter

    def load() -> dict[str, str]:
        nonlocal runner, load_error
        try:
            require_chapter()  # a request without valid thresholds fails here, before any model runs
            runner = open_model_runner(
                spec, files, int(request.get("threads", 2)), request.get("executionProvider", "CPU"), ctx.props
            )
        except Exception as err:
            load_error = err
            raise
        result.update(
            sha256=_sha256(runner.path),
            loadMs=runner.load_ms,
            ortVersion=runner.ort_version,
            executionProvider=runner.provider,
        )
        cold_started = time.perf_counter()
        probe = runner.embed([spec["tokenIds"][0]])
        result["coldMs"] = (time.perf_counter() - cold_started) * 1000
        result["dimension"] = int(probe.shape[1])
        ok = probe.shape[1] == spec["dimension"]
        result["chapterTests"]["test1_loads_with_dimension"] = ok
        if not ok:
            raise CheckFailed(f"expected dimension {spec['dimension']}, got {probe.shape[1]}")
        return {"ava.loadMs": f"{runner.load_ms:.3f}", "ava.coldMs": f"{result['coldMs']:.3f}"}

    def require_runner() -> ModelRunner | EmulatedModelRunner:
        if runner is None:
            raise CheckFailed(f"model did not load: {load_error}" if load_error else "model did not load")
        return runner

    def valid() -> None:
        nonlocal parity
        parity = require_runner().embed(spec["tokenIds"])
        thresholds = require_chapter()
        norms = np.linalg.norm(parity, axis=1)
        ok = thresholds.embeddings_valid(parity)
        result["chapterTests"]["test2_embeddings_valid"] = ok
        if mode in ("model_parity", "both"):
            _atomic_write(out_dir / "embeddings.npy", _npy_bytes(parity))
        if not ok:
            low, high = thresholds.norm_range
            raise CheckFailed(
                f"embeddings not finite or L2 norm out of ({low}, {high}): {norms.min():.3f}..{norms.max():.3f}"
            )

    tokenizer_path = files / spec["tokenizer"]

    def rag() -> None:
        active = require_runner()
        thresholds = require_chapter()
        tokenizer = WordPieceTokenizer(tokenizer_path)
        docs = thresholds.documents
        doc_ids = list(docs)
        vectors = active.embed([tokenizer.encode(docs[d], spec["maxLength"]) for d in doc_ids])
        query = active.embed([tokenizer.encode(thresholds.query, spec["maxLength"])])[0]
        scores = vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
        ranking = [doc_ids[i] for i in np.argsort(-scores, kind="stable")]
        result["ragRanking"] = ranking
        ok = thresholds.ranking_passes(ranking)
        result["chapterTests"]["test4_rag_ranking"] = ok
        if not ok:
            raise CheckFailed(
                f"expected document {thresholds.expected_first} first"
                f" (document {thresholds.never_first} never), got {ranking}"
            )

    def parity_check() -> None:
        if parity is None:
            raise CheckFailed("no model-parity embeddings")

    def end_to_end() -> None:
        if mode == "model_parity":
            return
        active = require_runner()
        tokenizer = WordPieceTokenizer(tokenizer_path)
        ids = [tokenizer.encode(text, spec["maxLength"]) for text in texts]
        _atomic_write(out_dir / "token_ids_e2e.json", json.dumps(ids).encode())
        _atomic_write(out_dir / "embeddings_e2e.npy", _npy_bytes(active.embed(ids)))

    def latency() -> dict[str, str]:
        active = require_runner()
        first = [spec["tokenIds"][0]]
        for _ in range(int(request.get("warmup", 3))):
            active.embed(first)
        samples = []
        for _ in range(int(request.get("iterations", 20))):
            t0 = time.perf_counter()
            active.embed(first)
            samples.append((time.perf_counter() - t0) * 1000)
        result["latencyMs"] = samples
        return {
            "ava.p50Ms": f"{float(np.percentile(samples, 50)):.3f}",
            "ava.result": f"{device_run_dir}/out/{model_id}/result.json",
        }

    try:
        check("modelLoads", load)
        check("embeddingsValid", valid)
        check("ragRanking", rag)
        check("modelParity", parity_check)
        check("endToEnd", end_to_end)
        check("latency", latency)
    except SystemExit:
        return False
    finally:
        if runner is not None:
            runner.close()
    result.setdefault("latencyMs", [])
    result.setdefault("sha256", "")
    result.setdefault("loadMs", None)
    result.setdefault("ortVersion", "")
    result.setdefault("executionProvider", request.get("executionProvider", "CPU"))
    result["peakMemoryKb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _atomic_write(out_dir / "result.json", json.dumps(result, indent=1).encode())
    return True


def run(ctx: Any) -> int:  # ctx: virtual_device.apps.instrumentation.InstrumentationContext
    started = time.perf_counter()
    request_path = ctx.args.get("ava.request")
    if not request_path:
        ctx.write(
            "INSTRUMENTATION_RESULT: shortMsg=java.lang.IllegalArgumentException\n"
            "INSTRUMENTATION_RESULT: longMsg=java.lang.IllegalArgumentException: missing -e ava.request\n"
            "INSTRUMENTATION_CODE: 0\n"
        )
        return 0
    try:
        request = json.loads(ctx.host_path(request_path).read_text(encoding="utf-8"))
        if request.get("contract") != CONTRACT:
            raise ValueError(f"unsupported contract {request.get('contract')!r}")
    except Exception as err:  # the app would crash the same way: a Java exception, code 0
        ctx.write(
            f"INSTRUMENTATION_RESULT: shortMsg={type(err).__name__}\n"
            f"INSTRUMENTATION_RESULT: longMsg={type(err).__name__}: {err}\n"
            "INSTRUMENTATION_CODE: 0\n"
        )
        return 0
    try:  # not fatal: every model's modelLoads check fails with the reason, the run completes
        chapter: Chapter | RequestError = parse_chapter(request, request_path)
    except RequestError as err:
        chapter = err
    files = ctx.host_path(f"/sdcard/Android/data/{ctx.target_package}/files")
    run_dir = ctx.host_path(request_path).parent
    printer = Printer(ctx.write, total=len(request["models"]) * len(CHECKS))

    for spec in request["models"]:
        if not _run_model(ctx, request, chapter, spec, printer, files, run_dir, request_path.rsplit("/", 1)[0]):
            return 0

    elapsed = time.perf_counter() - started
    if printer.failures:
        summary = (
            f"\nTime: {elapsed:,.3f}\nThere were {len(printer.failures)} failures:\n"
            + "".join(f"{i}) {f}\n" for i, f in enumerate(printer.failures, 1))
            + f"\nFAILURES!!!\nTests run: {printer.total},  Failures: {len(printer.failures)}\n\n"
        )
    else:
        summary = f"\nTime: {elapsed:,.3f}\n\nOK ({printer.total} tests)\n\n\n"
    ctx.write(f"INSTRUMENTATION_RESULT: stream={summary}INSTRUMENTATION_CODE: -1\n")
    return 0
