# IntraSoft CRM API. `make run` and `make test` do all the set-up a fresh clone needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

# Python 3.13 where present (a pyenv shim counts only if it actually runs), else 3.12/3.11.
PYTHON ?= $(shell for p in python3.13 $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13 2>/dev/null) python3.12 python3.11 python3; do \
	if $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then echo $$p; break; fi; done)

# Settings as the test runs see them; used to decide whether the MySQL suite can run.
DB_ENGINE = $(shell $(PY) -c 'import os; os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intrasoft.settings"); from django.conf import settings; print(settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1])' 2>/dev/null)

.PHONY: help install prereqs run serve test test-sqlite test-mysql lint format mysql-db bench fuzz drill load drill-replicas load-tools types

# --- Front end (frontend/: React + TypeScript, built with Vite) ---
# Vite 8 needs Node.js 20.19+; without it the API and admin still run, and the tests say what they skip.
NODE_OK := $(shell node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && echo yes)
CHROMIUM ?= /usr/bin/chromium
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f -not -name '*.test.*' 2>/dev/null) frontend/index.html frontend/vite.config.ts frontend/tsconfig.json frontend/package.json

help:
	@echo "make run    - set up and serve the web app, API and admin on http://$(HOST):$(PORT)/ (SQLite demo data)"
	@echo "make serve  - the production server (gunicorn, ENVIRONMENT=production; needs SECRET_KEY and ALLOWED_HOSTS)"
	@echo "make test   - the test suite on SQLite, then on MySQL when MySQL is configured, then the front end's tests"
	@echo "make lint   - ruff check and ruff format --check; for the web app tsc, Prettier, ESLint and the API types check"
	@echo "make types  - regenerate the web app's API types (frontend/src/api-schema.ts) from the API's OpenAPI schema"
	@echo "make frontend - build the web app into frontend/dist (Node.js 20.19+); 'make run' does it when it can"
	@echo "make test-frontend - Vitest component tests and the Playwright end-to-end run (part of 'make test')"
	@echo "make mysql-db - create the local MySQL user and database (as root)"
	@echo "make bench  - benchmark the API against raw SQL at volume (BENCH_ARGS=\"--opportunities 1000000\"; SQLite, MySQL too when MYSQL_HOST is set)"

# mysqlclient compiles against the client library it finds through pkg-config (mysqlclient, mariadb or libmariadb).
prereqs:
	@if [ -z "$(PYTHON)" ]; then echo "Python 3.11+ is required (3.13 preferred): none found on PATH or under pyenv."; exit 1; fi
	@missing=""; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	if ! { pkg-config --exists mysqlclient || pkg-config --exists mariadb || pkg-config --exists libmariadb; } 2>/dev/null; then \
		missing="$$missing libmariadb-dev"; fi; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing build prerequisites for mysqlclient:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing build-essential >/dev/null; \
		else \
			echo "mysqlclient needs:$$missing (Debian/Ubuntu: sudo apt-get install$$missing build-essential; macOS: brew install pkg-config mysql-client)"; exit 1; \
		fi; \
	fi

$(STAMP): requirements.txt
	@$(MAKE) --no-print-directory prereqs
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

run: install
	@$(MAKE) --no-print-directory frontend-if-node
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py create_crm_tables --if-missing
	$(PY) manage.py load_demo_data
	$(PY) manage.py bootstrap_local --host $(HOST) --port $(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

# Production settings unless ENVIRONMENT is set otherwise; the rest comes from the
# environment and .env (SECRET_KEY, ALLOWED_HOSTS, MYSQL_*). Over plain HTTP on this machine
# also set SECURE_SSL_REDIRECT=false (production expects TLS at the load balancer).
SERVE_ENV = ENVIRONMENT=$${ENVIRONMENT:-production} HOST=$(HOST) PORT=$(PORT)

serve: install
	@$(SERVE_ENV) $(PY) -c 'import intrasoft.settings' || { \
		echo "make serve: set SECRET_KEY (and ALLOWED_HOSTS) in the environment or .env, e.g."; \
		echo "  echo SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') >> .env"; exit 1; }
	$(SERVE_ENV) $(PY) manage.py check --deploy
	$(SERVE_ENV) $(PY) manage.py migrate --noinput
	$(SERVE_ENV) $(PY) manage.py createcachetable
	$(SERVE_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0
	$(SERVE_ENV) exec $(VENV)/bin/gunicorn -c intrasoft/gunicorn.conf.py intrasoft.wsgi

# Local runs keep the MySQL test database between runs (pytest-django's --reuse-db applies only
# new migrations; conftest empties the four CRM tables); CI builds it from scratch every time.
REUSE_DB = $(if $(filter true,$(CI)),,--reuse-db)

test: install
	@echo "== Test suite on SQLite"
	DATABASE_URL=sqlite:///$(CURDIR)/var/test.sqlite3 $(PY) -m pytest $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-mysql-if-configured
	@$(MAKE) --no-print-directory test-frontend

.PHONY: test-mysql-if-configured
test-mysql-if-configured:
	@if [ "$(DB_ENGINE)" = mysql ]; then \
		echo "== Test suite on MySQL"; $(PY) -m pytest $(REUSE_DB) $(PYTEST_ARGS); \
	elif [ "$$CI" = true ]; then \
		echo "CI must run the MySQL suite, but no MySQL is configured (MYSQL_HOST or DATABASE_URL)."; exit 1; \
	else \
		echo "== MySQL suite skipped: no MySQL configured. Set MYSQL_HOST, MYSQL_USER, MYSQL_PASSWORD, MYSQL_DB (or run 'make test-mysql')."; \
	fi

test-sqlite: install
	DATABASE_URL=sqlite:///$(CURDIR)/var/test.sqlite3 $(PY) -m pytest $(PYTEST_ARGS)

# The local MySQL created by `make mysql-db`.
test-mysql: install
	MYSQL_HOST=127.0.0.1 MYSQL_USER=intrasoft MYSQL_PASSWORD=intrasoft MYSQL_DB=intrasoft DATABASE_URL= $(PY) -m pytest $(REUSE_DB) $(PYTEST_ARGS)

mysql-db:
	bash .ci/mysql-setup.sh

# Throwaway databases only (var/bench/ for SQLite; on MySQL the test database name + "_bench"), data made in SQL.
bench: install
	$(PY) .ci/bench.py $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@$(MAKE) --no-print-directory lint-frontend

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: frontend frontend-if-node test-frontend lint-frontend types-check

# The web app's API types come from the API's own OpenAPI schema (manage.py spectacular; no
# server, no database). Run after changing anything the schema shows, and commit the result.
types: install
	@if [ "$(NODE_OK)" != yes ]; then echo "make types needs Node.js 20.19+ and npm (https://nodejs.org/)."; exit 1; fi
	@$(MAKE) --no-print-directory frontend/node_modules/.package-lock.json
	cd frontend && PY=$(CURDIR)/$(PY) npm run --silent types

# Fails when frontend/src/api-schema.ts is not what `make types` would write now.
types-check: install frontend/node_modules/.package-lock.json
	cd frontend && PY=$(CURDIR)/$(PY) npm run --silent types:check

# The API types check, then tsc, Prettier and ESLint (with the React hooks and TanStack Query
# rules). Under CI a missing Node.js is a failure; elsewhere the lint says it skipped these.
lint-frontend: install
	@if [ "$(NODE_OK)" != yes ]; then \
		if [ "$$CI" = true ]; then echo "CI must lint the web app, but Node.js 20.19+ with npm is missing."; exit 1; fi; \
		echo "== Front-end lint SKIPPED: Node.js 20.19+ with npm not found (tsc, Prettier, ESLint and the API types check need it)."; \
		exit 0; \
	fi; \
	$(MAKE) --no-print-directory types-check && \
	echo "== Front-end lint (tsc, Prettier, ESLint)" && (cd frontend && npm run --silent lint)

# npm ci only when the lock file changed; the build only when a source changed.
frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(FRONTEND_SOURCES)
	cd frontend && npm run build

frontend:
	@if [ "$(NODE_OK)" != yes ]; then echo "make frontend needs Node.js 20.19+ and npm (https://nodejs.org/)."; exit 1; fi
	@$(MAKE) --no-print-directory frontend/dist/index.html

frontend-if-node:
	@if [ "$(NODE_OK)" = yes ]; then \
		$(MAKE) --no-print-directory frontend/dist/index.html; \
	elif [ -f frontend/dist/index.html ]; then \
		echo "== Node.js 20.19+ with npm not found: serving the existing web app build in frontend/dist."; \
	else \
		echo "== Node.js 20.19+ with npm not found: the web app is not built; serving the API and admin only."; \
	fi

# Vitest, then the end-to-end run in Chromium. Under CI a missing Node.js or Chromium is a failure.
test-frontend: install
	@if [ "$(NODE_OK)" != yes ]; then \
		if [ "$$CI" = true ]; then echo "CI must run the front-end tests, but Node.js 20.19+ with npm is missing."; exit 1; fi; \
		echo "== Front-end tests SKIPPED: Node.js 20.19+ with npm not found (Vitest and the browser run need it)."; \
		exit 0; \
	fi; \
	$(MAKE) --no-print-directory frontend/dist/index.html types-check && \
	echo "== Front-end component tests (Vitest)" && (cd frontend && PY=$(CURDIR)/$(PY) npm test --silent) && \
	if [ -x "$(CHROMIUM)" ]; then \
		echo "== End-to-end run (Playwright + Chromium, demo data)"; PY=$(CURDIR)/$(PY) CHROMIUM=$(CHROMIUM) bash frontend/e2e/run.sh; \
	elif [ "$$CI" = true ]; then \
		echo "CI must run the end-to-end tests, but there is no Chromium at $(CHROMIUM)."; exit 1; \
	else \
		echo "== End-to-end run SKIPPED: no Chromium at $(CHROMIUM) (Debian/Ubuntu: sudo apt-get install chromium; or set CHROMIUM=...)."; \
	fi

# schemathesis over every operation of /api/schema/ against gunicorn on the demo data (MySQL).
fuzz: install
	$(PY) .ci/fuzz.py

# Stops and restarts a private MariaDB under load; checks 503s and that no create is lost.
drill: install
	$(PY) .ci/outage_drill.py

# Throughput and latency under gunicorn on MySQL (wrk, loopback only, bounded in time).
load: install load-tools
	$(PY) .ci/load.py

# Two gunicorn instances on a private MariaDB primary and replica (real replication) and Redis:
# read-your-writes, lag, a dead replica, Redis down, a shared rate limit, one- and two-instance load.
drill-replicas: install load-tools
	$(PY) .ci/replica_drill.py

# wrk drives the load; the replica drill also starts its own redis-server (Debian packages).
load-tools:
	@missing=""; for tool in wrk redis-server; do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
		else \
			echo "The load tools need:$$missing (Debian/Ubuntu: sudo apt-get install$$missing)"; exit 1; \
		fi; \
	fi
