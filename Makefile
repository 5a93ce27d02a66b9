# Two commands matter on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install demo test lint format bench bench-check clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	# The CPU build of torch (a file on disk) first: resolved later, a dependency would pull a CUDA build of GBs.
	$(BIN)/python -m pip install --quiet -c requirements.lock torch
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $@

demo: install
	$(BIN)/zhongtai demo

test: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# Every benchmark in sequence at its default size, each printing its table and a last JSON line (about an
# hour on 2 cores; never part of `make test`). First every bench checks (and, as root, installs) what it
# needs, so a missing tool stops the run in seconds, not after an hour: `make bench-check` does only that.
BENCHES = retail_generate ingest decide feature_store stream oneid models

bench: bench-check
	$(BIN)/python bench/retail_generate.py --customers 100000
	$(BIN)/python bench/ingest.py --customers 100000
	$(BIN)/python bench/decide.py --customers 5000 --seconds 20 --rate 300 --rate-seconds 60
	$(BIN)/python bench/feature_store.py --no-stream
	$(BIN)/python bench/stream.py
	$(BIN)/python bench/oneid.py --customers 20000
	$(BIN)/python bench/models.py

bench-check: install
	@for bench in $(BENCHES); do $(BIN)/python bench/$$bench.py --check || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info
