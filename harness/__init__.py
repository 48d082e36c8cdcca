"""ava-harness: quantize, validate, deploy and sign off AVA on-device embedding models."""

__version__ = "0.1.0"
