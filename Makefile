# flexsim: every target sets up what it needs (idempotently) before it runs.
#   make run        the main job (embedded anvil chain, SQLite)
#   make test       the test suite
#   make bench-gas  gas benchmark (JSON)
VENV ?= .venv
PY := $(VENV)/bin/python
FLEXSIM := $(VENV)/bin/flexsim

.PHONY: setup run test bench-gas lint clean

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

run: setup
	$(FLEXSIM) run

test: setup
	$(PY) -m pytest -q

bench-gas: setup
	$(FLEXSIM) bench gas --json

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) node_modules .pytest_cache
