# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 5000

.PHONY: run test lint format translations catalog bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -d portal/translations

## Re-extract every translatable string and merge it into the catalogs (then translate the new ones).
catalog: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project "Xueji Portal" -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching \
		--ignore-obsolete

## Run the portal on http://localhost:$(PORT) with an embedded SQLite database and demo data,
## and the background job consumer beside it (Ctrl-C stops both).
run: $(STAMP) translations
	PORTAL_ENV=development FLASK_APP=wsgi $(BIN)/flask portal setup --address http://localhost:$(PORT)
	PORTAL_ENV=development FLASK_APP=wsgi $(BIN)/flask portal serve --port $(PORT)

## Run the whole suite: lint, then every test on SQLite and on PostgreSQL.
test: $(STAMP) translations
	BIN=$(BIN) scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

## Benchmark the hot pages against a bare endpoint and the framework-limit page (PostgreSQL, 1M students).
bench: $(STAMP) translations
	$(BIN)/python benchmarks/pages.py

clean:
	rm -rf $(VENV) instance build *.egg-info test-artifacts
