# Spa Booking. `make run` serves the demo; `make test` runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format bench bench-scale install install-dev browser db clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

db: $(VENV)/.installed
	@$(BIN)/python scripts/ensure_postgres.py

# The notice sender runs beside runserver, so booking emails appear on the console;
# the trap stops it whenever runserver stops.
run: db
	@export DJANGO_DEBUG=$${DJANGO_DEBUG:-on}; \
	$(BIN)/python manage.py migrate --no-input && \
	$(BIN)/python manage.py seed_demo || exit; \
	$(BIN)/python manage.py send_notices --loop 2 & sender=$$!; \
	trap 'kill $$sender 2>/dev/null; wait $$sender' EXIT; \
	echo "Serving on http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"; \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Debian's Chromium drives the browser tests; Playwright's own download cannot work offline.
browser:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	}

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: $(VENV)/.installed-dev browser
	@$(BIN)/python scripts/ensure_postgres.py --server-only
	$(MAKE) --no-print-directory lint
	DJANGO_SECRET_KEY=makemigrations-check SPA_ENCRYPTION_KEYS=bWFrZW1pZ3JhdGlvbnMtY2hlY2stb25seS1rZXktMDA= \
	  $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

bench: $(VENV)/.installed-dev
	@$(BIN)/python scripts/ensure_postgres.py --server-only
	$(BIN)/python -m bench.run

# A spa chain's five years (2 million appointments; about ten minutes of seeding), then
# every page and periodic command timed. ARGS=--reuse measures the chain the last run left.
bench-scale: $(VENV)/.installed-dev
	@$(BIN)/python scripts/ensure_postgres.py --server-only
	$(BIN)/python -m bench.scale.run $(ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
