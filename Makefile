# One command surface: README, pre-commit and .ci/run call these targets the same way.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: install install-dev demo run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(STAMP)

demo: install
	$(BIN)/equipage demo

run: install
	$(BIN)/equipage up

test: install-dev
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev
	$(BIN)/python bench/bus.py
	$(BIN)/python bench/llm.py
	$(BIN)/python bench/ingress.py
	$(BIN)/python bench/live_assist.py

clean:
	rm -rf $(VENV) .equipage .pytest_cache .mypy_cache .ruff_cache
