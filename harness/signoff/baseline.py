"""This run against a baseline run (`deploy-test --baseline RUN`): the regression gates of
harness.regression_gates, per model (host: size, quality retention) and per device and model
(device-vs-baseline embedding cosine on the same texts, p50 latency), side by side.

Pure: both runs are signoff.json-shaped dicts (this one from SignoffRun.to_dict()), the device
vectors come from callables; nothing here reads a report file (harness.reports.run_record does,
and the CLI hands the document in). Devices are matched by device model and ABI, never by
serial: a phone's serial (a virtual device's random port) changes between releases, its model
does not. Two devices of one model in both runs pair up in order.

The comparison is a list of rows (`comparison["rows"]`), each one figure: where (host or the
device's key), model, figure, this run, baseline, change, and, for a gated figure, the gate, its
threshold, whether it passed and why. A model or a device found in only one run is a row that
says so, never an error; a baseline with no model in common with this run, or of another app
package, is an InputError naming the file (check_baseline)."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness import regression_gates as rg
from harness.errors import InputError
from harness.gates import Gate
from harness.regression_gates import RegressionGates
from harness.signoff.artifacts import artifact_name
from harness.signoff.results import SignoffRun

HOST = "host"
ONLY_HERE, ONLY_BASELINE = "only in this run", "only in the baseline"
Vectors = Callable[[int, str], "np.ndarray | None"]  # (device index in its run, model ID) -> vectors


def embeddings_file(model_id: str) -> str:
    """The artifact holding one model's per-text device vectors (float16, compressed)."""
    return artifact_name("embeddings-", model_id, ".npz")


def encode_embeddings(vectors: np.ndarray) -> bytes:
    """float16 in a compressed .npz: 384 dims x 42 texts is ~30 kB, a run directory stays small;
    float16 keeps cosines to ~1e-6, far below any regression threshold."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, embeddings=np.asarray(vectors, dtype=np.float16))
    return buffer.getvalue()


def decode_embeddings(data: bytes, source: str) -> np.ndarray:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            vectors = np.asarray(archive["embeddings"], dtype=np.float32)
    except Exception as err:  # a damaged or foreign file: this comparison only, never the run
        raise InputError(f"{source}: not an embeddings file ({type(err).__name__})") from None
    if vectors.ndim != 2:
        raise InputError(f"{source}: embeddings of shape {vectors.shape}, expected texts x dimension")
    return vectors


@dataclass
class Baseline:
    """A baseline run as the comparison needs it: its signoff.json document (current schema
    shape, from harness.reports.run_record.load_signoff) and where it lives."""

    path: Path  # its signoff.json
    document: dict[str, Any] = field(repr=False)  # --verbose logs the options: the path says which run
    gates: RegressionGates = field(default_factory=RegressionGates)

    @property
    def directory(self) -> Path:
        return self.path.parent

    def vectors(self, device_index: int, model_id: str) -> np.ndarray | None:
        """The baseline device's vectors of a model, None when that run did not keep them."""
        devices = _records(self.document.get("devices"))
        device = devices[device_index] if 0 <= device_index < len(devices) else {}
        relative = _d(device.get("artifacts")).get(embeddings_file(model_id))
        if not isinstance(relative, str):
            return None
        path = self.directory / relative
        if not path.resolve().is_relative_to(self.directory.resolve()):
            return None  # the baseline's own files only
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            return decode_embeddings(data, str(path))
        except InputError:
            return None


def check_baseline(document: dict[str, Any], path: Path, model_ids: Sequence[str], app_package: str) -> None:
    """A baseline this run can be compared with, or an InputError naming the file and what differs."""
    theirs = [m.get("model_id") for m in _records(document.get("models"))]
    if not set(theirs) & set(model_ids):
        raise InputError(
            f"{path}: the baseline ran another model set ({', '.join(map(str, theirs)) or 'none'};"
            f" this run: {', '.join(model_ids)})"
        )
    package = _d(document.get("settings")).get("app_package")
    if package and package != app_package:
        raise InputError(f"{path}: the baseline ran app package {package}, this run {app_package}")


def device_key(device: dict[str, Any]) -> str:
    """What a device is across releases: manufacturer, model and ABI (`Google Pixel 8 (arm64-v8a)`)."""
    props = _d(device.get("props"))
    name = " ".join(str(p) for p in (props.get("ro.product.manufacturer"), props.get("ro.product.model")) if p)
    return f"{name or 'unknown device'} ({props.get('ro.product.cpu.abi') or 'unknown ABI'})"


def pair_devices(here: list[dict[str, Any]], there: list[dict[str, Any]]) -> list[tuple[int | None, int | None]]:
    """Index pairs (this run, baseline) of devices with the same key, in order; unmatched ones
    paired with None."""
    free = list(range(len(there)))
    pairs: list[tuple[int | None, int | None]] = []
    for i, device in enumerate(here):
        match = next((j for j in free if device_key(there[j]) == device_key(device)), None)
        if match is not None:
            free.remove(match)
        pairs.append((i, match))
    return pairs + [(None, j) for j in free]


def _d(value: Any) -> dict[str, Any]:
    """A dict, or {} for anything else: a baseline file is input, its fields may be anything."""
    return value if isinstance(value, dict) else {}


def _records(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _texts(value: Any) -> list[str | None]:
    return [t if isinstance(t, str) else None for t in value] if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _row(where: str, model_id: str, figure: str, here: Any, there: Any, **gate: Any) -> dict[str, Any]:
    a, b = _number(here), _number(there)
    change = None if a is None or b is None else a - b
    return {
        "where": where,
        "model_id": model_id,
        "figure": figure,
        "this_run": here,
        "baseline": there,
        "change": change,
        "gate": gate.get("gate"),
        "threshold": gate.get("threshold"),
        "gated": bool(gate.get("gated", False)),
        "passed": gate.get("passed"),
        "value": gate.get("value"),
        "why": gate.get("why", ""),
    }


def _ratio_gate(name: str, here: float | None, there: float | None, limit: float, gated: bool, why: str) -> dict:
    if here is None or there is None or there <= 0:
        return {"gate": name, "threshold": limit, "gated": False, "passed": None, "why": "not measured in both runs"}
    ratio = here / there
    ok = ratio <= limit
    note = f"{ratio:.3f}x the baseline" + ("" if gated else f"; {why}")
    return {"gate": name, "threshold": limit, "gated": gated, "passed": ok or not gated, "value": ratio, "why": note}


def _drop_gate(name: str, here: Any, there: Any, limit: float, comparable: str | None) -> dict:
    a, b = _number(here), _number(there)
    if a is None or b is None:
        return {"gate": name, "threshold": limit, "gated": False, "passed": None, "why": "not measured in both runs"}
    drop = b - a
    if comparable:
        return {"gate": name, "threshold": limit, "gated": False, "passed": True, "value": drop, "why": comparable}
    ok = drop <= limit
    why = f"retention {'fell' if drop > 0 else 'rose'} by {abs(drop) * 100:.2f} points"
    return {"gate": name, "threshold": limit, "gated": True, "passed": ok, "value": drop, "why": why}


def _host_rows(here: dict, there: dict, gates: RegressionGates) -> list[dict[str, Any]]:
    model_id = here["model_id"]
    q, bq = _d(here.get("quality")), _d(there.get("quality"))
    rows = [
        _row(
            HOST,
            model_id,
            "size_bytes",
            here.get("size_bytes"),
            there.get("size_bytes"),
            **_ratio_gate(
                rg.SIZE_RATIO,
                _number(here.get("size_bytes")),
                _number(there.get("size_bytes")),
                gates.max_size_ratio,
                True,
                "",
            ),
        )
    ]
    sts_n, xq_n = (q.get("sts_pairs"), bq.get("sts_pairs")), (q.get("xquad_queries"), bq.get("xquad_queries"))
    for figure, gate, limit, counts, unit in (
        ("sts_retention", rg.STS_RETENTION_DROP, gates.max_sts_retention_drop, sts_n, "STS-B pairs"),
        ("xquad_top1_retention", rg.XQUAD_RETENTION_DROP, gates.max_xquad_retention_drop, xq_n, "XQuAD questions"),
    ):
        differ = counts[0] != counts[1]
        comparable = f"not gated: {counts[0]} vs {counts[1]} {unit} in the baseline" if differ else None
        rows.append(
            _row(
                HOST,
                model_id,
                figure,
                q.get(figure),
                bq.get(figure),
                **_drop_gate(gate, q.get(figure), bq.get(figure), limit, comparable),
            )
        )
    for figure in ("mean_cosine_vs_fp32", "xquad_ndcg10_retention", "sts_spearman"):
        rows.append(_row(HOST, model_id, figure, q.get(figure), bq.get(figure)))
    rows.append(_row(HOST, model_id, "sha256", here.get("sha256"), there.get("sha256")))
    rows.append(_row(HOST, model_id, "preset", here.get("preset"), there.get("preset")))
    return rows


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.sum(a * b, axis=1) / np.where(norms == 0, 1.0, norms)


def _embedding_row(
    where: str,
    model_id: str,
    vectors: tuple[np.ndarray | None, np.ndarray | None],
    texts: tuple[list[str | None], list[str | None]],
    changed: bool,
    limit: float,
) -> dict[str, Any]:
    here, there = vectors
    gate = {"gate": rg.EMBEDDING_COSINE, "threshold": limit}

    def not_compared(why: str) -> dict[str, Any]:
        return _row(where, model_id, "embedding_cosine_mean", None, None, **gate, passed=None, why=why)

    if here is None or there is None:
        return not_compared(f"no device vectors kept in {'this run' if here is None else 'the baseline'}")
    index = {text: i for i, text in enumerate(texts[1]) if i < len(there) and text is not None}
    common = [(i, index[t]) for i, t in enumerate(texts[0]) if t in index and i < len(here)]
    if not common or here.shape[1] != there.shape[1]:
        return not_compared("no text embedded in both runs at one dimension")
    cos = _cosines(here[[i for i, _ in common]], there[[j for _, j in common]])
    mean, low = float(cos.mean()), float(cos.min())
    why = f"{len(common)} texts, min {low:.6f}" + ("" if changed else "; same model file: shown, not gated")
    return _row(
        where,
        model_id,
        "embedding_cosine_mean",
        mean,
        1.0,
        **gate,
        gated=changed,
        passed=mean >= limit or not changed,
        value=mean,
        why=why,
    )


def compare_runs(
    here: dict[str, Any],
    there: dict[str, Any],
    *,
    here_vectors: Vectors,
    there_vectors: Vectors,
    gates: RegressionGates,
    gate_latency_on_emulators: bool = False,
) -> dict[str, Any]:
    """The comparison of run `here` with baseline `there` (both signoff.json-shaped): rows and
    whether every gated row passed."""
    rows: list[dict[str, Any]] = []
    host_here = {str(m.get("model_id")): m for m in _records(here.get("models"))}
    host_there = {str(m.get("model_id")): m for m in _records(there.get("models"))}
    for model_id, model in host_here.items():
        if model_id in host_there:
            rows += _host_rows(model, host_there[model_id], gates)
        else:
            rows.append(_row(HOST, model_id, "model", model_id, None, why=ONLY_HERE))
    rows += [_row(HOST, m, "model", None, m, why=ONLY_BASELINE) for m in host_there if m not in host_here]
    texts = (_texts(here.get("texts")), _texts(there.get("texts")))
    devices_here, devices_there = _records(here.get("devices")), _records(there.get("devices"))
    for i, j in pair_devices(devices_here, devices_there):
        if i is None or j is None:
            device = devices_there[j] if i is None else devices_here[i]  # type: ignore[index]
            where = device_key(device)
            rows.append(
                _row(
                    where,
                    "",
                    "device",
                    device.get("serial") if j is None else None,
                    device.get("serial") if i is None else None,
                    why=f"no device of this model and ABI {ONLY_BASELINE if i is None else ONLY_HERE}",
                )
            )
            continue
        rows += _device_rows(
            devices_here[i],
            devices_there[j],
            (i, j),
            texts,
            here_vectors,
            there_vectors,
            gates,
            gate_latency_on_emulators,
        )
    return {
        "run_id": there.get("run_id"),
        "created_at": there.get("created_at"),
        "thresholds": gates.as_dict(),
        "passed": all(r["passed"] is not False for r in rows if r["gated"]),
        "rows": rows,
    }


def _device_rows(
    device: dict[str, Any],
    base: dict[str, Any],
    indexes: tuple[int, int],
    texts: tuple[list[str | None], list[str | None]],
    here_vectors: Vectors,
    there_vectors: Vectors,
    gates: RegressionGates,
    gate_latency_on_emulators: bool,
) -> list[dict[str, Any]]:
    where = device_key(device)
    rows = []
    theirs = {str(m.get("model_id")): m for m in _records(base.get("models"))}
    ours = {str(m.get("model_id")): m for m in _records(device.get("models"))}
    emulated = _d(device.get("health")).get("emulator") is True
    for model_id, model in ours.items():
        other = theirs.get(model_id)
        if other is None:
            rows.append(_row(where, model_id, "model", model_id, None, why=ONLY_HERE))
            continue
        changed = model.get("sha256") != other.get("sha256")
        vectors = (here_vectors(indexes[0], model_id), there_vectors(indexes[1], model_id))
        rows.append(_embedding_row(where, model_id, vectors, texts, changed, gates.min_embedding_cosine))
        p50 = (_number(_d(model.get("latency_ms")).get("p50")), _number(_d(other.get("latency_ms")).get("p50")))
        gated = not emulated or gate_latency_on_emulators
        latency = _ratio_gate(
            rg.LATENCY_RATIO, *p50, gates.max_latency_p50_ratio, gated, "emulated device: shown, not gated"
        )
        rows.append(_row(where, model_id, "latency_p50_ms", p50[0], p50[1], **latency))
        for block, key in (("parity", "min_cosine"), ("vs_fp32", "mean_cosine"), ("vs_fp32", "top1_retention")):
            figure = f"{block}.{key}"
            rows.append(_row(where, model_id, figure, _d(model.get(block)).get(key), _d(other.get(block)).get(key)))
    rows += [_row(where, m, "model", None, m, why=ONLY_BASELINE) for m in theirs if m not in ours]
    for row in rows:
        row["serial"], row["baseline_serial"] = device.get("serial"), base.get("serial")
    return rows


def apply_baseline(run: SignoffRun, baseline: Baseline, gate_latency_on_emulators: bool = False) -> dict[str, Any]:
    """Compare `run` with `baseline`, add each gated row as a Gate on its model (host or device,
    so the verdict, the exit code and every report count it) and record the comparison on the
    run (`run.baseline`, signoff.json's `baseline`). A device with a newly failed gate is failed."""
    devices = run.devices

    def here_vectors(index: int, model_id: str) -> np.ndarray | None:
        data = devices[index].artifact_data.get(embeddings_file(model_id))
        return None if data is None else decode_embeddings(data, f"{devices[index].serial}: {model_id}")

    try:
        comparison = compare_runs(
            run.to_dict(),
            baseline.document,
            here_vectors=here_vectors,
            there_vectors=baseline.vectors,
            gates=baseline.gates,
            gate_latency_on_emulators=gate_latency_on_emulators,
        )
    except Exception as err:  # a comparison bug must not cost the run its reports: it says so instead
        comparison = {"run_id": baseline.document.get("run_id"), "passed": None, "rows": []}
        comparison["error"] = f"the comparison failed: {type(err).__name__}: {err}"
    comparison["path"] = str(baseline.path)
    by_serial = {d.serial: d for d in devices}
    for row in comparison["rows"]:
        if not row["gate"] or row["passed"] is None:
            continue
        gate = Gate(row["gate"], bool(row["passed"]), row["value"], row["threshold"], f"vs baseline: {row['why']}")
        if row["where"] == HOST:
            targets = [m for m in run.models if m.model_id == row["model_id"]]
        else:
            device = by_serial.get(row.get("serial"))
            targets = [m for m in (device.models if device else []) if m.model_id == row["model_id"]]
            if device is not None and not gate.passed and device.status == "passed":
                device.status = "failed"
        for model in targets:
            model.gates.append(gate)
    run.baseline = comparison
    return comparison
