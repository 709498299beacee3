# flexsim: every target sets up what it needs (idempotently) before it runs.
#   make run        the main job (embedded anvil chain, SQLite)
#   make test       the test suite (~15 min; the long end-to-end runs apart)
#   make test-long  the long end-to-end runs (whole markets of many processes, ~20 min)
#   make bench-gas  gas benchmark (JSON)
#   make bench-ingest  readings ingest through the aggregator service (JSON)
#   make bench-fleet   memory and timeliness of 100 forked prosumer processes (JSON)
#   make bench-e2e     request latencies of the whole market on a Volta-like chain (JSON, ~15 min)
#   make bench-run     wall time of the quick run, phase by phase (JSON, ~3 min)
#   make compare       the `compare` experiment: both strategies over 10 seeds (~30 min; resumable)
#   make fuzz-api      schemathesis against the aggregator's own OpenAPI document (JSON summary, ~3 min)
#   make test-helm     the Helm chart rendered, linted and validated offline (also part of `make test`)
#   make conformance-openadr  schemathesis: the OpenADR 3 VTN against the OpenADR 3.1.1 document (JSON, ~5 min)
#   make docs          regenerate what is generated from the code: docs/schemas/*.json, README's settings tables
VENV ?= .venv
PY := $(VENV)/bin/python
FLEXSIM := $(VENV)/bin/flexsim

.PHONY: setup postgres run test test-long bench-gas bench-ingest bench-fleet bench-e2e bench-run compare fuzz-api conformance-openadr docs lint clean

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
	$(FLEXSIM) run

test: setup postgres
	$(PY) -m pytest -q -m 'not long'

# The long end-to-end runs (whole markets of many processes; ~20 min): CI runs them after `make test`.
test-long: setup postgres
	$(PY) -m pytest -q -m long

bench-gas: setup
	$(FLEXSIM) bench gas --json

bench-ingest: setup
	$(FLEXSIM) bench ingest --json

bench-fleet: setup
	$(FLEXSIM) bench fleet --json

bench-e2e: setup
	$(FLEXSIM) bench e2e --json

bench-run: setup
	$(FLEXSIM) bench run --json

compare: setup
	$(FLEXSIM) experiment compare

# 100 test cases per operation and phase, as the prosumer, the grid operator and the admin; exit 1 on
# any server error or answer that contradicts the document (tests/aggregator/fuzz_api.py).
fuzz-api: setup
	$(PY) -m tests.aggregator.fuzz_api --max-examples 100

# The OpenADR 3 VTN (docs/openadr.md) against the specification's own OpenAPI document
# (tests/data/openadr3/openadr3.yaml), as the business-logic client and as a VEN; exit 1 on any server
# error or answer that contradicts the document (tests/aggregator/openadr/conformance.py).
conformance-openadr: setup
	$(PY) -m tests.aggregator.openadr.conformance --max-examples 10

# The JSON Schemas of summary.json and the benchmarks' JSON, and the README's settings tables, from the
# models and settings classes (tests/flexsim/test_docs.py fails when they differ).
docs: setup
	$(FLEXSIM) schema --write docs/schemas
	$(FLEXSIM) settings --write README.md

# ruff (lint and format), mypy over the packages and the tests, and the layers (import-linter contracts in
# pyproject.toml: no upward import, no cycle, the aggregator reached only through its wire models).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy tests
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) node_modules .pytest_cache

# Docker (issue 6): installs and starts a Docker engine when missing, builds the image (and a local
# stand-in for its base image only when the registry is unreachable), runs a small simulation with
# `docker compose up` and checks its report; tears everything down. One stage at a time:
#   bash scripts/test-docker.sh --only engine|base|image|compose-config|services|compose-up|swarm
# (swarm: the same image on a one-node Docker Swarm, `docker stack deploy`; docs/kubernetes.md)
# The Helm chart (deploy/helm/flexsim) rendered and linted by Helm's SDK (helm-python-sdk) and every
# manifest validated by kubernetes-validate --strict, offline; part of `make test`, alone here.
.PHONY: test-helm
test-helm: setup
	$(PY) -m pytest -q tests/test_helm.py tests/test_swarm_stack.py

.PHONY: test-docker
test-docker: setup
	bash scripts/test-docker.sh
