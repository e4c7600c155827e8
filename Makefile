# Every target creates .venv when it is missing and installs what it needs,
# so any of them works as the very first command on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install demo test lint types pytest bench docs cli-docs clean

help:
	@echo "make demo   - run the end-to-end tour on the embedded defaults"
	@echo "make test   - lint, types and the whole test suite"
	@echo "make bench  - run the benchmarks (results: docs/benchmarks.md)"
	@echo "make lint   - ruff check and format check"
	@echo "make docs   - build the documentation site (strict)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint types pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# docs/cli.md is generated from the CLI itself; a test fails when it is stale.
cli-docs: $(STAMP)
	$(BIN)/python -m typer martech_bus.cli.main utils docs --name martech-bus --title "CLI reference" --output docs/cli.md

docs: cli-docs
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site build dist .martech-bus
