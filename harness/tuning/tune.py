"""Recipe search: the smallest model that passes every gate of a profile (`ava-harness tune`).

Accuracy-aware tuning in the way Neural Compressor does it, driven by our gates: each candidate
recipe is quantized and screened on the STS-B sentences (cosine to FP32, Spearman retention);
those within the size limit that pass the screen are measured on the full set (retrieval, host
latency) smallest first, re-measured under the aarch64 ONNX Runtime when it is set up, and the
first that passes everything is written as a registry variant with its recipe in `.quant.json`.
Dynamic INT8 that fails gets its most sensitive nodes kept in FP32 (greedy, by `sensitivity`);
INT4 that fails gets its most sensitive MatMuls kept at 8 bits (mixed INT4/INT8).
Every candidate's figures are cached (model sha256 + recipe + evaluation set): a second or an
interrupted search re-measures nothing it has measured.
"""

from __future__ import annotations

import enum
import hashlib
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from harness.errors import GateFailure, InputError
from harness.fileio import sha256_file, write_json_atomic
from harness.gates import ARM64_RETENTION_SLACK, GATE_PROFILES, TUNE_MAX_LATENCY_RATIO, Gate, GateProfile
from harness.models.recipes import (
    DEFAULT_DYNAMIC,
    WEIGHT_ONLY_INT4,
    WEIGHT_ONLY_INT8,
    Calibration,
    Embeddings,
    Method,
    Recipe,
    apply_recipe,
)
from harness.models.registry import ModelSpec
from harness.settings import CACHE_DIR
from harness.tuning.sensitivity import SENSITIVITY_DIR, EvalSet, arm64_figures, measure, profile_gates, sensitivity

Progress = Callable[[str], None]
TUNE_DIR = CACHE_DIR / "tune"
GREEDY_STEPS = (1, 2, 4, 6, 8)  # nodes kept in FP32 (dynamic) or at 8 bits (INT4), in turn
GREEDY_NODE_LIMIT = 40  # more quantizable nodes than this: sensitivity by layer, not by node
# Sensitivity ranks nodes on the first 200 STS-B pairs (~390 sentences; `ava-harness sensitivity`'s
# default, so its cache serves both): the order of the worst nodes is stable well below the full set.
SENSITIVITY_PAIRS = 200
COMPUTE_STARTS, COMPUTE_STEPS = 3, (1, 3, 6)  # weight-only INT8: FP32-compute tries, bounded
FINE_STEPS = (1, 3, 6)  # weight-only INT8: the most sensitive MatMuls in finer blocks (full speed)
# The ARM64 re-measure runs this many STS-B pairs (their sentences, ~2 per pair) under qemu:
# emulated aarch64 ORT runs MiniLM-L6 at ~10 sentences/s on one core, so 64 pairs take well
# under a minute per candidate, while p5/min cosine over ~128 texts still catch a kernel that
# moves vectors (a systematic ARM64 difference shows on every text, not one in a thousand).
ARM64_PAIRS = 64


class Target(enum.StrEnum):
    INT8 = "int8"
    INT4 = "int4"
    SMALLEST = "smallest"


# The size (vs FP32) a target may reach: INT8-class ~26-35%, INT4-class ~16-25%, anything under FP16.
DEFAULT_MAX_SIZE_RATIO = {Target.INT8: 0.35, Target.INT4: 0.25, Target.SMALLEST: 0.5}


@dataclass
class Candidate:
    recipe: Recipe
    size_ratio: float = float("nan")
    figures: dict = field(default_factory=dict)  # screen figures, replaced by the full ones
    stage: str = "screen"  # screen | full | arm64
    gates: list[Gate] = field(default_factory=list)
    arm64: dict | None = None
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and bool(self.gates) and all(g.passed for g in self.gates)

    def failed(self) -> list[str]:
        return [g.name for g in self.gates if not g.passed] or ([self.error] if self.error else [])


@dataclass
class TuneResult:
    model_id: str
    profile: str
    target: str
    max_size_ratio: float
    candidates: list[Candidate]
    chosen: Candidate | None = None
    path: Path | None = None
    record: dict = field(default_factory=dict)


def parse_target(value: object) -> Target:
    try:
        return Target(str(getattr(value, "value", value)).lower())
    except ValueError:
        raise InputError(f"--target {value!s}: use int8, int4 or smallest") from None


def candidate_recipes(target: Target) -> list[Recipe]:
    """The fixed part of the space for a target (greedy and mixed steps are added as needed)."""
    int8 = [
        WEIGHT_ONLY_INT8,
        replace(WEIGHT_ONLY_INT8, name="w8-b32-a4-emb8b128", embedding_block_size=128),
        replace(WEIGHT_ONLY_INT8, name="w8-b32-a4-emb8b256", embedding_block_size=256),
        replace(WEIGHT_ONLY_INT8, name="w8-b64-a4-emb8b128", block_size=64, embedding_block_size=128),
        replace(WEIGHT_ONLY_INT8, name="w8-b128-a4-emb8b256", block_size=128, embedding_block_size=256),
        DEFAULT_DYNAMIC,
        replace(DEFAULT_DYNAMIC, name="dynamic-int8-per-tensor", per_channel=False),
        *(Recipe(f"static-qdq-{c}", Method.STATIC, calibration=c, op_types=("MatMul", "Gather")) for c in Calibration),
    ]
    int4 = [
        WEIGHT_ONLY_INT4,
        replace(WEIGHT_ONLY_INT4, name="w4-b32-a4-emb8", embeddings=Embeddings.INT8),
        replace(WEIGHT_ONLY_INT4, name="w4-b64-a4-emb4", block_size=64),
        replace(WEIGHT_ONLY_INT4, name="w4-b128-a4-emb4", block_size=128, embedding_block_size=128),
        replace(WEIGHT_ONLY_INT4, name="w4-b32-a0-emb4", accuracy_level=0),
    ]
    return {Target.INT8: int8, Target.INT4: int4, Target.SMALLEST: int4 + int8}[target]


class Search:
    """One tuning run: evaluates recipes (cached), keeps every candidate for the Pareto table."""

    def __init__(
        self,
        spec: ModelSpec,
        base_path: Path,
        profile: GateProfile,
        *,
        screen: EvalSet,
        full: EvalSet,
        max_size_ratio: float,
        max_latency_ratio: float | None = None,
        cache_dir: Path = TUNE_DIR,
        arm64_runtime: object | None = None,
        progress: Progress = lambda _m: None,
    ) -> None:
        self.spec, self.base_path, self.profile = spec, Path(base_path), profile
        self.screen, self.full, self.max_size_ratio = screen, full, max_size_ratio
        self.max_latency_ratio = max_latency_ratio
        self.cache_dir, self.arm64_runtime, self.progress = Path(cache_dir), arm64_runtime, progress
        self.base_sha = sha256_file(self.base_path)
        self.base_size = self.base_path.stat().st_size
        self.candidates: dict[str, Candidate] = {}
        self.calibration = screen.sentences()[::8]  # static QDQ calibrates on a spread of the texts
        self.work = Path(tempfile.mkdtemp(prefix="ava-tune-"))

    # --- measurement, cached per (model, recipe, evaluation set) ---------------------------------
    def _cached(self, recipe: Recipe, evalset: EvalSet, stage: str, make: Callable[[], dict]) -> dict:
        key = hashlib.sha256(f"{self.base_sha}|{recipe.key()}|{evalset.key()}|{stage}".encode()).hexdigest()[:24]
        path = self.cache_dir / f"{self.spec.base_id}-{key}.json"
        if path.is_file():
            try:
                return json.loads(path.read_text())["figures"]
            except (OSError, ValueError, KeyError):
                pass
        figures = make()
        write_json_atomic(path, {"recipe": recipe.describe(), "stage": stage, "figures": figures})
        return figures

    def file_for(self, recipe: Recipe) -> Path:
        path = self.work / f"{recipe.key()}.onnx"
        if not path.is_file():
            apply_recipe(self.base_path, path, recipe, spec=self.spec, calibration_texts=self.calibration)
        return path

    def evaluate(self, recipe: Recipe) -> Candidate:
        """Screen `recipe` (size, then STS figures when within the size limit)."""
        if recipe.key() in self.candidates:
            return self.candidates[recipe.key()]
        candidate = Candidate(recipe)
        self.candidates[recipe.key()] = candidate
        self.progress(f"candidate {len(self.candidates)}: {recipe.name}")

        def screen() -> dict:
            path = self.file_for(recipe)
            size = path.stat().st_size / self.base_size
            if size > self.max_size_ratio:
                return {"size_ratio": size, "skipped": "over the size limit"}
            return measure(self.spec, path, self.base_path, self.screen)

        try:
            candidate.figures = self._cached(recipe, self.screen, "screen", screen)
        except InputError as err:  # this ORT cannot make or run it: kept in the table with the reason
            candidate.error = str(err).splitlines()[0][:160]
            return candidate
        candidate.size_ratio = float(candidate.figures["size_ratio"])
        if "skipped" in candidate.figures:
            candidate.error = f"{candidate.size_ratio:.1%} of FP32 > --max-size-ratio {self.max_size_ratio:.0%}"
        else:
            candidate.gates = profile_gates(candidate.figures, self.profile)
        return candidate

    def confirm(self, candidate: Candidate) -> bool:
        """The full evaluation (and the ARM64 re-measure) of a screened candidate."""
        recipe = candidate.recipe
        candidate.figures = self._cached(
            recipe, self.full, "full", lambda: measure(self.spec, self.file_for(recipe), self.base_path, self.full)
        )
        candidate.stage = "full"
        candidate.gates = profile_gates(candidate.figures, self.profile)
        latency = candidate.figures.get("latency_ratio")
        if self.max_latency_ratio is not None and latency is not None:
            limit = self.max_latency_ratio
            candidate.gates.append(Gate("latency_ratio", float(latency) <= limit, float(latency), limit))
        if not candidate.passed or self.arm64_runtime is None:
            return candidate.passed
        candidate.stage = "arm64"
        pairs = self.full.sts_pairs[:ARM64_PAIRS]
        candidate.arm64 = self._cached(
            recipe,
            EvalSet(pairs),
            f"arm64v2-{getattr(self.arm64_runtime, 'cpu', '')}",
            lambda: arm64_figures(
                self.spec, self.file_for(recipe), self.base_path, pairs, self.arm64_runtime, self.cache_dir / "arm64"
            ),
        )
        # Cosines to FP32 are held to the profile's thresholds as they are; a retention on 64 pairs
        # is noisy, so it is held to the host's retention of the same file on the same pairs.
        arm = candidate.arm64
        floor = arm["host_spearman_retention"] - ARM64_RETENTION_SLACK
        if self.profile.quality.min_spearman_retention:
            floor = min(floor, self.profile.quality.min_spearman_retention)
        for gate in profile_gates(
            arm, replace(self.profile, quality=replace(self.profile.quality, min_spearman_retention=floor))
        ):
            if gate.name != "chapter_tests":
                candidate.gates.append(replace(gate, name=f"arm64_{gate.name}"))
        return candidate.passed

    # --- the search ------------------------------------------------------------------------------
    def greedy(self, recipe: Recipe, *, mode: str, steps: Sequence[int] = GREEDY_STEPS) -> None:
        """Treat the most sensitive nodes apart in `recipe`, more each step, until a candidate
        passes the screen or outgrows the smallest passing one. `mode`: "fp32" keeps them in FP32
        (dynamic), "8bit" at 8 bits (INT4), "fine" quantizes them (and so, at accuracy level 4,
        their activations) in finer blocks, "compute" computes them in FP32 (weight-only INT8)."""
        import onnx

        from harness.models.recipes import quantizable_nodes

        self.progress(f"sensitivity of {self.spec.base_id} to {DEFAULT_DYNAMIC.name} (cached after the first run)")
        # A private tune cache (a test's, a cold benchmark's) gets a private sensitivity cache too.
        where = SENSITIVITY_DIR if self.cache_dir == TUNE_DIR else self.cache_dir / "sensitivity"
        model = onnx.load(str(self.base_path), load_external_data=False)
        matmuls = {str(n["name"]) for n in quantizable_nodes(model) if n["op_type"] == "MatMul"}
        # A large model is ranked by layer (bounded cost: one quantization per layer, not per node).
        group = "layer" if len(matmuls) > GREEDY_NODE_LIMIT else "node"
        subset = EvalSet(self.screen.sts_pairs[:SENSITIVITY_PAIRS])
        ranked = sensitivity(
            self.spec,
            self.base_path,
            DEFAULT_DYNAMIC,
            subset,
            group=group,
            cache_dir=where,
            progress=self.progress,
        )
        order = [n for row in ranked if "drop" in row for n in row["nodes"] if n in matmuls]
        for count in steps:
            if count > len(order):
                break
            nodes = tuple(order[:count])
            if mode == "8bit":
                step = replace(recipe, name=f"{recipe.name}-8bit{count}", int8_nodes=nodes)
            elif mode == "fine":
                step = replace(recipe, name=f"{recipe.name}-fb{count}", fine_nodes=nodes)
            elif mode == "compute":
                step = replace(recipe, name=f"{recipe.name}-f32c{count}", fp32_compute_nodes=nodes)
            else:
                step = replace(recipe, name=f"{recipe.name}-fp32x{count}", nodes_to_exclude=nodes)
            candidate = self.evaluate(step)
            if candidate.passed or candidate.error or candidate.size_ratio >= self.smallest_pass(mode == "compute"):
                break

    def run(self, recipes: Sequence[Recipe]) -> Candidate | None:
        for recipe in recipes:
            self.evaluate(recipe)
        for start, mode in ((DEFAULT_DYNAMIC, "fp32"), (WEIGHT_ONLY_INT4, "8bit")):
            found = self.candidates.get(start.key())
            # Keeping nodes out only grows a file: worth it only below the smallest passing one.
            if found is not None and not found.passed and not found.error and found.size_ratio < self.smallest_pass():
                self.greedy(start, mode=mode)
        # Weight-only INT8 misses mostly by its int8 activations (accuracy level 4, quantized per
        # block of K): finer blocks on the most sensitive MatMuls cost a few scales and no speed;
        # computing them in FP32 costs no size but speed. The smallest failing ones get both tries.
        failing = [
            c
            for c in self.candidates.values()
            if c.recipe.method is Method.WEIGHT_ONLY and c.recipe.bits == 8 and not c.recipe.fp32_compute_nodes
            and not c.recipe.fine_nodes and c.gates and not c.passed and c.size_ratio < self.smallest_pass(True)
        ]  # fmt: skip
        for found in sorted(failing, key=lambda c: c.size_ratio)[:COMPUTE_STARTS]:
            if found.size_ratio < self.smallest_pass():
                self.greedy(found.recipe, mode="fine", steps=FINE_STEPS)
        for found in sorted(failing, key=lambda c: c.size_ratio)[:COMPUTE_STARTS]:
            if found.size_ratio < self.smallest_pass(True):
                self.greedy(found.recipe, mode="compute", steps=COMPUTE_STEPS)
        for candidate in sorted(self.passing(), key=lambda c: c.size_ratio):
            self.progress(f"confirming {candidate.recipe.name} ({candidate.size_ratio:.1%} of FP32) on the full set")
            if self.confirm(candidate):
                return candidate
        return None

    def smallest_pass(self, fast_only: bool = False) -> float:
        """The smallest screened pass; `fast_only`: not counting FP32-compute recipes, which may
        still fail the full set's latency limit."""
        sizes = [c.size_ratio for c in self.passing() if not (fast_only and c.recipe.fp32_compute_nodes)]
        return min(sizes, default=self.max_size_ratio)

    def passing(self) -> list[Candidate]:
        return [c for c in self.candidates.values() if c.passed]

    def best_failed(self) -> Candidate | None:
        """The explored candidate closest to passing: fewest failed gates, then highest mean cosine."""
        measured = [c for c in self.candidates.values() if c.gates]
        return min(
            measured,
            key=lambda c: (len(c.failed()), -float(c.figures.get("mean_cosine", 0.0)), c.size_ratio),
            default=None,
        )


def variant_id(base_id: str, recipe: Recipe) -> str:
    return f"{base_id}-INT4" if recipe.method is Method.WEIGHT_ONLY and recipe.bits == 4 else f"{base_id}-INT8"


def tune(
    spec: ModelSpec,
    base_path: Path,
    *,
    target: Target = Target.INT8,
    profile: str | GateProfile = "mixed-index",
    max_size_ratio: float | None = None,
    max_latency_ratio: float | None = -1.0,
    screen: EvalSet | None = None,
    full: EvalSet | None = None,
    output_dir: Path | None = None,
    recipes: Sequence[Recipe] | None = None,
    cache_dir: Path = TUNE_DIR,
    arm64_runtime: object | None = None,
    progress: Progress = lambda _m: None,
) -> TuneResult:
    """Search, write the winner as `<ID>-INT8.onnx`/`<ID>-INT4.onnx` in `output_dir` (default:
    the store's quantized folder) with its `.quant.json`, and return every explored candidate.
    No candidate passing is a GateFailure naming the best explored one (exit 1)."""
    from harness.models.store import write_tuned_record

    target = parse_target(target)
    limit = DEFAULT_MAX_SIZE_RATIO[target] if max_size_ratio is None else max_size_ratio
    if not 0.0 < limit <= 1.0:
        raise InputError(f"--max-size-ratio {limit}: must be in (0, 1]")
    chosen_profile = GATE_PROFILES[profile] if isinstance(profile, str) else profile
    profile = chosen_profile.name
    screen = screen or EvalSet.default(retrieval=False, latency_texts=0)
    full = full or EvalSet.default()
    search = Search(
        spec,
        base_path,
        chosen_profile,
        screen=screen,
        full=full,
        max_size_ratio=limit,
        max_latency_ratio=TUNE_MAX_LATENCY_RATIO.get(target.value) if max_latency_ratio == -1.0 else max_latency_ratio,
        cache_dir=cache_dir,
        arm64_runtime=arm64_runtime,
        progress=progress,
    )
    try:
        winner = search.run(list(recipes) if recipes is not None else candidate_recipes(target))
        result = TuneResult(spec.base_id, profile, target.value, limit, list(search.candidates.values()), winner)
        if winner is None:
            best = search.best_failed()
            detail = (
                f"best explored: {best.recipe.name} ({best.size_ratio:.1%} of FP32, "
                f"mean cosine {best.figures.get('mean_cosine', float('nan')):.4f}; failed {', '.join(best.failed())})"
                if best
                else "no candidate could be measured"
            )
            failure = GateFailure(
                f"{spec.base_id}: no recipe meets --target {target.value} with the {profile} gates "
                f"within {limit:.0%} of FP32; {detail}"
            )
            failure.result = result  # type: ignore[attr-defined]  # the CLI prints the table explored
            raise failure
        variant = replace(spec, id=variant_id(spec.base_id, winner.recipe))
        folder = Path(output_dir) if output_dir else variant.quantized_path.parent
        result.path = folder / f"{variant.id}.onnx"
        made = apply_recipe(base_path, result.path, winner.recipe, spec=spec, calibration_texts=search.calibration)
        extra = {
            "gate_profile": profile,
            "target": target.value,
            "figures": winner.figures,
            "arm64_figures": winner.arm64,
            "evaluation_set": full.key(),
        }
        result.record = write_tuned_record(variant, result.path, base_path, made, extra)
        return result
    finally:
        import shutil

        shutil.rmtree(search.work, ignore_errors=True)


def pareto_rows(candidates: Sequence[Candidate]) -> list[dict]:
    """Every explored candidate, smallest first, with `pareto` marking those no other candidate
    beats on both size and mean cosine."""
    rows = []
    for c in sorted(candidates, key=lambda c: (np.nan_to_num(c.size_ratio, nan=9.0), c.recipe.name)):
        f = c.figures
        retrieval = next((v for k, v in f.items() if k.endswith("_top1_retention")), None)
        rows.append(
            {
                "recipe": c.recipe.name,
                "size_ratio": c.size_ratio,
                "mean_cosine": f.get("mean_cosine"),
                "p5_cosine": f.get("p5_cosine"),
                "min_cosine": f.get("min_cosine"),
                "spearman_retention": f.get("spearman_retention"),
                "top1_retention": retrieval,
                "latency_ratio": f.get("latency_ratio"),
                "stage": c.stage,
                "passed": c.passed,
                "failed": c.failed(),
            }
        )
    for row in rows:
        mine = row["mean_cosine"]
        row["pareto"] = mine is not None and not any(
            o is not row
            and o["mean_cosine"] is not None
            and o["size_ratio"] <= row["size_ratio"]
            and o["mean_cosine"] > mine
            for o in rows
        )
    return rows
