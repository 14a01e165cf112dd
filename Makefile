# Every target sets itself up: a local .venv with the package installed editable.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,hub]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) demo/demo.py

# Tests run in parallel (one worker per core) and report coverage, subprocesses included.
test: $(STAMP)
	@scripts/ensure-tools.sh
	$(PY) -m pytest -n auto --cov --cov-report=term $(PYTEST_ARGS)

# Bytecode is compiled first, as pip does for an installed package: with
# PYTHONDONTWRITEBYTECODE set, an editable install would otherwise recompile every run.
bench: $(STAMP)
	$(PY) -m compileall -q src
	$(PY) benchmarks/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks demo
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
