# Quick start: `make demo` serves a demo campus; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test install install-test translations extract-messages run clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations

install-test: $(VENV)/.installed-test translations

# Compiled catalogues (.mo) are build output, made from the .po files we keep.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d dorms/translations

# After changing user-facing strings: refresh the template and the catalogues.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract --project=dorms --copyright-holder="the dorms developers" --msgid-bugs-address="" -F babel.cfg -k _l -k lazy_gettext -k N_ -o dorms/translations/messages.pot .
	$(BIN)/pybabel update -i dorms/translations/messages.pot -d dorms/translations --no-fuzzy-matching --ignore-obsolete

demo: install
	$(BIN)/dorms db upgrade
	$(BIN)/dorms demo
	$(BIN)/dorms run --host $(HOST) --port $(PORT)

run: install
	$(BIN)/dorms db upgrade
	$(BIN)/dorms run --host $(HOST) --port $(PORT)

# The import layers first (setup.cfg, README "Layout"), then the suite on every core.
PYTEST_WORKERS ?= auto
test: install-test
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) test-output .pytest_cache
	find dorms -name '*.mo' -delete
