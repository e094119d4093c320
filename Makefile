# `make dev` and `make test` are all a new machine needs: each sets up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test venv steps events bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

dev: $(STAMP)
	$(PY) -m steprunner dev

test: $(STAMP)
	$(PY) -m pytest

steps: $(STAMP)
	$(PY) -m steprunner steps

events: $(STAMP)
	$(PY) -m steprunner events

clean:
	rm -rf $(VENV) .pytest_cache

# Benchmarks print numbers; they are not part of `make test`. wrk comes from Debian's packages.
bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) bench/runtime_bench.py
