#!/usr/bin/env bash
# Chapter 28A's batch quantization, as the chapter calls it:
#
#   ./scripts/quantize-all-models.sh models/ int8
#   Processing: all-MiniLM-L6-v2.onnx → AVA-ONX-384-BASE-INT8.onnx
#
# Every registered original in DIR/originals (or in DIR itself when it has no originals/ folder)
# becomes its AVA-named variant in DIR/quantized (or beside it). A thin wrapper: the work is
# `ava-harness quantize-all`, through scripts/quantize-models.py --all (which finds an interpreter
# that can import the harness). A usage mistake is one `error:` line and exit status 2.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage="usage: quantize-all-models.sh <models-dir> [int8|fp16]"
if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    echo "error: expected a models folder and an optional mode; $usage" >&2
    exit 2
fi
# The chapter says python3; a venv's python (PYTHON=...) works the same way.
exec "${PYTHON:-python3}" "$here/quantize-models.py" --all "$@"
