# orderhub developer commands. Every target builds .venv from uv.lock first, so each works on a fresh clone.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
# Installed packages get their bytecode at install time: with PYTHONDONTWRITEBYTECODE set (as on
# our machines) every process would otherwise compile SQLAlchemy, Litestar & co. from source at
# each start (`orderhub --help`: 3.8 s → 1.6 s).
export UV_COMPILE_BYTECODE := 1
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-unit test-faults lint bench env

$(UV):
	@echo "orderhub: installing uv into .tools/ (first run only)"
	@python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target .tools/lib uv
	@mkdir -p .tools/bin && ln -sf ../lib/bin/uv .tools/bin/uv

# The first build shows uv's own progress (downloads, installs); later ones stay quiet.
env: $(UV)
	@if [ -x $(PY) ]; then $(UV) sync --frozen --quiet; else \
	  echo "orderhub: building .venv from uv.lock (first run only, about a minute)"; \
	  $(UV) sync --frozen; fi

# A simulated day through the whole hub on the embedded defaults (its progress on screen, its log
# lines in orderhub-demo.log), then the API and the console on http://127.0.0.1:8000 with an agent
# and an ops key made for it, until Ctrl-C. PORT=8765 make run serves elsewhere.
PORT ?= 8000
run: env
	@DATABASE_URL=sqlite+aiosqlite:///./orderhub-demo.db $(VENV)/bin/orderhub demo --fresh --port $(PORT)

test: env
	$(VENV)/bin/pytest

test-unit: env
	$(VENV)/bin/pytest tests/unit

# Fault injection on real API, relay and worker processes against PostgreSQL and Redis
# (tests/faults, about 14 minutes, of which 3 are an ERP outage and 3 a Stripe outage; not part of
# `make test`). It restarts the machine's PostgreSQL once. Each scenario prints attempted /
# accepted / lost / duplicated / time to recover.
test-faults: env
	$(VENV)/bin/pytest tests/faults -m faults

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy domain application ports adapters outbox read_models entrypoints tests/typing
	$(VENV)/bin/lint-imports

# Benchmarks against PostgreSQL and Redis on loopback (PRODUCT.md §7): bench/README.md.
# BENCH_QUICK=1 for a smoke run; writes bench/results/<date>[-quick].json and .md.
bench: env
	@command -v wrk >/dev/null || apt-get install -y wrk >/dev/null || { echo "bench: install wrk"; exit 2; }
	$(PY) -m bench.run
