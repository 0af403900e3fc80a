# The two commands a new user needs: `make up` and `make test`. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# schemathesis, the API fuzzer, has a venv of its own (see requirements-fuzz.lock).
FUZZ_VENV := .venv-fuzz
FUZZ_STAMP := $(FUZZ_VENV)/.installed-stamp
RUN_DIR ?= run
# Debian packages the test suite runs for real (installed only when missing, and only as root):
# prometheus (and promtool), redis-server, lldb and gdb (memray attach), wrk (benchmarks),
# golang-go (`go tool pprof`, which reads the pprof files labctl writes), chromium (the
# workshop scoreboard's page, tested headless).
SYSTEM_PACKAGES := prometheus redis-server lldb gdb wrk golang-go chromium
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
# What `make test-compose` adds: a Docker engine, Debian's docker-compose (1.29; the v2 plugin is
# not packaged) and debootstrap, which builds the base images where no registry is reachable.
COMPOSE_PACKAGES := docker.io docker-compose debootstrap
LAB_DOCKER_ROOT ?= /var/tmp/lab-docker

.PHONY: help up down status test test-compose lint typecheck pytest system-deps bench lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,profilers,load,notebooks]'
	@touch $@

$(FUZZ_STAMP): requirements-fuzz.lock
	$(PYTHON) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FUZZ_VENV)/bin/python -m pip install --quiet -r requirements-fuzz.lock
	@touch $@

system-deps: ## apt-get install prometheus, redis-server, lldb, gdb, wrk, golang-go, chromium when missing (root only)
	@missing=""; \
	command -v prometheus >/dev/null || missing="$$missing prometheus"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v lldb >/dev/null || missing="$$missing lldb"; \
	command -v gdb >/dev/null || missing="$$missing gdb"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v go >/dev/null || missing="$$missing golang-go"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "missing:$$missing; install them with: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	echo "+ apt-get install -y$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES)

up: system-deps $(STAMP) ## install what the stack needs (as root), start it and print its URLs
	$(BIN)/labctl up --run-dir $(RUN_DIR)

down: ## stop what `make up` started
	@if [ -x $(BIN)/labctl ]; then $(BIN)/labctl down --run-dir $(RUN_DIR); else echo "nothing to stop"; fi

status: $(STAMP) ## show the running lab processes
	$(BIN)/labctl status --run-dir $(RUN_DIR)

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy --strict over code, tests and benchmarks
	$(BIN)/mypy

pytest: $(STAMP) $(FUZZ_STAMP) system-deps ## the test suite (unit + integration against real processes)
	$(BIN)/pytest --ignore=tests/compose $(PYTEST_ARGS)

test-compose: $(STAMP) ## docker compose for real: its own dockerd, images built here, every check (root)
	@missing=""; \
	command -v dockerd >/dev/null || missing="$$missing docker.io"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v debootstrap >/dev/null || missing="$$missing debootstrap"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "missing:$$missing; install them with: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	  echo "+ apt-get install -y$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(COMPOSE_PACKAGES); \
	fi
	LAB_DOCKER_ROOT=$(LAB_DOCKER_ROOT) $(BIN)/pytest tests/compose $(PYTEST_ARGS)

test: lint typecheck pytest ## everything CI runs: lint, types, tests

bench: $(STAMP) system-deps ## benchmarks (wrk, valgrind); tables land in bench/results/
	@command -v valgrind >/dev/null || { [ "$$(id -u)" = 0 ] && echo "+ apt-get install -y valgrind" \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind; } \
	  || { echo "bench: valgrind is missing; install it with: sudo apt-get install -y valgrind" >&2; exit 1; }
	$(BIN)/python -m bench.instrumentation_overhead
	$(BIN)/python -m bench.request_path_cost
	$(BIN)/python -m bench.request_path_instructions
	$(BIN)/python -m bench.hot_reload_latency
	$(BIN)/python -m bench.debug_surface_overhead
	$(BIN)/python -m bench.profiler_overhead
	$(BIN)/python -m bench.diagnose_time
	$(BIN)/python -m bench.injection_cost
	$(BIN)/python -m bench.footprint
	$(BIN)/python -m bench.gc_tuning
	$(BIN)/python -m bench.websockets_memory
	$(BIN)/python -m bench.reputation_cost
	$(BIN)/python -m bench.export_writer_cost

lock: ## re-pin requirements.lock from a fresh resolve (commit the result)
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -e '.[dev,profilers,load,notebooks]'
	.venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock
	rm -rf .venv-lock

clean: down ## remove the venv and run state
	rm -rf $(VENV) $(FUZZ_VENV) $(RUN_DIR) .mypy_cache .ruff_cache .pytest_cache .schemathesis
