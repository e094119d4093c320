# `make dev` and `make test` are all a new machine needs: each sets up .venv first
# (the service's packages for `dev`; those plus the test tools for `test`).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: dev test test-service test-runtime lint venv steps events bench clean

$(STAMP): requirements.txt
	@echo "setting up $(VENV): installing the packages of requirements.txt (a minute or two the first time)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	@echo "installing the test tools of requirements-dev.txt into $(VENV)"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(DEV_STAMP)

venv: $(STAMP)

dev: $(STAMP)
	$(VENV)/bin/steprunner dev

# Two suites, each its own pytest run: the service's (tests/) and the runtime's (runtime/tests, rootdir runtime/,
# so its `tests` package is its own). Both run even when the first fails; make test fails if either did.
test: $(DEV_STAMP)
	@$(MAKE) --no-print-directory --keep-going test-tools || echo "make test: Motia, Chromium or PostgreSQL could not be installed; the tests that need them skip and say why"
	@$(MAKE) --no-print-directory lint
	@service=0; runtime=0; \
	$(PY) -m pytest || service=$$?; \
	(cd runtime && $(abspath $(PY)) -m pytest) || runtime=$$?; \
	echo "make test: service suite exit $$service, runtime suite exit $$runtime"; \
	test $$service -eq 0 && test $$runtime -eq 0

test-service: $(DEV_STAMP)
	$(PY) -m pytest

test-runtime: $(DEV_STAMP)
	cd runtime && $(abspath $(PY)) -m pytest

# ruff (lint and format) and mypy (types), configured in pyproject.toml; a few seconds.
lint: $(DEV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

steps: $(STAMP)
	$(VENV)/bin/steprunner steps

events: $(STAMP)
	$(VENV)/bin/steprunner events

clean:
	rm -rf $(VENV) .pytest_cache runtime/.pytest_cache

# docs/flow-view.png (the README's picture of the flow view), taken from the live page on a fresh
# store by scripts/screenshots.py; Debian's Chromium, and an emoji font for the log lines' emoji.
.PHONY: screenshots emoji-font

emoji-font:
	@fc-list | grep -qi "color emoji" || (apt-get update -qq && apt-get install -y -qq fonts-noto-color-emoji >/dev/null)

screenshots: $(DEV_STAMP) chromium emoji-font
	$(PY) scripts/screenshots.py

# Benchmarks print numbers; they are not part of `make test` (bench/README.md). wrk comes from
# Debian's packages, matplotlib and py-spy from requirements-bench.txt, real Motia from
# `motia-install`; without Motia the run goes on and its columns say why. BENCH_ARGS=--quick
# for a one-minute smoke run.
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_ARGS ?=

.PHONY: bench-runtime bench-writes bench-nodes wrk

$(BENCH_STAMP): $(DEV_STAMP) requirements-bench.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)

bench: $(BENCH_STAMP) wrk
	@$(MAKE) --no-print-directory motia-install || echo "make bench: real Motia could not be installed; the Motia columns say why"
	$(PY) bench/run.py $(BENCH_ARGS)

# Writes under load alone (bench/writes.py): 32 clients POSTing while one client reads.
# BENCH_ARGS="--runs 3 --root /other/checkout" for a spread, or to measure another checkout.
bench-writes: $(DEV_STAMP) wrk
	$(PY) bench/writes.py $(BENCH_ARGS)

# 1, 2 and 3 nodes on one throwaway PostgreSQL next to the embedded default (bench/nodes.py):
# chain latency and create throughput; writes bench/results/nodes.md and nodes.json.
bench-nodes: $(DEV_STAMP) wrk postgres
	$(PY) bench/nodes.py --out bench/results/nodes.md $(BENCH_ARGS)

# steprunner alone: a trivial API step and a one-hop event (bench/runtime_bench.py).
bench-runtime: $(BENCH_STAMP) wrk
	$(PY) bench/runtime_bench.py

# --- Real Motia and its Workbench on the same steps/ (issue 4) ---------------------------------
# npm motia, pinned in package.json + package-lock.json, into node_modules/ (`npm install --no-save`,
# not `npm ci`: the registry reached here lacks some other platforms' optional packages, so the
# lock has no entries for them and `npm ci` refuses it); its Python venv
# (with requirements.txt) into python_modules/. Both are git-ignored and rebuilt only when the
# files they come from change. Debian's redis-server replaces the Redis build that
# redis-memory-server would download; Debian's chromium is the browser of the Workbench test.
MOTIA_NPM_STAMP := node_modules/.motia-npm-installed
MOTIA_PY_STAMP := python_modules/.motia-python-installed
MOTIA_LOG := tests/artifacts/motia-install.log
MOTIA_ENV := MOTIA_ANALYTICS_DISABLED=true REDISMS_SYSTEM_BINARY=/usr/bin/redis-server
WORKBENCH_PORT ?= 3000

.PHONY: workbench motia-install redis chromium postgres test-tools stream-client

redis:
	@command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null)

chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# Debian's PostgreSQL server binaries, for the tests' throwaway clusters (runtime/steprunner/testing/postgres.py).
# Debian's own cluster is not created (create_main_cluster = false): tests never use a server that
# happens to be running, and none is left running here.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ( \
		apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-common >/dev/null \
		&& sed -i 's/^#* *create_main_cluster *=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null )

$(MOTIA_NPM_STAMP): package.json package-lock.json
	@mkdir -p $(dir $(MOTIA_LOG))
	@echo "motia-install: npm install (motia and its Workbench plugins, as package-lock.json pins them; about a minute, ~560 MB)"
	@REDISMS_DISABLE_POSTINSTALL=1 npm install --no-save --no-audit --no-fund --loglevel=error >$(MOTIA_LOG) 2>&1 \
		|| (tail -n 20 $(MOTIA_LOG); exit 1)
	@touch $@

$(MOTIA_PY_STAMP): $(MOTIA_NPM_STAMP) requirements.txt
	@echo "motia-install: npx motia install (python_modules/ with requirements.txt)"
	@MOTIA_ANALYTICS_DISABLED=true npx --no-install motia install >>$(MOTIA_LOG) 2>&1 \
		|| (tail -n 20 $(MOTIA_LOG); exit 1)
	@# Motia re-reads a changed step's config with only steps/ on PYTHONPATH, so `import services`
	@# fails and the step drops out until a restart; this .pth puts the project root on the path.
	@echo "$(CURDIR)" > "$$(python_modules/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/motia_project_root.pth"
	@touch $@

motia-install: redis $(MOTIA_PY_STAMP)

test-tools: postgres motia-install chromium stream-client

# Motia's Node stream client for runtime/tests/streams and tests/pets/test_timeline.py (pinned in
# runtime/tests/streams/client/package-lock.json), into runtime/tests/streams/client/node_modules
# (git-ignored); the tests install it themselves if needed.
STREAM_CLIENT := runtime/tests/streams/client
STREAM_CLIENT_STAMP := $(STREAM_CLIENT)/node_modules/.installed

$(STREAM_CLIENT_STAMP): $(STREAM_CLIENT)/package.json $(STREAM_CLIENT)/package-lock.json
	@cd $(STREAM_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

stream-client: $(STREAM_CLIENT_STAMP)

# Motia's Workbench at http://127.0.0.1:$(WORKBENCH_PORT), on steps/ and the same DATA_DIR (.data)
# as `make dev`. Its Vite dev socket listens on port WORKBENCH_PORT + 21678 on all interfaces.
workbench: motia-install
	@echo "Workbench: http://127.0.0.1:$(WORKBENCH_PORT)  (Vite's dev socket: port $$(($(WORKBENCH_PORT) + 21678)), all interfaces)"
	$(MOTIA_ENV) npx --no-install motia dev --host 127.0.0.1 --port $(WORKBENCH_PORT)
