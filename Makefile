# The README's two commands, each doing all of its own set-up on a fresh machine:
#   make check   verify dropout implementations (ARGS="MODULE:ATTR --level quick" to choose)
#   make test    run the project's own tests (what .ci/run runs, after make lint)
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch 2.13.0; pyproject.toml states the range the project supports.
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

check: $(INSTALLED)
	$(BIN)/dropout-check $(ARGS)

test: $(INSTALLED)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy

.PHONY: check test lint
