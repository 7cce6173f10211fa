# Set-up is part of every target: `make plan STACK=prod` and `make test` work from a clean clone.
PYTHON ?= python3
VENV ?= venv
STACK ?= prod
FORMAT ?= table
ENI_CONFIG ?=
BIN := $(VENV)/bin

.PHONY: venv plan test e2e engine bench clean

# The virtualenv Pulumi.yaml names; reinstalled whenever a pin changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

venv: $(VENV)/.installed

plan: venv
	$(BIN)/python -m terway_stack plan --stack $(STACK) --format $(FORMAT) $(if $(ENI_CONFIG),--eni-config $(ENI_CONFIG))

test: venv
	$(BIN)/python -m pytest tests

# Builds (or reuses) the Pulumi engine and a local control plane, then runs the real-engine suite.
e2e: venv
	bash e2e/run.sh

engine:
	bash e2e/build-engine.sh

bench: venv
	bash bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
