# The two commands the README promises on a fresh machine: `make demo`, `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# axe-core from its npm package: the browser tests inject it to check WCAG 2.1 AA.
AXE    := .cache/axe/node_modules/axe-core/axe.min.js

.PHONY: demo test lint deps bench screenshot clean

demo: $(STAMP)
	$(VENV)/bin/bondtrack demo

# Lint and both test passes. Lint runs beside the parallel pass and its output follows that
# pass. Every part always runs, so one failure hides nothing of another. A pass that collects
# no test (pytest's exit 5) fails the run, unless PYTEST_ARGS chose a subset, which may leave
# one pass empty.
# bondtrack's own modules are byte-compiled first, as an installed package's are: under
# PYTHONDONTWRITEBYTECODE (set on the CI machine) an editable install would compile them again
# in every process a test starts. pytest runs without that setting, so it keeps the test
# modules it rewrites for their asserts (about 5 s of each worker's start). The parallel pass
# runs a worker more than the cores (JOBS), as a worker is often waiting; each takes whole
# modules as it runs low, costliest first (loadscope in tests/conftest.py's order), so the
# cores stay busy to the end. The serial tests (they kill and time processes) run two at a
# time: each must hold with one core busy anyway, which is what the other one is.
EMPTY_OK := $(if $(strip $(PYTEST_ARGS)),5,none)
TEST_ENV := env -u PYTHONDONTWRITEBYTECODE
JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: $(STAMP) deps $(AXE)
	@$(PY) -m compileall -q workflow tests
	@mkdir -p .cache; failed=0; \
	$(MAKE) --no-print-directory lint > .cache/lint.log 2>&1 & lint=$$!; \
	$(TEST_ENV) $(PY) -m pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder \
	  -m "not serial" $(PYTEST_ARGS) || \
	  case $$? in $(EMPTY_OK)) ;; *) failed=1 ;; esac; \
	wait $$lint || failed=1; cat .cache/lint.log; \
	$(TEST_ENV) $(PY) -m pytest -n 2 --dist worksteal -m serial $(PYTEST_ARGS) || \
	  case $$? in $(EMPTY_OK)) ;; *) failed=1 ;; esac; \
	exit $$failed

# Style (ruff, rule set in pyproject.toml) and types (mypy, files and flags in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check workflow tests bench
	$(VENV)/bin/mypy

# Byte-compiled first, as an installed package is (pip compiles what it installs; an editable
# install, or PYTHONDONTWRITEBYTECODE, leaves bondtrack's own modules to compile on every run).
bench: $(STAMP) deps
	$(PY) -m compileall -q workflow
	$(PY) bench/run

# uv (from PyPI, into the venv) installs what pip would in about half the time (46 s to 25 s on
# a fresh machine); byte-compiled, as pip does, since PYTHONDONTWRITEBYTECODE would otherwise
# leave every process to compile its libraries again. uv reads no pip.conf: where only pip
# knows the way to the packages (a mirror), pip installs them. The venv keeps its own pip.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet 'uv>=0.5'
	$(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode -e '.[test]' || \
	  $(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Regenerate docs/dashboard.png (the README's picture) from the demo.
screenshot: $(STAMP) deps
	$(PY) scripts/dashboard-screenshot

$(AXE): | deps
	npm install --prefix .cache/axe --no-audit --no-fund --silent axe-core@4

# System packages the tests use (PostgreSQL, pdftotext, Chromium, fonts).
deps:
	bash scripts/system-deps

clean:
	rm -rf $(VENV) .pytest_cache .cache build dist *.egg-info
