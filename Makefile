# deconline — two commands for a new machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_DIR := .run
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Test processes (pytest-xdist): one per core of these 2-core machines; a file's tests stay in one process.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

.PHONY: run test lint bench venv clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## The demo, live: the scenario on SQLite, the service and console at http://$(HOST):$(PORT)/ (API docs
## at /docs), and the demo aircraft posting their tracks every second; prints the tokens and key files.
run: $(STAMP)
	rm -rf $(RUN_DIR)
	$(BIN)/deconline --db sqlite:///$(RUN_DIR)/demo.db demo --keys-dir $(RUN_DIR)/keys
	$(BIN)/deconline --db sqlite:///$(RUN_DIR)/demo.db serve --host $(HOST) --port $(PORT) --demo-feed $(RUN_DIR)/keys

lint: $(STAMP)
	$(BIN)/ruff check deconline tests bench
	$(BIN)/ruff format --check deconline tests bench
	$(BIN)/mypy deconline
	$(BIN)/lint-imports

## Debian's chromium for the browser tests: installed with apt-get when running as root, else they are skipped.
browser:
	@if [ -x /usr/bin/chromium ]; then \
		echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "could not install chromium: the browser tests will be skipped"; \
	else \
		echo "chromium is missing and this is not root: the browser tests will be skipped"; \
	fi

## Lint, type-check, then the whole test suite (PostgreSQL tests run when 127.0.0.1:5432 answers).
test: lint browser
	@if $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1).close()" 2>/dev/null; then \
		echo "PostgreSQL answers on 127.0.0.1:5432: its tests will run"; \
		DECONLINE_TEST_PG_URL="$${DECONLINE_TEST_PG_URL:-$(PG_URL)}" $(PYTEST); \
	else \
		echo "PostgreSQL does not answer on 127.0.0.1:5432: its tests will be skipped"; \
		$(PYTEST); \
	fi

## Benchmarks; results go to bench/out/ and the tables to stdout.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/bench_strategic.py
	$(BIN)/python bench/bench_filing.py
	$(BIN)/python bench/bench_live.py
	$(BIN)/python bench/bench_alerts.py
	$(BIN)/python bench/bench_tactical.py --bluesky
	$(BIN)/python bench/bench_guidance.py
	$(BIN)/python bench/bench_resolution.py
	$(BIN)/python bench/bench_replay.py
	$(BIN)/python bench/bench_record.py
	$(BIN)/python bench/bench_export.py
	$(BIN)/python bench/bench_console.py
	$(BIN)/python bench/bench_feed.py
	$(BIN)/python bench/bench_cli.py
	$(BIN)/python bench/bench_hotline.py
	$(BIN)/python bench/bench_beats.py --db sqlite

clean:
	rm -rf $(VENV) $(RUN_DIR) .mypy_cache .ruff_cache .pytest_cache
