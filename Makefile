# One command each: `make demo` sets up and evaluates the bundled example; `make test` runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV) (log: $(VENV)/install.log)"
	@$(PY) -m pip install -q --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(PY) -m pip install -q -e ".[dev]" >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	touch $@

demo: setup
	$(VENV)/bin/drg-eligibility evaluate examples/crps-left-foot.json --as-of 2026-11-20

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
