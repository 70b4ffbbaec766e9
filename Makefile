# make demo: set up .venv (if needed) and run the main job on the built-in defaults.
# make test: set up .venv (if needed) and run the whole test suite.
VENV ?= .venv
PY := $(VENV)/bin/python
# test workers (pytest-xdist; whole test files per worker): CI has 2 cores
WORKERS ?= 2

.PHONY: install demo test lint bench

install:
	@VENV=$(VENV) bash scripts/install.sh

demo: install
	@$(PY) -m faceqa.demo

test: install
	@$(PY) -m ruff check faceqa tests benchmarks scripts
	@$(PY) -m pytest -q -n $(WORKERS) --dist loadfile

lint: install
	@$(PY) -m ruff check faceqa tests benchmarks scripts

bench: install
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done
