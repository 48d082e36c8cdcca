"""ONNX Runtime on the device: in this process, or under the CPU emulator the device names (arm64)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

# A virtual device's prop naming the CPU emulator (qemu-user runtime.json) that runs its code.
CPU_EMULATOR_PROP = "ro.vd.cpu_emulator"


def status_kb(field: str) -> int:
    """VmRSS or VmHWM of this process (/proc/self/status), in kB; 0 when unreadable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def reset_peak() -> None:
    """Start a new VmHWM from the present resident size (`5` to /proc/self/clear_refs, Linux 4.0+);
    where the kernel refuses, VmHWM stays the process's peak so far (an upper bound)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def load_memory(load: Any) -> tuple[Any, dict[str, int]]:
    """Contract v4's memoryKb around `load()`: resident size before, the peak during it (never
    below the start), resident size after; the peak is reset again for the inferences."""
    before = status_kb("VmRSS")
    reset_peak()
    value = load()
    peak = max(status_kb("VmHWM"), before) if before else status_kb("VmHWM")
    after = status_kb("VmRSS")
    reset_peak()
    return value, {"beforeLoad": before, "peakLoad": peak, "afterLoad": after}


def inference_peak(after_load: int) -> int:
    """The peak resident size since load_memory() returned (never below the size after the load)."""
    peak = status_kb("VmHWM")
    return max(peak, after_load) if peak and after_load else peak


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
        self.threads = threads

        def timed_load() -> tuple[Any, float]:
            started = time.perf_counter()
            session = ort.InferenceSession(str(self.path), self._options(), providers=["CPUExecutionProvider"])
            return session, (time.perf_counter() - started) * 1000

        (self.session, self.load_ms), self.memory_kb = load_memory(timed_load)
        self.provider = "CPU" if provider == "CPU" else f"CPU (fallback from {provider})"

    def _options(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        return options

    def embed(self, token_ids: list[list[int]], session: Any = None) -> np.ndarray:
        out = []
        for ids in token_ids:  # one text at a time, as the app's embed(text) does
            row = np.array([ids], dtype=np.int64)
            mask = np.ones_like(row)
            feeds = {"input_ids": row, "attention_mask": mask, "token_type_ids": np.zeros_like(row)}
            result = (session or self.session).run([self.spec["output"]], {k: feeds[k] for k in self.spec["inputs"]})[0]
            out.append(_pool(result, mask, self.spec["pooling"], self.spec["normalize"])[0])
        return np.stack(out).astype(np.float32)

    def profile(self, token_ids: list[int], runs: int, target: Path) -> float:
        """Contract v3's profiled pass: a separate session with ONNX Runtime's profiler
        (SessionOptions.enable_profiling) runs `token_ids` `runs` times; its profile is renamed to
        `target` when complete. Returns the runs' wall time in ms (session creation excluded)."""
        import onnxruntime as ort

        options = self._options()
        options.enable_profiling = True
        options.profile_file_prefix = str(target.parent / f".{target.stem}-{os.getpid()}")
        session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        written = None
        try:
            started = time.perf_counter()
            for _ in range(runs):
                self.embed([token_ids], session)
            elapsed = (time.perf_counter() - started) * 1000
        finally:
            written = Path(session.end_profiling())
        os.replace(written, target)
        return elapsed

    def memory(self) -> dict[str, int]:
        """memoryKb (contract v4): the load's figures and the inferences' peak so far."""
        return {**self.memory_kb, "peakInference": inference_peak(self.memory_kb["afterLoad"])}

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
        self.memory_kb = {k: int(reply.get("memoryKb", {}).get(k, 0)) for k in ("beforeLoad", "peakLoad", "afterLoad")}
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

    def memory(self) -> dict[str, int]:
        """memoryKb (contract v4) of the emulated process, which holds the model."""
        peak = int(self._ask({"op": "memory"}).get("peakInference", 0))
        after = self.memory_kb["afterLoad"]
        return {**self.memory_kb, "peakInference": max(peak, after) if peak and after else peak}

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
