#!/usr/bin/env python3
"""Chapter 28A's quantization script, as the chapter calls it:

    python3 scripts/quantize-models.py <input.onnx> <output.onnx> [int8|fp16]

A thin wrapper over the ava-harness library: it runs `ava-harness quantize IN OUT --mode MODE`, so
the file it writes is the one the command line writes (the chapter's own script called
quantize_dynamic(QUInt8) for "fp16" and passed an argument ORT removed in 1.16; see README.md).
`scripts/quantize-all-models.sh` calls it with `--all DIR [MODE]` for the chapter's batch form.

Run by any Python 3: when the harness cannot be imported by the interpreter that runs this (the
system's python3, say), the project's .venv interpreter is used instead; without one, one error
line says how to install it. A usage mistake is one `error:` line and exit status 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
MODES = ("int8", "fp16")
USAGE = "usage: quantize-models.py <input.onnx> <output.onnx> [int8|fp16], or --all <dir> [int8|fp16]"
# Set when this script re-runs itself under the venv's interpreter, so it never loops.
_REEXEC = "AVA_QUANTIZE_SCRIPT_REEXEC"


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def parse(argv: list[str]) -> tuple[bool, list[str], str]:
    """(batch?, paths, mode) from the chapter's positional arguments; mode defaults to int8."""
    batch = bool(argv) and argv[0] == "--all"
    args = argv[1:] if batch else argv
    wanted = 1 if batch else 2
    if len(args) not in (wanted, wanted + 1) or any(a.startswith("-") and a != "-" for a in args):
        fail(f"expected {'a folder' if batch else 'an input and an output model'} and an optional mode; {USAGE}")
    mode = args[wanted].lower() if len(args) > wanted else "int8"
    if mode not in MODES:
        fail(f"mode {args[wanted]!r}: use int8 or fp16; {USAGE}")
    return batch, args[:wanted], mode


def ensure_harness() -> None:
    """Import the library, or run this script again with the project's venv, or say why not."""
    try:
        import onnxruntime  # noqa: F401

        import harness.cli.app  # noqa: F401
    except ImportError as err:
        same = Path(sys.prefix).resolve() == VENV_PYTHON.parent.parent.resolve()  # this is the venv already
        if VENV_PYTHON.exists() and not same and not os.environ.get(_REEXEC):
            os.environ[_REEXEC] = "1"
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])
        fail(
            f"the ava-harness library cannot be imported by {sys.executable} ({err.name or err}):"
            f" run `make install` in {ROOT}, then use {VENV_PYTHON} or activate .venv"
        )


def batch_arguments(folder: Path, mode: str) -> list[str]:
    """The chapter's `models/` holds originals/ and quantized/ (its "File Organization"): the
    originals are read from DIR/originals and the variants written to DIR/quantized. A flat
    folder of originals gets its variants beside them."""
    from harness.models.quantize import preset_file_name, resolve_preset
    from harness.models.registry import load_registry

    source = folder / "originals" if (folder / "originals").is_dir() else folder
    target = folder / "quantized" if source != folder else folder
    if not source.is_dir():
        fail(f"{folder}: not a directory; {USAGE}")
    preset = resolve_preset(mode)
    registry = load_registry()
    for spec in registry.models.values():
        original = source / f"{spec.original}.onnx"
        if not spec.unavailable and original.is_file():
            variant = registry.get(f"{spec.id}-{mode.upper()}")
            print(f"Processing: {original.name} \u2192 {preset_file_name(variant.id, preset)}", flush=True)
    return ["quantize-all", str(source), "--mode", mode, "--output-dir", str(target)]


def main(argv: list[str]) -> None:
    batch, paths, mode = parse(argv)
    ensure_harness()
    from harness.cli.app import app
    from harness.errors import HarnessError

    try:
        arguments = batch_arguments(Path(paths[0]), mode) if batch else ["quantize", *paths, "--mode", mode]
    except HarnessError as err:
        fail(str(err))
    app(arguments, prog_name="quantize-models.py")  # exits with the command's status


if __name__ == "__main__":
    main(sys.argv[1:])
