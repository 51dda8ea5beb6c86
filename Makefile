# Two commands: `make run` (set up and start the dashboard), `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
DATA   ?= ./data
PORT   ?= 5000

.PHONY: run dev test lint bench chaos clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/activate
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	TRADESTATS_DATA_DIR=$${TRADESTATS_DATA_DIR:-$(DATA)} $(BIN)/tradestats serve --demo --port $(PORT)

dev: $(VENV)/.installed-run
	TRADESTATS_DATA_DIR=$${TRADESTATS_DATA_DIR:-$(DATA)} $(BIN)/tradestats serve --dev --demo --port $(PORT)

test: $(VENV)/.installed-dev
	$(PY) -m pytest
	node --test tests/js/

# Load, concurrency and bad-input scenarios against real `tradestats serve` processes
# (tests/chaos; needs wrk, PostgreSQL). CHAOS_DURATION = seconds of load per scenario.
CHAOS_DURATION ?= 60

chaos: $(VENV)/.installed-dev
	@command -v wrk >/dev/null || { echo "chaos needs wrk (apt-get install -y wrk)"; exit 2; }
	CHAOS_DURATION=$(CHAOS_DURATION) $(PY) -m pytest -m chaos tests/chaos

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-dev
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

# The journal and frontend benchmarks share one generated 1M-execution database.
BENCH_WORKDIR ?= $${TMPDIR:-/tmp}/tradestats-bench

bench: $(VENV)/.installed-bench
	@command -v wrk >/dev/null || { echo "bench needs wrk (apt-get install -y wrk)"; exit 2; }
	@command -v chromium >/dev/null || { echo "bench needs chromium (apt-get install -y chromium)"; exit 2; }
	$(PY) bench/http_serving.py
	$(PY) bench/journal.py --workdir $(BENCH_WORKDIR)
	$(PY) bench/frontend.py --workdir $(BENCH_WORKDIR) --reuse
	$(PY) bench/screener.py
	$(PY) bench/importers.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
