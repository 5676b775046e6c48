# Two commands matter: `make run` (Vigia on this machine) and `make test` (the whole suite).
# Both create .venv and install from the lock files on first use; nothing else needs installing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The official `railway` package that evaluates .railway/railway.ts in the tests (npm registry only).
IAC    := .railway/node_modules/.package-lock.json

.PHONY: run test install lint lock clean

$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Vigia needs Python >= 3.11; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -r requirements-dev.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	@touch $(STAMP)

$(IAC): .railway/package.json .railway/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm is needed to evaluate .railway/railway.ts in the tests (e.g. apt-get install nodejs npm)"; exit 1; }
	cd .railway && npm ci --ignore-scripts --no-audit --no-fund

install: $(STAMP) $(IAC)

run: $(STAMP)
	$(BIN)/vigia dev

test: $(STAMP) $(IAC)
	$(BIN)/ruff check .
	$(BIN)/mypy shared services
	$(BIN)/python .ci/scan_secrets.py
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

lock: $(STAMP)
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --extra dev pyproject.toml -o requirements-dev.lock

clean:
	rm -rf $(VENV) .vigia .pytest_cache
