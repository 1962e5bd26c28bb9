# credichain: the developer and operator entry points. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Cores for the parallel parts of the test suite; the default run fits 2 cores.
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help install run test test-sim lint format typecheck bench bench-weights assess-sim soak attack fuzz image-test explorer clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

EXPLORER_DEPS := explorer/node_modules/.package-lock.json

# playwright-core drives Debian's chromium in the browser test (tests/e2e/test_explorer.py).
$(EXPLORER_DEPS): explorer/package-lock.json
	cd explorer && npm ci --no-audit --no-fund

install: $(STAMP) $(EXPLORER_DEPS) ## create .venv (Python) and explorer/node_modules (npm) for the tests

run: $(STAMP) ## start a local 4-validator network (Ctrl-C stops it); RUN_ARGS passes flags
	$(BIN)/credichain localnet $(RUN_ARGS)

test: $(STAMP) $(EXPLORER_DEPS) ## the default test suite (well under 30 minutes on 2 cores)
	$(BIN)/pytest -q
	cd explorer && npm test

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

bench-weights: $(STAMP) ## benchmark every call in its worst case and write pallets/support/weights.json
	$(BIN)/python scripts/bench_weights.py --write

assess-sim: $(STAMP) ## a larger simulated community (C5: 956 loans, about 20 s) fitted; outputs in build/assess/
	$(BIN)/credichain assess simulate --out build/assess/sim.json --waves 100 --funds 6 --requests 8 --borrowers 240
	$(BIN)/credichain assess fit --file build/assess/sim.json --out build/assess/fit

soak: $(STAMP) ## 30 minutes of faults on a real 4-validator localnet under a bank workload; SOAK_ARGS adds flags
	$(BIN)/python scripts/chaos.py --duration 1800 --seed 1 --faults all --replay all $(SOAK_ARGS)

attack: $(STAMP) ## the attack profile (issue 17): seven attacks on a real 4-validator localnet; ATTACK_ARGS adds flags
	$(BIN)/python scripts/attack.py --attacks all --seed 1 --baseline 10 --duration 15 $(ATTACK_ARGS)

fuzz: $(STAMP) ## coverage-guided fuzzing (atheris), 60 s per target; prints executions per target
	$(BIN)/python -c 'import atheris' 2>/dev/null || $(BIN)/pip install --quiet 'atheris>=2.3'
	$(BIN)/python scripts/fuzz_atheris.py --seconds $${FUZZ_SECONDS:-60}

image-test: $(STAMP) ## build the container image with buildah and run a node from it (root; apt-installs buildah, debootstrap, prometheus)
	bash scripts/image_test.sh

explorer: ## rebuild the web explorer into explorer/dist (needs node >= 20.19 and npm)
	cd explorer && npm ci && npm run build

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
