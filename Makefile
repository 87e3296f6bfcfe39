# The project's entry points (docs/design.md §8). `make test` and `make demo` run `make setup` first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup test lint crds bench demo images

setup:
	@scripts/setup.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy crds/src forecasting/src operator/src trainer/src api/src cli/src devtools/src
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile.operator Dockerfile.trainer
	$(BIN)/actionlint .github/workflows/*.yml

# One pytest run over every tier (unit, integration, e2e), warnings as errors (pyproject.toml).
test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

crds: setup
	$(BIN)/wattcast-crds

bench: setup
	$(BIN)/python benchmarks/run_all.py

demo: setup
	$(BIN)/python -m wattcast.devtools.demo $(if $(KEEP),--keep,) $(if $(INFLUX),--influx $(INFLUX),)

# The two container images, tagged as the chart's defaults, with docker, podman or buildah
# (scripts/build-images.sh; LOCAL_BASE=1 makes the Debian base with debootstrap first).
images:
	scripts/build-images.sh $(if $(LOCAL_BASE),--local-base,)
