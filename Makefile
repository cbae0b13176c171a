# Two entry points on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit bench simulator clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/canhgac run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -rs

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench broadcast

# A local Bot API simulator on 127.0.0.1:8081 to try the bot without Telegram (see README).
simulator: $(STAMP)
	$(BIN)/python -m simulator --host 127.0.0.1 --port 8081 --token 123456:TEST-token

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
