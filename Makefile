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

# Empty means the CLI's own default (127.0.0.1, 5000, /mlflow).
HOST ?=
PORT ?=
PREFIX ?=
PYTEST_ARGS ?=

SERVE_ARGS := $(strip $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT)) \
	$(if $(PREFIX),--prefix $(PREFIX)))

.PHONY: venv mlflow2 run lint test clean-data

venv: $(INSTALLED)

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

# Stop the servers first: a server whose data directory vanished keeps running
# and keeps its port.
clean-data:
	if [ -x $(PYTHON) ] && [ -d $(DATA_DIR) ]; then \
		$(PYTHON) -m tracker.embedded.postgres stop $(DATA_DIR)/*/; \
	fi
	rm -rf $(DATA_DIR)
