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

unit: $(STAMP)
	$(BIN)/python -m pytest

test: $(STAMP) services lint typecheck unit

# The fast tier for your own loop: lint, types and every test that starts no service process and is
# not marked slow, spread over the cores (pytest-xdist): 85 s on a quiet 2-core machine, 155 s on one
# process. CI runs `make test` (one process: the service tests time real faults), never this alone.
quick: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q -n auto -m "not integration and not slow"

bench: $(STAMP)
	for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
