# Two commands matter: `make demo` and `make test` (see README).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

PG_URL    ?= postgresql://postgres@127.0.0.1:5432/postgres
REDIS_URL ?= redis://127.0.0.1:6379/15
# Test processes: one per core, at most 4; `make test TEST_WORKERS=0` runs the suite in this process
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
# `make demo PORT=5001` when 5000 is taken
PORT      ?= 5000
# The browser tests (tests/e2e) drive Debian's Chromium; Playwright never downloads a browser of its own.
CHROMIUM  := /usr/bin/chromium

.PHONY: demo test install services translations serve screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d translations -D messages 2>/dev/null || $(BIN)/pybabel compile -d translations -D messages

demo: install
	$(BIN)/tierwise db upgrade
	$(BIN)/tierwise demo --port $(PORT)
	$(BIN)/tierwise serve --host 127.0.0.1 --port $(PORT)

serve: install
	$(BIN)/tierwise serve --host 127.0.0.1 --port $(PORT)

services:
	@scripts/ensure-services

# A file target: nothing to do once chromium is installed (we run as root; apt-get needs it).
$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests..."
	@DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	@DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

test: install services $(CHROMIUM)
	TIERWISE_TEST_DATABASE_URL=$(PG_URL) TIERWISE_TEST_REDIS_URL=$(REDIS_URL) $(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

# docs/screenshots/: the demo's main pages, in Chromium (a CJK font for the Chinese names).
screenshots: install $(CHROMIUM)
	@fc-list :lang=zh | grep -q . || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) instance .pytest_cache
