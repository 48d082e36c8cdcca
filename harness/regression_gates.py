"""Release over release: the regression gates a run is held to against a baseline run, once.

Each gate compares a figure of this run with the same figure of the baseline (same model ID;
devices matched by their device model and ABI, never by serial). The defaults come from the
run-to-run noise measured by bench/bench_regression_noise.py (same model, 5 runs on the virtual
device; README "Release over release"): each threshold sits well outside that noise, so a pass
is not luck and a fail is not noise.

Like harness.gates, this module sits at the top of the package and imports nothing from the
pipeline; the comparison itself is harness.signoff.baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from harness.gates import _check_range

# Gate names. Formatting reads a gate's operator from its name (harness.reports.formatting.gate_bound):
# a name holding `_max_` or `latency` is a ceiling (<=), the rest are floors (>=).
EMBEDDING_COSINE = "baseline_min_embedding_cosine"
STS_RETENTION_DROP = "baseline_max_sts_retention_drop"
XQUAD_RETENTION_DROP = "baseline_max_xquad_retention_drop"
LATENCY_RATIO = "baseline_max_latency_p50_ratio"
SIZE_RATIO = "baseline_max_size_ratio"


@dataclass(frozen=True)
class RegressionGates:
    """Thresholds of the gates against a baseline run (`deploy-test --baseline RUN`)."""

    # Mean over the sign-off texts of cosine(this run's device vector, the baseline's device
    # vector on the same device model), gated when the model file changed (the app's stored
    # vectors must stay comparable). Same file, same kernels: 1.000000 in every measured run.
    min_embedding_cosine: float = 0.99
    # Host quality retention (variant / FP32) may drop by at most this much (0.005 = 0.5 points)
    # from the baseline's, measured on the same number of STS-B pairs / XQuAD questions. The
    # host evaluation is deterministic: a drop of 0 between runs of one file.
    max_sts_retention_drop: float = 0.005
    max_xquad_retention_drop: float = 0.01
    # p50 latency of this run / the baseline's, same physical device model, not emulated (an
    # emulator's speed says nothing about a phone's: shown there, not gated).
    max_latency_p50_ratio: float = 1.25
    # Model file size of this run / the baseline's.
    max_size_ratio: float = 1.05

    def __post_init__(self) -> None:
        _check_range("--baseline-min-cosine", self.min_embedding_cosine, 0.0, 1.0, low_open=True)
        _check_range("--baseline-max-sts-drop", self.max_sts_retention_drop, 0.0, 1.0)
        _check_range("--baseline-max-xquad-drop", self.max_xquad_retention_drop, 0.0, 1.0)
        _check_range("--baseline-max-latency-ratio", self.max_latency_p50_ratio, 1.0, 100.0)
        _check_range("--baseline-max-size-ratio", self.max_size_ratio, 1.0, 100.0)

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
