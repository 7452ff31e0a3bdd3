# Two commands on a fresh machine (Python 3.11 and make):
#   make run    set up, migrate, load the demo town, and run the product: the bot when a
#               TELEGRAM_TOKEN is set (environment or .env), else the terminal demo
#   make test   set up and run the whole test suite (SQLite; PostgreSQL with TEST_DATABASE_URL)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Exit status 0 when the settings (environment, then .env) hold a Telegram token.
HAS_TOKEN = $(BIN)/python -c 'import sys; from bot.settings import Settings; sys.exit(not Settings().telegram_token)'

.PHONY: setup run test lint format bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Both use DATABASE_URL (default var/portail.sqlite3): the demo plays on the data just loaded.
# `portail run` fails without a token, so the demo is chosen here, explicitly.
run: setup
	$(BIN)/portail db upgrade
	$(BIN)/portail import examples/demo.yaml
	@if $(HAS_TOKEN); then \
		echo "$(BIN)/portail run"; \
		exec $(BIN)/portail run; \
	else \
		echo "No TELEGRAM_TOKEN (environment or .env): the terminal demo."; \
		echo "$(BIN)/portail demo"; \
		exec $(BIN)/portail demo; \
	fi

test: lint
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m bench $(if $(SECTIONS),--only $(SECTIONS))

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
