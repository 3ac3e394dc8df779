# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DESK_DIR := .desk
DEMO_DB := sqlite:///$(CURDIR)/$(DESK_DIR)/demo.sqlite
DEMO_TICKETS ?= 2000
SAMPLE_ORDERS := app/data/sample-orders.csv
PYTEST_ARGS ?=

.PHONY: run test bench dashboard serve clean-demo install bytecode

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The project's own modules compiled once, as a packaged install would have them: where the environment sets
# PYTHONDONTWRITEBYTECODE, every start would otherwise compile them again (about 60 ms of a console's start).
# Only files changed since the last run are compiled.
bytecode: $(VENV)/.installed
	$(BIN)/python -m compileall -q app screens widgets models bench >/dev/null

$(DESK_DIR)/demo.sqlite: | $(VENV)/.installed
	mkdir -p $(DESK_DIR)
	$(BIN)/esimdesk --db $(DEMO_DB) demo --tickets $(DEMO_TICKETS) --seed 7
	$(BIN)/esimdesk --db $(DEMO_DB) orders import $(SAMPLE_ORDERS)

# Opens the console on the embedded demo desk (created on first use: the demo
# generator, then the shop's sample orders through the real import).
run: $(VENV)/.installed bytecode $(DESK_DIR)/demo.sqlite
	$(BIN)/esimdesk --db $(DEMO_DB) db upgrade
	$(BIN)/esimdesk --db $(DEMO_DB)

dashboard: $(VENV)/.installed bytecode $(DESK_DIR)/demo.sqlite
	$(BIN)/esimdesk --db $(DEMO_DB) dashboard

serve: $(VENV)/.installed bytecode $(DESK_DIR)/demo.sqlite
	$(BIN)/esimdesk --db $(DEMO_DB) serve

# Sets up and runs the linters (ruff, mypy) and every test: SQLite always; PostgreSQL too when its server
# binaries are on this machine (tests/pg_cluster.sh starts a throwaway cluster).
test: $(VENV)/.installed
	bash tests/run_suite.sh $(PYTEST_ARGS)

bench: $(VENV)/.installed bytecode
	$(BIN)/python -m bench $(BENCH_ARGS)

clean-demo:
	rm -rf $(DESK_DIR)
