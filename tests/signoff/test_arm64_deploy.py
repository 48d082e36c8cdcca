"""deploy-test on an arm64-v8a virtual device: its instrumentation runs aarch64 ONNX Runtime
under qemu-user, so its INT8 output carries ARM kernel numerics. The harness picks the ARM64
reference from the device's ABI, passes strictly against it, reports the x86 divergence, and a
deliberately wrong reference (x86 INT8 held strictly) is caught as a mismatch."""

from __future__ import annotations

import pytest

from harness.android.contract import RunSettings
from harness.gates import ParityGates
from harness.reference import arm64
from harness.signoff.options import DeployOptions
from harness.signoff.pipeline import deploy_test

pytestmark = pytest.mark.arm64  # every test here runs aarch64 ONNX Runtime under qemu
MODEL = "AVA-ONX-384-BASE-INT8"


@pytest.fixture
def arm64_device(virtual_devices):
    if not arm64.available():
        pytest.skip(arm64.NOT_SET_UP)
    from harness.android.virtual import ava_arm64_device_config

    return virtual_devices(1, config=ava_arm64_device_config())[0]


def _options(deploy_options, **overrides) -> DeployOptions:
    return deploy_options(
        MODEL,
        settings=RunSettings(mode="model_parity", iterations=3, warmup=1, threads=1),
        instrument_timeout=900,
        idle_timeout=300,
        **overrides,
    )


def test_arm64_device_int8_against_the_arm64_reference_and_a_wrong_reference(arm64_device, deploy_options):
    (record,) = deploy_test([arm64_device.serial], _options(deploy_options)).devices
    assert record.props["ro.product.cpu.abi"] == "arm64-v8a"
    assert record.status == "passed", (record.error, [g for m in record.models for g in m.gates if not g.passed])
    (model,) = record.models
    assert model.reference == "arm64-v8a ONNX Runtime (qemu-user)"
    assert model.parity["min_cosine"] > 0.99999  # same kernels: the device matches its reference
    # the x86 divergence is reported, not failed: ARM and x86 INT8 kernels really differ here
    assert model.parity["x86_min_cosine"] < 0.999
    divergence = next(g for g in model.gates if g.name == "x86_divergence_min_cosine")
    assert divergence.passed and divergence.value == model.parity["x86_min_cosine"]

    wrong = _options(deploy_options, reference="host", parity=ParityGates(cross_arch_int8="strict"))
    (bad,) = deploy_test([arm64_device.serial], wrong).devices
    assert bad.status == "failed"
    parity = next(g for g in bad.models[0].gates if g.name == "parity_min_cosine")
    assert not parity.passed and parity.value < 0.999 and "x86_64 host" in parity.detail
