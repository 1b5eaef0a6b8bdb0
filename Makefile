# Entry points. `make run` = demo city served with its worker; `make test` = the whole suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= small
HISTORY_DAYS ?= 90
# These targets run the demo city and its tools on the public demo SECRET_KEY; production runs
# `manage.py serve` with its own SECRET_KEY and never goes through make.
export URBANGRID_DEMO ?= 1

.PHONY: setup run test lint typecheck bench clean messages

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

urbangrid/static/vendor/.installed: node_modules/.installed scripts/vendor_static.py
	$(BIN)/python scripts/vendor_static.py
	touch $@

setup: $(VENV)/.installed urbangrid/static/vendor/.installed
	mkdir -p var/staticfiles  # whitenoise warns on every request while collectstatic has not run
	$(BIN)/python manage.py migrate --noinput -v 0

run: setup
	$(BIN)/python manage.py build_demo_city --if-empty --scale $(SCALE) --history-days $(HISTORY_DAYS)
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

test: setup
	bash scripts/test.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache  # the import contracts of pyproject.toml

typecheck: $(VENV)/.installed
	$(BIN)/mypy urbangrid

messages: $(VENV)/.installed
	$(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=node_modules --ignore=bench
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules

bench: setup
	bash bench/run_all.sh

clean:
	rm -rf $(VENV) node_modules urbangrid/static/vendor var/test-artifacts
