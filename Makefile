# The two commands the README promises on a fresh machine: `make demo`, `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test deps bench screenshot clean

demo: $(STAMP)
	$(VENV)/bin/bondtrack demo

test: $(STAMP) deps
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP) deps
	$(PY) bench/run

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Regenerate docs/dashboard.png (the README's picture) from the demo.
screenshot: $(STAMP) deps
	$(PY) scripts/dashboard-screenshot

# System packages the tests use (PostgreSQL, pdftotext, Chromium, fonts).
deps:
	bash scripts/system-deps

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
