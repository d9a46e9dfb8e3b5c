# The two commands of the README: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test quick lint typecheck unit services bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/meterwatch demo

services:
	bash scripts/ensure-services.sh

lint: $(STAMP)
	$(BIN)/ruff check edge detect collector tomlconf wire tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The whole suite in two tiers, each printing its 25 slowest tests: first every test not marked `serial`
# spread over the cores (pytest-xdist; services listen on free loopback ports, so workers do not collide;
# tests sharing a module or package fixture stay on one worker and long tests go first, see
# tests/support/xdist_sched.py), then the `serial` tests in one process on an otherwise quiet machine
# (they time real recoveries, timeouts and rates). Both tiers run even when the first fails;
# tests/support/tiers.py then checks that together they ran every collected test exactly once.
WORKERS ?= 2
TIERS   := .pytest-tiers
unit: $(STAMP)
	@rm -rf $(TIERS)
	MW_TIER_RECORD=$(TIERS)/parallel.json $(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup \
	    -m "not serial" --durations=25; p=$$?; \
	MW_TIER_RECORD=$(TIERS)/serial.json $(BIN)/python -m pytest -m serial --durations=25; s=$$?; \
	$(BIN)/python -m tests.support.tiers $(TIERS)/parallel.json $(TIERS)/serial.json; t=$$?; \
	test $$p -eq 0 -a $$s -eq 0 -a $$t -eq 0

test: $(STAMP) services lint typecheck unit

# The fast tier for your own loop: lint, types and every test that starts no service process and is
# not marked slow, spread over the cores (pytest-xdist): 85 s on a quiet 2-core machine, 155 s on one
# process. CI runs `make test` (both tiers, every test), never this alone.
quick: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q -n auto --dist loadgroup -m "not integration and not slow"

bench: $(STAMP)
	for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
