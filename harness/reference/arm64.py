"""Reference embeddings from aarch64 ONNX Runtime, emulated on the x86-64 host with qemu-user.

INT8 kernels differ by CPU architecture, so the fair host-side reference for an ARM64 phone is the
same model run by aarch64 ORT. `scripts/arm64/setup.sh` (`make arm64-runtime`) unpacks Debian's
qemu-user and an arm64 CPython 3.11 root with the aarch64 onnxruntime/numpy wheels under
`.cache/arm64/`; this module runs `scripts/arm64/run_model.py` there as

    qemu-aarch64 -cpu <model> -L <root> <root>/usr/bin/python3.11 -I run_model.py <workdir>

exchanging feeds and outputs as .npz files (never pickle) in a temp dir.

The emulated CPU model matters: the default `cortex-a76` (Armv8.2 + dotprod, the big/middle core
class of most Android phones in use) gives the NEON/dotprod kernels. `max` enables SVE2/SME, with
which ORT >= 1.2x takes KleidiAI kernels for dynamically quantized MatMul (per-row activation
quantization): INT8 results then differ from the non-SME path by about the quantization error,
and FP32 runs ~20x slower under emulation. Pick it with `AVA_ARM64_CPU` or `runtime.with_cpu(...)`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError, InputError
from harness.fileio import atomic_output, sha256_file
from harness.settings import ARM64_RUN_TIMEOUT, ARM64_RUNNER, CACHE_DIR, ENV_ARM64_CPU, arm64_home

ABI = "arm64-v8a"
DEFAULT_CACHE_DIR = CACHE_DIR / "arm64"
NOT_SET_UP = "arm64 runtime not set up: run `make arm64-runtime`"
# Printed by ORT's cpuid code under emulation (qemu reports implementer 0); harmless.
_NOISE = ("onnxruntime cpuid_info warning",)


@dataclass
class RunStats:
    """Counters for tests and benchmarks: how many emulated processes were launched, and the
    runner's own timings (import/load/run seconds) of the last one."""

    launches: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    last_run: dict[str, Any] = field(default_factory=dict)


STATS = RunStats()


@dataclass(frozen=True)
class Arm64Runtime:
    """An unpacked aarch64 runtime: a sysroot for `qemu -L`, the emulator, the arm64 python."""

    root: Path
    qemu: Path
    python: Path
    onnxruntime_version: str
    cpu: str = "cortex-a76"
    qemu_version: str = ""
    numpy_version: str = ""

    @classmethod
    def from_manifest(cls, manifest: Path) -> Arm64Runtime:
        """Read the runtime.json written by scripts/arm64/setup.sh (paths relative to its dir)."""
        try:
            data = json.loads(Path(manifest).read_text())
            base = Path(manifest).resolve().parent
            runtime = cls(
                root=base / data["root"],
                qemu=base / data["qemu"],
                python=base / data["python"],
                onnxruntime_version=str(data["onnxruntime_version"]),
                cpu=str(data.get("default_cpu") or "cortex-a76"),
                qemu_version=str(data.get("qemu_version", "")),
                numpy_version=str(data.get("numpy_version", "")),
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise HarnessError(f"{manifest}: unreadable arm64 runtime manifest ({err}); {NOT_SET_UP}") from None
        cpu = os.environ.get(ENV_ARM64_CPU)
        return runtime.with_cpu(cpu) if cpu else runtime

    @classmethod
    def locate(cls, home: Path | None = None) -> Arm64Runtime | None:
        """The runtime set up under `home` (default `$AVA_ARM64_HOME` or `.cache/arm64`), or None."""
        home = Path(home) if home else arm64_home()
        manifest = home / "runtime.json"
        if not manifest.is_file():
            return None
        try:
            runtime = cls.from_manifest(manifest)
        except HarnessError:
            return None
        return runtime if runtime.available() else None

    def available(self) -> bool:
        return self.root.is_dir() and os.access(self.qemu, os.X_OK) and self.python.is_file() and ARM64_RUNNER.is_file()

    def with_cpu(self, cpu: str) -> Arm64Runtime:
        """The same runtime emulating another CPU model (`qemu-aarch64 -cpu help` lists them)."""
        return replace(self, cpu=cpu)

    def command(self, *args: str) -> list[str]:
        """argv running the arm64 python (isolated mode: no host PYTHON* variables) under qemu."""
        return [str(self.qemu), "-cpu", self.cpu, "-L", str(self.root), str(self.python), "-I", *args]

    def run_embeddings(
        self,
        model_path: Path,
        feeds_batches: Sequence[Mapping[str, np.ndarray]],
        output_name: str,
        *,
        threads: int = 1,
        timeout: float = ARM64_RUN_TIMEOUT,
    ) -> list[np.ndarray]:
        """Run `model_path` on each feed dict under emulated aarch64 ORT; the raw `output_name`
        array per batch, in order. One emulated process for all batches."""
        model_path = _check_model(model_path)
        batches = _check_feeds(feeds_batches)
        if threads < 1:
            raise InputError(f"threads must be >= 1, got {threads}")
        if not self.available():
            raise HarnessError(NOT_SET_UP)
        with tempfile.TemporaryDirectory(prefix="ava-arm64-") as tmp:
            work = Path(tmp)
            request = {"model": str(model_path), "output": output_name, "threads": threads, "batches": len(batches)}
            (work / "request.json").write_text(json.dumps(request))
            np.savez(
                work / "inputs.npz",
                **{f"b{i}/{name}": array for i, feeds in enumerate(batches) for name, array in feeds.items()},
            )
            env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": tmp, "TMPDIR": tmp}
            STATS.launches += 1
            try:
                proc = subprocess.run(
                    self.command(str(ARM64_RUNNER), str(work)),
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise HarnessError(
                    f"arm64 ORT on {model_path.name}: no result after {timeout:.0f} s under qemu (-cpu {self.cpu})"
                ) from None
            if proc.returncode != 0 or not (work / "outputs.npz").is_file():
                detail = _tail(proc.stderr) or _tail(proc.stdout) or "no output"
                raise HarnessError(
                    f"arm64 ORT on {model_path.name} failed under qemu (exit {proc.returncode}, -cpu {self.cpu}): "
                    f"{detail}"
                )
            STATS.last_run = json.loads((work / "result.json").read_text())
            with np.load(work / "outputs.npz", allow_pickle=False) as out:
                return [np.array(out[f"b{i}"]) for i in range(len(batches))]

    def cache_identity(self) -> dict[str, str]:
        return {"onnxruntime": self.onnxruntime_version, "abi": ABI, "cpu": self.cpu}


def available(home: Path | None = None) -> bool:
    """True when `make arm64-runtime` has set up a usable runtime."""
    return Arm64Runtime.locate(home) is not None


def require_runtime(home: Path | None = None) -> Arm64Runtime:
    runtime = Arm64Runtime.locate(home)
    if runtime is None:
        raise HarnessError(NOT_SET_UP)
    return runtime


def run_embeddings(
    model_path: Path,
    feeds_batches: Sequence[Mapping[str, np.ndarray]],
    output_name: str,
    *,
    threads: int = 1,
    runtime: Arm64Runtime | None = None,
) -> list[np.ndarray]:
    """Raw `output_name` arrays of `model_path` per feed dict, computed by emulated aarch64 ORT."""
    runtime = runtime or require_runtime()
    return runtime.run_embeddings(model_path, feeds_batches, output_name, threads=threads)


def reference_embeddings(
    model_path: Path,
    feeds_batches: Sequence[Mapping[str, np.ndarray]],
    output_name: str,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    *,
    threads: int = 1,
    runtime: Arm64Runtime | None = None,
) -> list[np.ndarray]:
    """`run_embeddings`, cached in `cache_dir` as .npz keyed by (model sha256, inputs hash, output
    name, ORT version, ABI, emulated CPU, threads). A hit launches no emulator."""
    model_path = _check_model(model_path)
    batches = _check_feeds(feeds_batches)
    runtime = runtime or require_runtime()
    key_fields = {
        "model_sha256": sha256_file(model_path),
        "inputs_sha256": feeds_sha256(batches),
        "output": output_name,
        "threads": str(threads),
        **runtime.cache_identity(),
    }
    key = hashlib.sha256(json.dumps(key_fields, sort_keys=True).encode()).hexdigest()
    cache_dir = Path(cache_dir)
    path = cache_dir / f"{model_path.stem}-{key[:32]}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as cached:
                if json.loads(str(cached["__key__"])) == key_fields:
                    outputs = [np.array(cached[f"b{i}"]) for i in range(len(batches))]
                    STATS.cache_hits += 1
                    return outputs
        except (OSError, ValueError, KeyError):
            pass  # unreadable or foreign entry: recompute and overwrite
    STATS.cache_misses += 1
    outputs = runtime.run_embeddings(model_path, batches, output_name, threads=threads)
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            __key__=np.array(json.dumps(key_fields, sort_keys=True)),
            **{f"b{i}": out for i, out in enumerate(outputs)},
        )
    return outputs


def feeds_sha256(feeds_batches: Sequence[Mapping[str, np.ndarray]]) -> str:
    """Hash of the batches' names, dtypes, shapes and bytes (order of batches matters, of keys not)."""
    digest = hashlib.sha256()
    for index, feeds in enumerate(feeds_batches):
        digest.update(f"batch {index}\n".encode())
        for name in sorted(feeds):
            array = np.ascontiguousarray(feeds[name])
            digest.update(f"{name} {array.dtype.str} {array.shape}\n".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()


def _check_model(model_path: Path) -> Path:
    model_path = Path(model_path).resolve()
    if not model_path.is_file():
        raise InputError(f"{model_path}: model file not found")
    return model_path


def _check_feeds(feeds_batches: Sequence[Mapping[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    if isinstance(feeds_batches, Mapping) or not feeds_batches:
        raise InputError("feeds_batches: expected a non-empty list of {input name: array} dicts")
    checked = []
    for index, feeds in enumerate(feeds_batches):
        if not isinstance(feeds, Mapping) or not feeds:
            raise InputError(f"feeds_batches[{index}]: expected a non-empty {{input name: array}} dict")
        batch = {}
        for name, array in feeds.items():
            if not isinstance(name, str) or not name or "/" in name:
                raise InputError(f"feeds_batches[{index}]: bad input name {name!r}")
            if not isinstance(array, np.ndarray) or array.dtype == object:
                raise InputError(f"feeds_batches[{index}][{name!r}]: expected a numeric numpy array")
            batch[name] = array
        checked.append(batch)
    return checked


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip() and not line.startswith(_NOISE)]
    return " | ".join(kept[-lines:])[-800:]
