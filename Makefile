# The two commands of the README: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Tests talk to the real services of this machine unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# pytest-xdist processes, whole test files to each (module fixtures train once): much of the suite
# waits on PostgreSQL, Redis, Celery workers and Chromium, so two keep two cores busy. 0: one process.
# Files go out in collection order, which tests/conftest.py starts with the long ones (xdist's own
# order, most tests first, left the long files of one or two tests to the end).
TEST_WORKERS ?= 2

.PHONY: run stack test venv migrate lint audit bench clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Sets everything up on embedded defaults (SQLite, no Redis) and serves http://127.0.0.1:8000
run: venv
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py setup_demo
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver 127.0.0.1:8000

# Every process of the Procfile here, as in production (DEBUG off, PostgreSQL, Redis), each restarted
# alone if it exits (bin/supervise): see "Running as production" in README.md. Ctrl-C stops it.
stack: venv
	bin/stack

test: venv
	bin/ensure-services
	bin/ensure-browser
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# Known vulnerabilities in the pinned requirements (PyPI's advisories, via pip-audit); needs the network
# and is no part of `make test` or CI. --strict: a package it could not check fails the run, not a pass.
audit: venv
	$(BIN)/pip-audit -r requirements-dev.txt --strict --progress-spinner off

# Style and types: ruff's rules and formatting, then mypy with django-stubs (config in pyproject.toml).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var
