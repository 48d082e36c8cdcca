"""ONNX Runtime worker for the reference device side when the device's CPU is emulated (an
arm64-v8a virtual device on an x86-64 host runs this under qemu-user with aarch64 ONNX Runtime).

Runs as a plain script in the emulated CPython, which has only numpy and onnxruntime: no imports
from this project. Protocol: one JSON object per line on stdin, one JSON reply per line on stdout.
  {"op": "load", "model": path, "threads": n, "inputs": [...], "output": name, "pooling": p, "normalize": b}
      -> {"ok": true, "loadMs": f, "ortVersion": s, "memoryKb": {"beforeLoad", "peakLoad", "afterLoad"}}
  {"op": "memory"} -> {"ok": true, "peakInference": kB}   (peak resident size since the load)
  {"op": "embed", "ids": [int, ...]}   (one text, batch of one, as the app runs it)
      -> {"ok": true, "vector": [float, ...], "ms": f}
Errors answer {"ok": false, "error": message}."""

from __future__ import annotations

import json
import sys
import time


def _kb(field: str) -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def main() -> int:
    import numpy as np
    import onnxruntime as ort

    session = None
    spec: dict = {}
    for line in sys.stdin:
        try:
            message = json.loads(line)
            if message["op"] == "load":
                spec = message
                options = ort.SessionOptions()
                options.intra_op_num_threads = int(message.get("threads", 1))
                options.inter_op_num_threads = 1
                before = _kb("VmRSS")
                _reset_peak()
                started = time.perf_counter()
                session = ort.InferenceSession(message["model"], options, providers=["CPUExecutionProvider"])
                load_ms = (time.perf_counter() - started) * 1000
                memory = {"beforeLoad": before, "peakLoad": max(_kb("VmHWM"), before), "afterLoad": _kb("VmRSS")}
                _reset_peak()
                reply = {"ok": True, "loadMs": load_ms, "ortVersion": ort.__version__, "memoryKb": memory}
            elif message["op"] == "memory":
                reply = {"ok": True, "peakInference": _kb("VmHWM")}
            elif message["op"] == "embed":
                if session is None:
                    raise RuntimeError("no model loaded")
                row = np.array([message["ids"]], dtype=np.int64)
                mask = np.ones_like(row)
                feeds = {"input_ids": row, "attention_mask": mask, "token_type_ids": np.zeros_like(row)}
                started = time.perf_counter()
                output = session.run([spec["output"]], {k: feeds[k] for k in spec["inputs"]})[0].astype(np.float32)
                elapsed = (time.perf_counter() - started) * 1000
                if output.ndim == 3:
                    output = output[:, 0] if spec.get("pooling") == "cls" else output.mean(axis=1)
                if spec.get("normalize"):
                    output = output / max(float(np.linalg.norm(output[0])), 1e-12)
                reply = {"ok": True, "vector": [float(v) for v in output[0]], "ms": elapsed}
            else:
                reply = {"ok": False, "error": f"unknown op {message.get('op')!r}"}
        except Exception as err:  # report to the device side; it turns this into a failed check
            reply = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
