"""Where things live and how long things may take: paths, environment variables, default timeouts.

The only module that derives paths from its own location; everything else asks here.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
REGISTRY_PATH = MODELS_DIR / "registry.toml"
CACHE_DIR = MODELS_DIR / "cache"
DATA_DIR = PROJECT_ROOT / "data"
REPORTS_DIR = PROJECT_ROOT / "reports"
# JSON Schemas of signoff.json and manifest.json (docs/report-schema.md is generated from them).
SCHEMAS_DIR = PROJECT_ROOT / "schemas"
ARM64_RUNNER = PROJECT_ROOT / "scripts" / "arm64" / "run_model.py"

# Environment variables the harness reads (Android's own, then ours).
ENV_SERIAL = "ANDROID_SERIAL"
ENV_ADB_SERVER_HOST = "ANDROID_ADB_SERVER_HOST"
ENV_ADB_SERVER_PORT = "ANDROID_ADB_SERVER_PORT"
ENV_ARM64_HOME = "AVA_ARM64_HOME"
ENV_ARM64_CPU = "AVA_ARM64_CPU"

DEFAULT_ADB_SERVER_HOST = "127.0.0.1"
DEFAULT_ADB_SERVER_PORT = 5037

# Default timeouts, seconds.
ADB_TIMEOUT = 60.0  # one adb request (connect, shell, one transfer step)
ADB_SOCKET_TIMEOUT = 30.0  # a single socket read or write on an adb connection
INSTRUMENT_TIMEOUT = 1800.0  # a whole `am instrument` run
INSTRUMENT_IDLE_TIMEOUT = 300.0  # no output from `am instrument` for this long
ARM64_RUN_TIMEOUT = 1800.0  # one emulated aarch64 run; FP32 on `-cpu max` is the slow case


def arm64_home() -> Path:
    """The aarch64 ONNX Runtime set up by `make arm64-runtime` (or `AVA_ARM64_HOME`)."""
    return Path(os.environ.get(ENV_ARM64_HOME) or PROJECT_ROOT / ".cache" / "arm64")


def adb_server_address() -> tuple[str, int]:
    return (
        os.environ.get(ENV_ADB_SERVER_HOST, DEFAULT_ADB_SERVER_HOST),
        int(os.environ.get(ENV_ADB_SERVER_PORT, str(DEFAULT_ADB_SERVER_PORT))),
    )
