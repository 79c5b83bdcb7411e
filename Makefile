# Everything a fresh machine needs: `make serve` and `make test` create the virtualenv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install serve test lint format bench bench-quick clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "exporter needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

## Run the service (embedded PostgreSQL with demo data when DATABASE_URL is unset).
serve: install
	$(BIN)/exporter serve

## Run the test suite (TEST_DATABASE_URL, else an embedded PostgreSQL).
test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check exporter tests benchmarks
	$(BIN)/ruff format --check exporter tests benchmarks
	$(BIN)/mypy exporter tests

format: install
	$(BIN)/ruff check --fix exporter tests benchmarks
	$(BIN)/ruff format exporter tests benchmarks

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache

## Benchmarks (benchmarks/README.md): the full suite, about 30 minutes; results in benchmarks/results/.
bench: install
	$(BIN)/python -m benchmarks.run

## The benchmark harness end to end in seconds (results in benchmarks/results/quick/, git-ignored).
bench-quick: install
	$(BIN)/python -m benchmarks.run --quick
