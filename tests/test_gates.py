"""harness.gates: gate records and threshold merging (pure logic, no models, no devices)."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.gates import GATE_PROFILES, QualityGates
from harness.models.registry import load_registry

REGISTRY = """
[gates.INT8]
min_mean_cosine = 0.99
min_p5_cosine = 0.97
min_spearman_retention = 0.98

[[model]]
id = "AVA-TEST"
original = "tiny"
dimension = 8

[model.gates.INT8]
min_mean_cosine = 0.9
"""


def test_merge_replaces_only_the_keys_given():
    base = QualityGates(min_mean_cosine=0.99, min_p5_cosine=0.97, min_spearman_retention=0.98)
    merged = base.merged({"min_mean_cosine": 0.9}, "test")
    assert merged == QualityGates(min_mean_cosine=0.9, min_p5_cosine=0.97, min_spearman_retention=0.98)


def test_per_model_override_keeps_the_other_default_gates(tmp_path):
    path = tmp_path / "registry.toml"
    path.write_text(REGISTRY)
    gates = load_registry(path).get("AVA-TEST-INT8").gate
    assert gates.min_mean_cosine == 0.9
    assert gates.min_p5_cosine == 0.97 and gates.min_spearman_retention == 0.98


def test_unknown_gate_name_is_refused_with_where():
    with pytest.raises(InputError, match=r"registry.toml: model #1 gates.INT8: unknown gate\(s\) min_mean_cosinee"):
        QualityGates().merged({"min_mean_cosinee": 0.9}, "registry.toml: model #1 gates.INT8")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"min_parity_cosine": -5}, r"--min-parity-cosine = -5: must be in \(0, 1\]"),
        ({"min_parity_cosine": float("nan")}, "--min-parity-cosine = nan: must be a finite number"),
        ({"min_parity_cosine": 1.5}, r"must be in \(0, 1\]"),
        ({"max_latency_p50_ms": float("inf")}, "--latency-budget-ms = inf: must be a finite number"),
        ({"max_latency_p50_ms": 0}, r"--latency-budget-ms = 0: must be in \(0,"),
        ({"cross_arch_int8": "lenient"}, "cross_arch_int8 'lenient': use report or strict"),
    ],
)
def test_device_gates_refuse_values_that_would_disable_or_break_them(overrides, message):
    from harness.gates import ParityGates

    with pytest.raises(InputError, match=message):
        ParityGates(**overrides)


@pytest.mark.parametrize(
    ("value", "message"),
    [(-0.1, r"must be in \[0, 1\]"), (float("nan"), "finite"), ("0.9", "is not a number"), (True, "is not a number")],
)
def test_registry_gate_values_are_checked(value, message):
    with pytest.raises(InputError, match=message):
        QualityGates().merged({"min_mean_cosine": value}, "registry.toml")


def test_the_mixed_index_profile_gates_the_worst_text_on_the_host():
    from harness.evaluation.evaluate import EvalReport, gate_results

    report = EvalReport(
        "M-INT8",
        "M",
        "INT8",
        "m.onnx",
        "0" * 64,
        1,
        4,
        cosine_vs_baseline={"mean": 0.9995, "p5": 0.9990, "min": 0.9970},
        sts={"retention": 1.0},
    )
    mixed = GATE_PROFILES["mixed-index"].quality
    (worst,) = [g for g in gate_results(report, mixed) if g.name == "min_cosine"]
    assert not worst.passed and worst.value == 0.9970 and worst.threshold == 0.998
    assert all(g.name != "min_cosine" for g in gate_results(report, GATE_PROFILES["same-index"].quality))
    with pytest.raises(InputError, match="min_worst_cosine"):
        QualityGates(min_worst_cosine=1.5)
