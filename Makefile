PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint spec bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/credmock serve --host 127.0.0.1 --port 8080

spec: $(STAMP)
	$(BIN)/python merge_spec.py

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP)
	$(BIN)/python merge_spec.py --check
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# Load test beside Prism, a bare Starlette app and WireMock (about 10 minutes, docs/performance.md);
# BENCH_ARGS=--quick for a smoke run, see bench/run.py --help.
bench: $(STAMP)
	VENV=$(VENV) bench/install-tools.sh
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache

# Container image (docs/container.md): podman, or docker where podman is missing. The build installs
# credmock from build/wheelhouse/, filled here first, so it needs no package index.
IMAGE ?= localhost/credmock:latest
IMAGE_BUILD_FLAGS ?=

.PHONY: image test-image

image:
	IMAGE=$(IMAGE) scripts/image/build.sh $(IMAGE_BUILD_FLAGS)

# Builds the image from the unchanged Dockerfile on a Debian base made locally (no image registry
# needed), runs it and finishes a password reset through its published port (a few minutes).
test-image: $(STAMP)
	scripts/image/install-tools.sh
	scripts/image/base-image.sh
	$(MAKE) image IMAGE=$(IMAGE) IMAGE_BUILD_FLAGS=--pull=never
	CREDMOCK_IMAGE=$(IMAGE) $(BIN)/python -m pytest -q tests/image
