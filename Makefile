# radiotrial: two commands for a fresh machine (see README.md)
#   make run    create the environment if needed and serve the platform with a seeded demo study
#   make test   create/update the environment and run the whole gate (lint, types, tests)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run demo test lint types pytest bench validate env system-deps lock clean

$(BIN)/python:
	tools/make-venv.sh $(PYTHON) $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

env: $(STAMP)

system-deps:
	tools/system-deps.sh

run: $(STAMP)
	$(BIN)/radiotrial serve --seed-demo

demo: $(STAMP)
	$(BIN)/radiotrial demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint types pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

validate: $(STAMP) system-deps
	RADIOTRIAL_VALIDATE=full $(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# regenerate the pinned constraints from the current environment (pip itself included)
lock: $(STAMP)
	$(BIN)/python -m pip freeze --all --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
