"""The sign-off instrumentation: reads request.json, runs every model with ONNX Runtime, writes
the outputs of contract v2 and prints real-shaped `am instrument -r` output as it goes."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ava_reference.model_runner import EmulatedModelRunner, ModelRunner, open_model_runner
from ava_reference.request import CONTRACT, PROFILE_RUNS_MAX, Chapter, RequestError, parse_chapter
from ava_reference.wordpiece import WordPieceTokenizer

# The app's own test class (this module plays it): the host names it in `-e class`.
TEST_CLASS = "com.augmentalis.ava.harness.EmbeddingSignoffTest"
CHECKS = ("modelLoads", "embeddingsValid", "ragRanking", "modelParity", "endToEnd", "latency")


class CheckFailed(AssertionError):
    pass


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


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


LOG_TAG = "AvaSignoff"


def _log(ctx: Any, priority: str, message: str) -> None:
    """A logcat line from the app's process, when the device gives the context a log (virtual devices do)."""
    log = getattr(ctx, "log", None)
    if callable(log):
        log(priority, LOG_TAG, message)


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
            _log(ctx, "I", f"{base['test']}: passed")
        except Exception as err:
            result["errors"].append(f"{name}: {err}")
            printer.end(base, err, extra)
            _log(ctx, "E", f"{base['test']}: failed: {err}")

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

    def profiled_pass(active: ModelRunner | EmulatedModelRunner, ids: list[int], iterations: int) -> None:
        if not isinstance(active, ModelRunner):
            _log(ctx, "W", f"profile[{model_id}]: not supported under the CPU emulator")
            return
        try:
            result["profileMs"] = active.profile(ids, min(iterations, PROFILE_RUNS_MAX), out_dir / "profile.json")
        except Exception as err:  # the run's verdict does not depend on its profile
            _log(ctx, "W", f"profile[{model_id}]: {type(err).__name__}: {err}")

    def latency() -> dict[str, str]:
        active = require_runner()
        first = [spec["tokenIds"][0]]
        warmup_started = time.perf_counter()
        for _ in range(int(request.get("warmup", 3))):
            active.embed(first)
        result["warmupMs"] = (time.perf_counter() - warmup_started) * 1000
        samples = []
        for _ in range(int(request.get("iterations", 20))):
            t0 = time.perf_counter()
            active.embed(first)
            samples.append((time.perf_counter() - t0) * 1000)
        result["latencyMs"] = samples
        result["memoryKb"] = active.memory()  # contract v4: before the profiled pass's own session
        if request.get("profile") is True:  # contract v3: a diagnostic, it never fails the check
            profiled_pass(active, first[0], len(samples))
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
    # AndroidJUnitRunner's stream: "\n" + JUnit's TextListener summary, which starts with a blank line.
    n_failed = len(printer.failures)
    if printer.failures:
        summary = (
            f"\n\nTime: {elapsed:,.3f}\n"
            + ("There was 1 failure:\n" if n_failed == 1 else f"There were {n_failed} failures:\n")
            + "".join(f"{i}) {f}\n" for i, f in enumerate(printer.failures, 1))
            + f"\nFAILURES!!!\nTests run: {printer.total},  Failures: {n_failed}\n\n"
        )
    else:
        summary = f"\n\nTime: {elapsed:,.3f}\n\nOK ({printer.total} tests)\n\n\n"
    ctx.write(f"INSTRUMENTATION_RESULT: stream={summary}INSTRUMENTATION_CODE: -1\n")
    return 0
