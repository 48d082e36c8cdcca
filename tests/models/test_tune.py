"""The recipe search on the tiny encoder (seconds): greedy exclusion finds the passing variant
and writes it with its recipe; a second search measures nothing again; a target no recipe
meets names the best explored candidate; the ARM64 re-measure decides, and under real qemu it
rejects a deliberately wrong recipe while accepting a good one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness.errors import GateFailure, InputError
from harness.gates import GateProfile, QualityGates
from harness.models.recipes import DEFAULT_DYNAMIC, WEIGHT_ONLY_INT8, apply_recipe
from harness.models.store import tuned_record
from harness.tuning.sensitivity import arm64_figures
from harness.tuning.tune import Search, Target, pareto_rows, parse_target, tune
from tests.models.test_sensitivity import BAD_NODE, tiny_evalset, tiny_spec, write_tiny_encoder

# The tiny encoder's STS Spearman is noise (random weights), so these profiles gate cosines only.
# Chapter 28A's semantic tests need a trained model: off for these profiles.
LOOSE = GateProfile("loose-test", "cosines a tiny model meets", QualityGates(min_mean_cosine=0.9), chapter_tests=False)
STRICT = GateProfile("strict-test", "cosines 8-bit misses", QualityGates(min_mean_cosine=0.99999), chapter_tests=False)


@pytest.fixture
def outlier_encoder(tmp_path: Path) -> Path:
    if not tiny_spec().tokenizer_path.is_file():
        pytest.skip("MiniLM tokenizer not built (make models)")
    return write_tiny_encoder(tmp_path / "tiny" / "tiny-test.onnx")


def run_tune(model: Path, tmp_path: Path, **overrides):
    options = dict(
        target=Target.SMALLEST,
        profile=LOOSE,
        screen=tiny_evalset(20),
        full=tiny_evalset(30),
        output_dir=tmp_path / "out",
        recipes=[DEFAULT_DYNAMIC],
        cache_dir=tmp_path / "cache",
    )
    return tune(tiny_spec(), model, **{**options, **overrides})


def test_greedy_exclusion_finds_a_passing_variant_smaller_than_fp16_and_records_it(outlier_encoder, tmp_path):
    result = run_tune(outlier_encoder, tmp_path)
    chosen = result.chosen
    assert chosen is not None and chosen.passed
    assert chosen.recipe.nodes_to_exclude == (BAD_NODE,)  # the most sensitive node, kept in FP32
    default = next(c for c in result.candidates if c.recipe == DEFAULT_DYNAMIC)
    assert not default.passed and "mean_cosine" in default.failed()
    assert result.path == tmp_path / "out" / "TINY-TEST-INT8.onnx"
    assert result.path.stat().st_size < 0.5 * outlier_encoder.stat().st_size  # smaller than FP16 would be
    record = tuned_record(result.path)
    assert record is not None and record["recipe"]["nodes_to_exclude"] == [BAD_NODE]
    assert record["gate_profile"] == "loose-test" and record["figures"]["mean_cosine"] >= 0.95
    assert any(o["op_type"] == "MatMulInteger" for o in record["required_ops"])
    rows = pareto_rows(result.candidates)
    assert [r["size_ratio"] for r in rows] == sorted(r["size_ratio"] for r in rows)
    assert any(r["pareto"] for r in rows)


def test_a_second_search_measures_nothing_again(outlier_encoder, tmp_path, monkeypatch):
    first = run_tune(outlier_encoder, tmp_path)
    import harness.tuning.sensitivity as sensitivity_module
    import harness.tuning.tune as tune_module

    def refuse(*_args, **_kwargs):
        raise AssertionError("a cached candidate was measured again")

    monkeypatch.setattr(tune_module, "measure", refuse)
    monkeypatch.setattr(sensitivity_module, "quick_figures", refuse)
    second = run_tune(outlier_encoder, tmp_path)
    assert second.chosen is not None and second.chosen.recipe == first.chosen.recipe
    assert second.chosen.figures == first.chosen.figures


def test_a_target_no_recipe_meets_names_the_best_explored_candidate(outlier_encoder, tmp_path):
    per_tensor = replace(DEFAULT_DYNAMIC, name="per-tensor", per_channel=False)
    with pytest.raises(GateFailure, match=r"no recipe meets --target smallest .* best explored: ") as caught:
        run_tune(outlier_encoder, tmp_path, profile=STRICT, recipes=[per_tensor, WEIGHT_ONLY_INT8])
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 1
    explored = {c.recipe.name for c in caught.value.result.candidates}  # type: ignore[attr-defined]
    assert {"per-tensor", WEIGHT_ONLY_INT8.name} <= explored
    assert f"{WEIGHT_ONLY_INT8.name}-f32c1" in explored  # weight-only INT8 got its FP32-compute try
    assert not (tmp_path / "out").exists()


def test_size_limit_and_bad_options(outlier_encoder, tmp_path):
    with pytest.raises(GateFailure, match="no candidate could be measured"):
        run_tune(outlier_encoder, tmp_path, max_size_ratio=0.01)
    with pytest.raises(InputError, match="--max-size-ratio"):
        run_tune(outlier_encoder, tmp_path, max_size_ratio=1.5)
    with pytest.raises(InputError, match="--target int2"):
        parse_target("int2")


class WrongOnArm64:
    """Stands in for the aarch64 runtime: returns the file's host outputs with one dimension
    overwritten, as a kernel that mis-computes on ARM64 would; the host figures stay good."""

    cpu = "fake"
    onnxruntime_version = "test"

    def cache_identity(self) -> dict[str, str]:
        return {"onnxruntime": "test", "abi": "none", "cpu": "fake"}

    def run_embeddings(self, model_path, feeds_batches, output_name, *, threads=1):
        import onnxruntime as ort

        session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
        outputs = []
        for feeds in feeds_batches:
            out = session.run([output_name], dict(feeds))[0].copy()
            out[..., 0] += 10.0 * np.abs(out).max()
            outputs.append(out)
        return outputs


def test_the_arm64_figures_decide_even_when_the_host_ones_pass(tmp_path):
    if not tiny_spec().tokenizer_path.is_file():
        pytest.skip("MiniLM tokenizer not built (make models)")
    model = write_tiny_encoder(tmp_path / "plain.onnx", outlier=False)
    with pytest.raises(GateFailure, match="arm64_mean_cosine"):
        run_tune(model, tmp_path, recipes=[WEIGHT_ONLY_INT8], arm64_runtime=WrongOnArm64())
    search = Search(
        tiny_spec(),
        model,
        LOOSE,
        screen=tiny_evalset(20),
        full=tiny_evalset(30),
        max_size_ratio=1.0,
        cache_dir=tmp_path / "cache",
    )
    assert search.confirm(search.evaluate(WEIGHT_ONLY_INT8))  # the same recipe passes on the host


@pytest.mark.arm64
def test_arm64_re_measure_rejects_a_deliberately_wrong_recipe_and_accepts_a_good_one(tmp_path):
    """Real aarch64 ORT under qemu. The wrong recipe: per-tensor dynamic INT8 on the encoder
    whose outlier row wrecks per-tensor steps; the good one: weight-only INT8 without it."""
    from harness.reference.arm64 import Arm64Runtime

    runtime = Arm64Runtime.locate()
    if runtime is None or not tiny_spec().tokenizer_path.is_file():
        pytest.skip("arm64 runtime or tokenizer not set up")
    spec, pairs = tiny_spec(), tiny_evalset(8).sts_pairs
    wrong_model = write_tiny_encoder(tmp_path / "wrong" / "tiny.onnx")
    good_model = write_tiny_encoder(tmp_path / "good" / "tiny.onnx", outlier=False)
    wrong = tmp_path / "wrong.onnx"
    good = tmp_path / "good.onnx"
    apply_recipe(wrong_model, wrong, replace(DEFAULT_DYNAMIC, per_channel=False), spec=spec)
    apply_recipe(good_model, good, WEIGHT_ONLY_INT8, spec=spec)
    bad_figures = arm64_figures(spec, wrong, wrong_model, pairs, runtime, tmp_path / "cache")
    good_figures = arm64_figures(spec, good, good_model, pairs, runtime, tmp_path / "cache")
    print(f"\nARM64 wrong recipe: {bad_figures}\nARM64 good recipe: {good_figures}")
    assert good_figures["min_cosine"] > 0.999
    assert bad_figures["mean_cosine"] < 0.95  # the gates (LOOSE: 0.95) reject it on ARM64


def test_gate_profiles_replace_a_variants_host_gates_and_int4_defaults_to_ranking_gates(registry):
    from harness.gates import GATE_PROFILES

    int8 = registry.get("AVA-ONX-384-BASE-INT8")
    assert int8.with_gate_profile(None) is int8
    assert int8.with_gate_profile("same-index").gate == GATE_PROFILES["same-index"].quality != int8.gate
    assert int8.with_gate_profile("same-index").gate.min_mean_cosine == 0.0  # cosine reported, not gated
    int4 = registry.get("AVA-ONX-384-BASE-INT4")
    assert int4.variant == "INT4" and int4.gate == GATE_PROFILES["same-index"].quality
    assert (
        GATE_PROFILES["mixed-index"].quality.min_mean_cosine > 0
        and GATE_PROFILES["mixed-index"].quality.min_worst_cosine > 0
    )


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["tune", "AVA-ONX-384-BASE-INT8"], ["AVA-ONX-384-BASE-INT8", "FP32 model ID"]),
        (["tune", "AVA-ONX-384-BASE", "--target", "int2"], ["--target"]),
        (["tune", "AVA-ONX-384-BASE", "--gate-profile", "loose"], ["--gate-profile loose"]),
        (["tune", "AVA-ONX-384-BASE", "--max-size-ratio", "2", "--no-arm64"], ["--max-size-ratio 2"]),
        (["sensitivity", "AVA-ONX-384-BASE", "--recipe", "fp8"], ["--recipe fp8"]),
        (["sensitivity", "AVA-ONX-999-NOPE"], ["AVA-ONX-999-NOPE"]),
    ],
)
def test_command_line_mistakes_are_one_line_exit_2(args, needles):
    from tests.helpers import assert_user_error, run_cli

    result = run_cli(*args, timeout=120)
    assert_user_error(result, *needles)
    assert result.returncode == 2


def test_an_interrupted_search_resumes_where_it_stopped(tmp_path, monkeypatch):
    if not tiny_spec().tokenizer_path.is_file():
        pytest.skip("MiniLM tokenizer not built (make models)")
    import harness.tuning.tune as tune_module

    model = write_tiny_encoder(tmp_path / "plain.onnx", outlier=False)
    per_tensor = replace(DEFAULT_DYNAMIC, name="per-tensor", per_channel=False)
    real, measured = tune_module.measure, []

    def interrupted(spec, path, base_path, evalset):
        if measured:
            raise KeyboardInterrupt  # Ctrl-C during the second candidate
        measured.append(Path(path).stem)
        return real(spec, path, base_path, evalset)

    monkeypatch.setattr(tune_module, "measure", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_tune(model, tmp_path, recipes=[WEIGHT_ONLY_INT8, per_tensor])
    assert measured == [WEIGHT_ONLY_INT8.key()]

    again: list[str] = []

    def counting(spec, path, base_path, evalset):
        again.append(Path(path).stem)
        return real(spec, path, base_path, evalset)

    monkeypatch.setattr(tune_module, "measure", counting)
    result = run_tune(model, tmp_path, recipes=[WEIGHT_ONLY_INT8, per_tensor])
    assert result.chosen is not None
    assert again[0] == per_tensor.key()  # the first candidate's screen came from the cache
    assert again.count(WEIGHT_ONLY_INT8.key()) <= 1  # at most its full-set confirmation


def test_a_latency_limit_rejects_a_variant_slower_than_allowed(tmp_path):
    if not tiny_spec().tokenizer_path.is_file():
        pytest.skip("MiniLM tokenizer not built (make models)")
    from harness.gates import TUNE_MAX_LATENCY_RATIO
    from harness.tuning.sensitivity import EvalSet

    model = write_tiny_encoder(tmp_path / "plain.onnx", outlier=False)
    timed = EvalSet(tiny_evalset(30).sts_pairs, (), latency_texts=4)
    with pytest.raises(GateFailure, match="latency_ratio"):
        run_tune(model, tmp_path, recipes=[WEIGHT_ONLY_INT8], full=timed, max_latency_ratio=1e-6)
    assert run_tune(model, tmp_path, recipes=[WEIGHT_ONLY_INT8], full=timed, max_latency_ratio=None).chosen
    assert TUNE_MAX_LATENCY_RATIO["int8"] == 1.0  # an INT8-class file must not be slower than FP32
