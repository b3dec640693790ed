# Two commands matter: `make demo` and `make test` (see README).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

PG_URL    ?= postgresql://postgres@127.0.0.1:5432/postgres
REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: demo test install services translations serve clean

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
	$(BIN)/tierwise demo
	$(BIN)/tierwise serve --host 127.0.0.1 --port 5000

serve: install
	$(BIN)/tierwise serve --host 127.0.0.1 --port 5000

services:
	@scripts/ensure-services

test: install services
	TIERWISE_TEST_DATABASE_URL=$(PG_URL) TIERWISE_TEST_REDIS_URL=$(REDIS_URL) $(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
