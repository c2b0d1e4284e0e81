# Facturier: the commands a developer and CI run. `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
export DJANGO_SETTINGS_MODULE := facturier.settings
CODE   := $(wildcard src tests bench scripts)

.DEFAULT_GOAL := help
.PHONY: help install install-dev setup run serve browser test lint format bench chaos screenshots clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamp files make a second run a no-op unless the pinned requirements changed.
$(VENV)/.base: $(BIN)/python requirements/base.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements/base.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.base requirements/dev.txt
	$(BIN)/pip install --quiet -r requirements/dev.txt
	@touch $@

install: $(VENV)/.base  ## virtual environment with the pinned runtime dependencies

install-dev: $(VENV)/.dev  ## ... plus what tests and linters need

setup: install  ## install, migrate the embedded database, load the demo company if empty, run billing
	$(BIN)/facturier manage migrate --no-input
	$(BIN)/facturier demo load --url http://$(HOST):$(PORT)/
	$(BIN)/facturier billing run --quiet
	$(BIN)/facturier manage collectstatic --no-input --verbosity 0

run: setup  ## setup, then serve http://$(HOST):$(PORT) with a worker
	$(BIN)/facturier serve --host $(HOST) --port $(PORT)

# The browser tests (tests/browser) drive Debian's Chromium; Playwright's own browser
# downloads are never used. Without /usr/bin/chromium they skip and say why.
CHROMIUM := /usr/bin/chromium
browser:  ## Debian's Chromium for the browser tests (apt-get install when missing and root)
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq chromium >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "WARNING: apt-get install chromium failed: the browser tests will skip"; \
	else \
		echo "WARNING: $(CHROMIUM) is missing and we are not root: the browser tests will skip" \
			"(install it with: sudo apt-get install -y chromium)"; \
	fi

test: install-dev browser  ## the whole test suite (SQLite, or PostgreSQL when DATABASE_URL points there)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev  ## ruff, ruff format --check, mypy, import contracts, pip check
	$(BIN)/pip check
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install-dev  ## rewrite the code with ruff's formatter and autofixes
	$(BIN)/ruff check --fix $(CODE)
	$(BIN)/ruff format $(CODE)

bench: install-dev  ## benchmarks, results written into docs/benchmarks.md (several minutes)
	$(BIN)/python bench/run_all.py
	$(BIN)/python bench/render.py --write-doc
	$(BIN)/python bench/pages.py

# The chaos run (bench/chaos.py): PostgreSQL, worker and billing-run processes killed with
# SIGKILL at random, an SMTP server dropping connections, a PostgreSQL restart; then every
# invariant is checked. Not part of `make test`. Full size by default (10,000 periods, about
# 30 minutes on a busy 2-core machine); CI runs it small: make chaos CHAOS_ARGS="--periods 200 --duration 90".
CHAOS_ARGS ?=
chaos: install-dev  ## chaos run on PostgreSQL (kill -9, SMTP drops, database restart), then verify
	$(BIN)/python bench/chaos.py $(CHAOS_ARGS)

screenshots: install-dev browser  ## PNGs of the main pages (demo company) into docs/screenshots/
	$(BIN)/python scripts/screenshots.py

clean:  ## remove the virtual environment and the embedded database
	rm -rf $(VENV) var
