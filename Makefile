# credichain: the developer and operator entry points. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Cores for the parallel parts of the test suite; the default run fits 2 cores.
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help install run test test-sim lint format typecheck bench soak fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install credichain with its test extras

run: $(STAMP) ## start a local 4-validator network (Ctrl-C stops it); RUN_ARGS passes flags
	$(BIN)/credichain localnet $(RUN_ARGS)

test: $(STAMP) ## the default test suite (well under 30 minutes on 2 cores)
	$(BIN)/pytest -q

test-sim: $(STAMP) ## the long consensus simulation profile (>= 100 000 scenarios)
	CREDICHAIN_SIM_SCENARIOS=100000 $(BIN)/pytest -q tests/sim

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP) ## mypy --strict on the core packages
	$(BIN)/mypy

bench: $(STAMP) ## every benchmark; prints figures and conditions
	@for b in scripts/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
