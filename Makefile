# Development tasks. `make run` serves the tracker on an embedded PostgreSQL;
# `make test` lints and runs the test suite. Both build .venv when needed.

VENV := .venv
PYTHON := $(VENV)/bin/python
# Written after the editable install succeeds, so a failed install is retried.
INSTALLED := $(VENV)/.installed
DATA_DIR := .data
# The last 2.x client, run by tests/test_client_v2.py in a venv of its own;
# its pin lives below, so the stamp is renewed when this file changes.
MLFLOW2_VENV := .venv-mlflow2
MLFLOW2_INSTALLED := $(MLFLOW2_VENV)/.installed

# `make bench` runs the peers from a venv of their own: stock MLflow (the
# latest 3.x that installs) and FastTrackML. FastTrackML's wheel pins
# mlflow<3 for its Python client, which the bench does not use; it needs only
# the wheel's static `fml` binary, hence --no-deps. py-spy is for --profile.
BENCH_VENV := .venv-bench
BENCH_INSTALLED := $(BENCH_VENV)/.installed
BENCH_ARGS ?=

# Empty means the CLI's own default (127.0.0.1, 5000, /mlflow).
HOST ?=
PORT ?=
PREFIX ?=
PYTEST_ARGS ?=

SERVE_ARGS := $(strip $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT)) \
	$(if $(PREFIX),--prefix $(PREFIX)))

.PHONY: venv mlflow2 run lint test clean-data

# The web UI's static build comes from the pinned mlflow wheel into
# $(DATA_DIR)/ui/; the step returns at once when the build is in place.
venv: $(INSTALLED)
	$(PYTHON) -m tracker.ui.fetch_build

$(PYTHON):
	python3 -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $@

mlflow2: $(MLFLOW2_INSTALLED)

$(MLFLOW2_INSTALLED): Makefile
	python3 -m venv $(MLFLOW2_VENV)
	$(MLFLOW2_VENV)/bin/python -m pip install --quiet mlflow-skinny==2.22.5 pandas
	touch $@

run: venv
	$(VENV)/bin/calabi serve --embedded $(SERVE_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: lint mlflow2
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

.PHONY: fuzz openapi

# A long fuzzing run of the HTTP API from its OpenAPI description, with
# every schemathesis phase (`make test` runs a small, fixed budget).
FUZZ_EXAMPLES ?= 200
fuzz: venv
	CALABI_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VENV)/bin/pytest -q \
		tests/test_api_fuzz.py $(PYTEST_ARGS)

# Write the OpenAPI description of the HTTP API from the route table.
openapi: venv
	$(PYTHON) -m tracker.http.openapi > schemas/openapi.json

.PHONY: bench bench-restore

# The client side is the project's venv: the stock mlflow-skinny client the
# compatibility suites pin, plus asyncpg for the COPY ceiling and lag reads.
# The side-by-side comparison (about 8 minutes); the rebuild and restore of a
# 1,000,000-event tenant is its own target (about 20 minutes).
bench: venv $(BENCH_INSTALLED)
	$(PYTHON) -m bench --peer-venv $(BENCH_VENV) --restore-events 0 $(BENCH_ARGS)

bench-restore: venv
	$(PYTHON) -m bench --only restore $(BENCH_ARGS)

$(BENCH_INSTALLED): Makefile
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet 'mlflow>=3,<4' psycopg2-binary py-spy
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps fasttrackml==0.6.0
	touch $@

# Stop the servers first: a server whose data directory vanished keeps running
# and keeps its port.
clean-data:
	if [ -x $(PYTHON) ] && [ -d $(DATA_DIR) ]; then \
		$(PYTHON) -m tracker.embedded.postgres stop $(DATA_DIR)/*/; \
		$(PYTHON) -m tracker.embedded.seaweed stop $(DATA_DIR)/*/; \
	fi
	rm -rf $(DATA_DIR)
