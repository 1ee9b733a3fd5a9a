PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Pinned versions: requirements/run.txt (serving) and requirements/dev.txt (serving + dev tools).
RUN_LOCK := requirements/run.txt
DEV_LOCK := requirements/dev.txt
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
# pip compiles modules to bytecode one at a time; compileall does it on every core, in a fraction
# of the time, and writes the files even where PYTHONDONTWRITEBYTECODE is set (many CI and
# container environments), so no server start pays for compiling.
PIP_INSTALL := $(PIP) install --no-compile
COMPILE_VENV := $(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null
# make run ARGS="--seed 1 --fake-customers 20"; CREDMOCK_PORT, CREDMOCK_HOST (any CREDMOCK_*) are read by credmock.
ARGS ?=
# make test runs the suite in this many processes (pytest-xdist): one a core, at most 4.
TEST_PROCESSES ?= auto

.PHONY: install install-dev run test lint lint-spec spec lock dist bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# What serving needs, nothing more.
$(RUN_STAMP): $(BIN)/python pyproject.toml $(RUN_LOCK)
	$(PIP_INSTALL) --constraint $(RUN_LOCK) --editable .
	$(COMPILE_VENV)
	rm -f $(DEV_STAMP)
	touch $@

# The same venv plus pytest, ruff, schemathesis, playwright and pip-tools.
$(DEV_STAMP): $(RUN_STAMP) $(DEV_LOCK)
	$(PIP_INSTALL) --constraint $(DEV_LOCK) --editable '.[dev]'
	$(COMPILE_VENV)
	touch $@

install: $(RUN_STAMP)

install-dev: $(DEV_STAMP)

run: $(RUN_STAMP)
	$(BIN)/credmock serve $(ARGS)

spec: $(RUN_STAMP)
	$(BIN)/python merge_spec.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

# The served specs pass Spectral's `spectral:oas` and Redocly's `recommended` rules with no error
# (.spectral.yaml and redocly.yaml configure them); the linters come from npm (scripts/install-lint.sh).
LINT_TOOLS := .lint-tools/node_modules/.bin
SERVED_SPECS := spec/openapi.yaml spec/storefront.yaml spec/mock-api.yaml spec/idp.yaml
lint-spec:
	bash scripts/install-lint.sh
	$(LINT_TOOLS)/spectral lint --fail-severity error --ruleset .spectral.yaml $(SERVED_SPECS)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		$(LINT_TOOLS)/redocly lint --config redocly.yaml $(SERVED_SPECS)

test: $(DEV_STAMP)
	$(BIN)/python merge_spec.py --check
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q --numprocesses $(TEST_PROCESSES) --maxprocesses 4

# Re-resolve the locks from pyproject.toml, keeping current pins where they still fit;
# make lock UPGRADE=1 moves every pin to the newest release that fits.
lock: $(BIN)/pip-compile
	$(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) \
		--output-file $(RUN_LOCK) pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) --extra dev \
		--constraint $(RUN_LOCK) --output-file $(DEV_LOCK) pyproject.toml

# Only pip-tools: locking must work when pyproject.toml no longer fits the current locks.
$(BIN)/pip-compile: $(BIN)/python
	$(PIP_INSTALL) --constraint $(DEV_LOCK) pip-tools

# A wheel in dist/ (pip install dist/credmock-*.whl, or pipx install).
dist: $(BIN)/python
	rm -rf dist build
	$(PIP) wheel --no-deps --wheel-dir dist .

# Load test beside Prism, a bare Starlette app and WireMock (about 10 minutes, docs/performance.md);
# BENCH_ARGS=--quick for a smoke run, see bench/run.py --help.
bench: $(DEV_STAMP)
	VENV=$(VENV) bench/install-tools.sh
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache dist build

# Container image (docs/container.md): podman, or docker where podman is missing. The build installs
# credmock from build/wheelhouse/, filled here first, so it needs no package index.
IMAGE ?= localhost/credmock:latest
IMAGE_BUILD_FLAGS ?=

.PHONY: image test-image

image:
	IMAGE=$(IMAGE) scripts/image/build.sh $(IMAGE_BUILD_FLAGS)

# Builds the image from the unchanged Dockerfile on a Debian base made locally (no image registry
# needed), runs it and finishes a password reset through its published port (a few minutes).
test-image: $(DEV_STAMP)
	scripts/image/install-tools.sh
	scripts/image/base-image.sh
	$(MAKE) image IMAGE=$(IMAGE) IMAGE_BUILD_FLAGS=--pull=never
	CREDMOCK_IMAGE=$(IMAGE) $(BIN)/python -m pytest -q tests/image
