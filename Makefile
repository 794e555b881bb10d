# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
ISSUER ?=

.PHONY: demo test lint redis node chromium npm bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/qr-relay demo --host $(HOST) --port $(PORT) $(if $(ISSUER),--issuer $(ISSUER))

lint: $(VENV)/.installed
	$(BIN)/ruff check relay tests bench examples
	$(BIN)/ruff format --check relay tests bench examples
	$(BIN)/mypy

# The Redis tests need a Redis: scripts/ensure-redis installs and starts one when none answers.
redis:
	scripts/ensure-redis

# The page's QR encoder (static/qr.js) is tested under Node: scripts/ensure-node installs it
# when it is missing.
node:
	scripts/ensure-node

# The browser tests (tests/browser/) drive Debian's Chromium at /usr/bin/chromium:
# scripts/ensure-chromium installs it with apt-get when it is missing (never a browser download of
# Playwright's own).
chromium:
	scripts/ensure-chromium

# The accessibility tests run axe-core (package.json, pinned by package-lock.json) in that
# Chromium: `npm ci` when node_modules/ is missing or older than the lockfile. Debian packages
# npm apart from nodejs.
node_modules/.installed: package-lock.json | node
	@command -v npm >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm ci --no-audit --no-fund
	touch $@

npm: node_modules/.installed

test: lint redis node chromium npm
	$(BIN)/python -m pytest

# bench_logins.py runs relay processes on 127.0.0.1 (and two on the Redis `redis` ensures, in
# database 14); a few minutes. Options: $(BIN)/python bench/bench_logins.py --help
# bench_kiosk.py drives /usr/bin/chromium for about 14 minutes (200 logins on one kiosk page).
bench: $(VENV)/.installed redis chromium
	$(BIN)/python bench/bench_qr.py
	$(BIN)/python bench/bench_session_memory.py
	$(BIN)/python bench/bench_sealing.py
	$(BIN)/python bench/bench_logins.py $(BENCH_ARGS)
	$(BIN)/python bench/bench_kiosk.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
