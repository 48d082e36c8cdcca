"""Runner executed by the *emulated* aarch64 CPython (qemu-user) inside the arm64 root.

Usage: run_model.py WORKDIR

WORKDIR/request.json  {"model": path, "output": name, "threads": n, "batches": n}
WORKDIR/inputs.npz    arrays named "b{batch}/{input name}" (int64)
writes
WORKDIR/outputs.npz   arrays named "b{batch}" (the raw output, whatever its dtype/shape)
WORKDIR/result.json   {"onnxruntime": version, "numpy": version, "machine": ..., "seconds": {...}}

Only numpy and onnxruntime are importable here (the root's site dir holds nothing else), and data
crosses the boundary as .npz/.json only: no pickle (np.load(..., allow_pickle=False)).
Kept free of harness imports on purpose: the harness package is not installed in the root.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: run_model.py WORKDIR", file=sys.stderr)
        return 2
    work = Path(argv[1])
    started = time.perf_counter()
    import numpy as np
    import onnxruntime as ort

    imported = time.perf_counter()
    request = json.loads((work / "request.json").read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(request.get("threads", 1))
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(request["model"], options, providers=["CPUExecutionProvider"])
    loaded = time.perf_counter()
    wanted = request["output"]
    names = [o.name for o in session.get_outputs()]
    if wanted not in names:
        print(f"model has no output {wanted!r} (has {', '.join(names)})", file=sys.stderr)
        return 3
    accepted = {i.name for i in session.get_inputs()}
    outputs: dict[str, np.ndarray] = {}
    with np.load(work / "inputs.npz", allow_pickle=False) as inputs:
        keys = list(inputs.keys())
        for index in range(int(request["batches"])):
            prefix = f"b{index}/"
            feeds = {k[len(prefix) :]: inputs[k] for k in keys if k.startswith(prefix)}
            unknown = sorted(set(feeds) - accepted)
            if unknown:
                print(f"batch {index}: model has no input(s) {', '.join(unknown)}", file=sys.stderr)
                return 3
            (outputs[f"b{index}"],) = session.run([wanted], feeds)
    ran = time.perf_counter()
    tmp = work / "outputs.tmp.npz"
    np.savez(tmp, **outputs)
    tmp.replace(work / "outputs.npz")
    result = {
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "machine": platform.machine(),
        "seconds": {"import": imported - started, "load": loaded - imported, "run": ran - loaded},
    }
    (work / "result.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
