# The README's two commands, each doing all of its own set-up on a fresh machine:
#   make check   verify dropout implementations (ARGS="MODULE:ATTR --level quick" to choose)
#   make test    run the project's own tests (what .ci/run runs, after make lint)
#   make test-fast  the contributors' quick loop: tests/ in-process only, no subprocess or slow tests (< 2 min)
PYTHON ?= python3
VENV ?= .venv
# torch 2.13.0, the CPU build where pip's configuration offers it (as on the CI machine); where
# PyPI's default is a CUDA build, TORCH_INDEX=https://download.pytorch.org/whl/cpu asks for the
# CPU one. pyproject.toml states the range the project supports. The dev extra brings Triton (no
# dependencies: torch stays as installed) for the Triton catalog's tests.
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

check: $(INSTALLED)
	$(BIN)/dropout-check $(ARGS)

# The project's tests on both cores (the property suite over the built-in references among them,
# in a process of its own: it refuses pytest-xdist, whose workers would each see part of a run).
test: $(INSTALLED)
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=15 tests $(ARGS)

# tests/ only (not the property suite in properties/), without xdist; the marks are pyproject.toml's.
test-fast: $(INSTALLED)
	$(BIN)/python -m pytest tests -m "not subprocess and not slow" -p no:cacheprovider -q $(ARGS)

# The optional libraries whose dropouts dropout_verify.adapters verifies, then the adapters' tests that
# need them (CI does not install them: README). --no-deps keeps pip from replacing torch: the
# torchvision release built for $(TORCH), and timm without the hub packages timm.layers does not import.
third-party: $(INSTALLED)
	$(BIN)/python -m pip install --quiet --no-deps "torchvision==0.28.0" "timm==1.0.31"
	$(BIN)/python -m pip install --quiet "keras==3.15.1"
	$(BIN)/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	$(BIN)/python -m pytest tests/unit/test_adapters.py -q -p no:cacheprovider

# The planners' answers for the designed runs (dropout_verify/plan_table.json), recomputed: after any
# change to the planners' source (tests/unit/test_plan_table.py says when). About 5 minutes on 2 cores.
plan-table: $(INSTALLED)
	$(BIN)/python tools/make_plan_table.py --jobs 2

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy

.PHONY: check test test-fast lint third-party plan-table
