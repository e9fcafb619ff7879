# cshub — the two front-door commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The port of `make demo` / `make run`: `make demo PORT=8080` when 8000 is taken.
PORT ?= 8000
DEMO_ENV := DEBUG=1 SITE_URL=http://127.0.0.1:$(PORT)
# The demo's embedded scheduler and worker (docs/operations.md#the-demo-is-alive): Celery beat in-process,
# tasks run inline, no Redis. tests/test_demo_scheduler.py starts this same command.
DEMO_SCHEDULER := run_scheduler

.PHONY: help install demo seed run manage test lint format bench clean

help:
	@echo "make demo   - install, migrate SQLite, seed the demo company and start http://127.0.0.1:8000 (PORT=8080: another port)"
	@echo "make manage ARGS='createsuperuser' - any manage.py command, with the venv's Python and the demo's settings"
	@echo "make test   - install and run the whole test suite"
	@echo "make lint   - ruff format --check, ruff check and lint-imports (the layers and no-cycles contracts)"
	@echo "make bench  - benchmarks at scale (needs DATABASE_URL to PostgreSQL)"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(DEMO_ENV) $(PY) manage.py migrate --no-input
	$(DEMO_ENV) $(PY) manage.py seed_demo
	@echo ""
	@echo "cshub demo is starting on http://127.0.0.1:$(PORT) — log in with one of the accounts above. Ctrl-C stops it."
	@echo "The scheduled jobs run too (manage.py run_scheduler: the beat schedule, tasks inline, no Redis)."
	@echo ""
	$(DEMO_ENV) $(PY) manage.py $(DEMO_SCHEDULER) & scheduler=$$!; trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

run: install
	$(DEMO_ENV) $(PY) manage.py $(DEMO_SCHEDULER) & scheduler=$$!; trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

# Any manage.py command in the venv, e.g. make manage ARGS="api_token alex@demo.cshub.dev"
manage: install
	$(DEMO_ENV) $(PY) manage.py $(ARGS)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-artifacts
