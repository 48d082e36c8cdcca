"""Reference choice: which kernels a device's output is held against (pure logic)."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.reference.choice import HOST_ABI, choose_reference

ARM64 = "arm64-v8a"


@pytest.mark.parametrize(
    ("abi", "variant", "requested", "arm64_ready", "expected"),
    [
        # same architecture as this host: strict against the host, whatever the precision
        (HOST_ABI, "INT8", "auto", True, ("host", True)),
        (HOST_ABI, "FP32", "auto", True, ("host", True)),
        ("", "INT8", "auto", True, ("host", True)),  # unknown ABI: treated as the host's
        # arm64 phone, INT8: held against ARM64 kernels when they are available
        (ARM64, "INT8", "auto", True, ("arm64", True)),
        # ... and only reported against x86 kernels when they are not
        (ARM64, "INT8", "auto", False, ("host", False)),
        # FP32/FP16 agree across architectures: strict against the host
        (ARM64, "FP16", "auto", True, ("host", True)),
        (ARM64, "FP32", "auto", True, ("host", True)),
        # forced choices
        (ARM64, "INT8", "host", True, ("host", False)),
        (HOST_ABI, "INT8", "arm64", True, ("arm64", True)),
    ],
)
def test_choice_by_abi_and_precision(abi, variant, requested, arm64_ready, expected):
    if HOST_ABI == ARM64 and abi == ARM64:
        pytest.skip("this host is arm64: no cross-architecture case")
    assert choose_reference(abi, variant, requested, arm64_ready) == expected


def test_unknown_reference_is_refused():
    with pytest.raises(InputError, match="reference 'bogus': use auto, host or arm64"):
        choose_reference(HOST_ABI, "INT8", "bogus")
