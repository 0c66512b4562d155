# The two commands of the set-up contract, and the rest of the developer loop.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= development.ini

.PHONY: serve test install install-test init lint format catalogues bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when the package metadata changes.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[testing]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

var/Data.fs: | $(VENV)/.installed
	$(BIN)/portal init $(CONFIG) --demo

init: install
	$(BIN)/portal init $(CONFIG)

serve: install var/Data.fs
	$(BIN)/pserve $(CONFIG)

# CI=true makes tests that need PostgreSQL or Chromium fail instead of skipping;
# PORTAL_TEST_BACKEND=postgresql with PORTAL_TEST_PG_DSN runs the suite on RelStorage.
test: install-test
	$(BIN)/pytest $(PYTEST_ARGS)

# Each benchmark prints its figure beside a baseline measured in the same run.
bench: install
	$(BIN)/python -m benchmarks

lint: install-test
	$(BIN)/ruff check portal forms reports exports workflows tests benchmarks
	$(BIN)/ruff format --check portal forms reports exports workflows tests benchmarks
	$(BIN)/mypy

format: install-test
	$(BIN)/ruff format portal forms reports exports workflows tests benchmarks

# Re-extract messages and merge them into the zh_CN and en catalogues.
catalogues: install-test
	$(BIN)/python -m portal.scripts.catalogues

clean:
	rm -rf $(VENV) build *.egg-info test-output
