# flexsim: every target sets up what it needs (idempotently) before it runs.
#   make run        the main job (embedded anvil chain, SQLite)
#   make test       the test suite
#   make bench-gas  gas benchmark (JSON)
#   make bench-ingest  readings ingest through the aggregator service (JSON)
VENV ?= .venv
PY := $(VENV)/bin/python
FLEXSIM := $(VENV)/bin/flexsim

.PHONY: setup postgres run test bench-gas bench-ingest lint clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	bash scripts/system-deps.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	bash scripts/system-deps.sh
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The aggregator's store is tested on SQLite and on PostgreSQL: make sure a server runs locally.
postgres:
	bash scripts/ensure-postgres.sh >/dev/null

run: setup
	$(FLEXSIM) demo

test: setup postgres
	$(PY) -m pytest -q

bench-gas: setup
	$(FLEXSIM) bench gas --json

bench-ingest: setup
	$(FLEXSIM) bench ingest --json

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) node_modules .pytest_cache
