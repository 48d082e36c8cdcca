"""Which kernels a device's output is held against: this host's ONNX Runtime or aarch64 ONNX Runtime
under qemu-user, chosen by the device's ABI and the model's precision."""

from __future__ import annotations

import platform
from enum import StrEnum

from harness.errors import InputError


class Reference(StrEnum):
    """What the user asks the device's output to be held against."""

    AUTO = "auto"  # the device's ABI decides
    HOST = "host"  # this machine's ONNX Runtime
    ARM64 = "arm64"  # aarch64 ONNX Runtime under qemu-user

    @classmethod
    def parse(cls, value: str | Reference) -> Reference:
        try:
            return cls(value)
        except ValueError:
            names = [r.value for r in cls]
            raise InputError(f"--reference {value!r}: use {', '.join(names[:-1])} or {names[-1]}") from None


HOST_ABI = {"x86_64": "x86_64", "AMD64": "x86_64", "aarch64": "arm64-v8a", "arm64": "arm64-v8a"}.get(
    platform.machine(), platform.machine()
)


def choose_reference(
    abi: str, variant: str, requested: str | Reference, arm64_available: bool = True
) -> tuple[str, bool]:
    """(reference, strict) for a device ABI and model precision: the device's ABI picks the
    reference; INT8 is strict only against kernels of the device's own architecture. Without
    the arm64 runtime, an arm64 device's INT8 parity against this host is reported, not gated."""
    requested = Reference.parse(requested)
    same_arch = not abi or abi == HOST_ABI
    wants_arm64 = not same_arch and abi == "arm64-v8a" and variant == "INT8" and arm64_available
    if requested is Reference.ARM64 or (requested is Reference.AUTO and wants_arm64):
        return "arm64", True
    return "host", same_arch or variant != "INT8"
