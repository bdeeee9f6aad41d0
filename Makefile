# Organizer: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := organizer
STAMP := $(VENV)/.installed

.PHONY: help run test test-fast lint fmt bench seed migrate clean babel-extract babel-update babel-compile

help:
	@echo "make run            create .venv, install, migrate, load demo data once, serve on http://127.0.0.1:5000"
	@echo "make test           the whole test suite (set DATABASE_URL to run it on PostgreSQL)"
	@echo "make lint / fmt     ruff check / ruff format"
	@echo "make bench          benchmarks, written to bench/RESULTS.md"
	@echo "make babel-extract  collect translatable strings into translations/messages.pot"
	@echo "make babel-update   merge them into the he and ar catalogues"
	@echo "make babel-compile  compile the catalogues"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

instance:
	mkdir -p instance

# Compiled catalogues are built, not committed: `make run` and `make test` build them.
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@ -l $*

run: $(STAMP) instance $(COMPILED)
	$(BIN)/flask db upgrade
	$(BIN)/flask seed
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# axe-core for the browser tests' accessibility checks, pinned in package-lock.json.
node_modules/axe-core/axe.min.js: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test: $(STAMP) $(COMPILED) node_modules/axe-core/axe.min.js
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench

babel-extract: $(STAMP)
	$(BIN)/pybabel extract -w 100 -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .

babel-update: babel-extract
	$(BIN)/pybabel update -w 100 --no-fuzzy-matching --ignore-obsolete -i translations/messages.pot -d translations

babel-compile: $(COMPILED)

clean:
	rm -rf $(VENV) instance/organizer.db
