# EMP — the two commands: `make demo` and `make test`. Both set everything up themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.emp-installed
DEV_INSTALLED := $(VENV)/.emp-dev-installed

.PHONY: demo test lint install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# EMP (editable) and the example strategy plugin, a separate package found via entry points.
$(INSTALLED): $(BIN)/python pyproject.toml plugins/emp-sma-cross/pyproject.toml
	$(BIN)/python -m pip install --quiet -e . -e ./plugins/emp-sma-cross
	touch $@

$(DEV_INSTALLED): $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[dev,ml,pg,redis,yahoo,openbb,fix]'
	touch $@

install: $(INSTALLED)

## Run the vertical slice on generated data (no network): report in docs/reports/<run-id>/
demo: $(INSTALLED)
	$(BIN)/emp demo

lint: $(DEV_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --config contracts.ini

## Lint, import contracts and the whole test suite (unit, integration, e2e)
test: lint
	$(BIN)/python -m pytest tests/unit tests/integration tests/e2e

## Benchmarks (not part of `make test`): each prints a table
bench: $(DEV_INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/engine_throughput.py
	$(BIN)/python benchmarks/md_book.py
	$(BIN)/python benchmarks/ssd.py
	$(BIN)/python benchmarks/risk.py
	$(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/fix_roundtrip.py
	$(BIN)/python benchmarks/backtest_peers.py
	$(BIN)/python benchmarks/backtest_memory.py

clean:
	rm -rf $(VENV) .emp .pytest_cache .ruff_cache .import_linter_cache
