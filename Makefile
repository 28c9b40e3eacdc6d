# workhub's set-up and daily commands. Needs only python3 and make.
#   make demo   the main job: a local CalDAV server with an example organisation, synced and served
#   make test   the test suite, on SQLite and on the PostgreSQL at 127.0.0.1:5432

UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export WORKHUB_HOME ?= $(CURDIR)/.workhub
export WORKHUB_DAGSTER_STORAGE ?= $(WORKHUB_HOME)/dagster
# Compiled bytecode halves `import dagster` on machines that set PYTHONDONTWRITEBYTECODE.
export UV_COMPILE_BYTECODE := 1

.PHONY: install demo test lint dagster bench clean
ITEMS ?= 20000

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.installed  ## the locked environment in .venv

demo: install  ## the main job, on the embedded default (SQLite, no server to install)
	$(VENV)/bin/workhub demo

test: install  ## every test, on SQLite and PostgreSQL
	$(VENV)/bin/python -m pytest -n 2

lint: install  ## ruff and mypy, as configured in pyproject.toml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

dagster: install  ## the Dagster UI on the code location (config: $WORKHUB_CONFIG or ./workhub.yaml)
	mkdir -p $(WORKHUB_DAGSTER_STORAGE)
	DAGSTER_HOME=$(CURDIR) $(VENV)/bin/dagster dev -m pipelines.definitions

bench: install  ## speed and scale: ITEMS work items, on SQLite and PostgreSQL
	$(VENV)/bin/python -m bench --items $(ITEMS)

clean:
	rm -rf $(VENV) .tools .workhub
