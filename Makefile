# Lobby: `make run` and `make test` (see README.md). Both are idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMPS := .make-stamps
PORT   ?= 5000
export PORT
INSTANCE := $(or $(LOBBY_INSTANCE_PATH),$(CURDIR)/instance)
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/lobby_test

PO_FILES := $(wildcard lobby/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
VENDOR   := static/vendor/htmx.min.js static/vendor/socket.io.min.js

.PHONY: setup run test test-sqlite test-postgres catalogs clean

setup: $(STAMPS)/python $(VENDOR) $(MO_FILES)

$(STAMPS)/python: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@mkdir -p $(STAMPS) && touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

static/vendor/htmx.min.js: node_modules/.package-lock.json
	@mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

static/vendor/socket.io.min.js: node_modules/.package-lock.json
	@mkdir -p static/vendor
	cp node_modules/socket.io-client/dist/socket.io.min.js $@

%.mo: %.po $(STAMPS)/python
	$(BIN)/pybabel compile --statistics -i $< -o $@

run: setup
	@mkdir -p "$(INSTANCE)"
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo --if-empty --credentials-file "$(INSTANCE)/demo-login.txt"
	@cat "$(INSTANCE)/demo-login.txt" 2>/dev/null || true
	$(BIN)/python serve.py

# The whole suite on SQLite, then again on PostgreSQL (its database is created by the tests).
test: test-sqlite test-postgres

test-sqlite: setup
	$(BIN)/pytest

test-postgres: setup
	TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -m "not sqlite_only"

catalogs: $(STAMPS)/python
	$(BIN)/python scripts/update_catalogs.py

clean:
	rm -rf $(VENV) $(STAMPS) node_modules static/vendor $(MO_FILES)
