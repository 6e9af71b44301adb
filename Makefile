# The two quickstart targets: `make serve` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# Debian packages the tests run as independent judges of PDF letters: poppler-utils (pdfsig,
# pdftotext, pdftoppm), qpdf, zbar-tools (zbarimg reads the QR code), libnss3-tools
# (certutil, an NSS trust store for pdfsig); fonts-wqy-microhei is the letters' CJK font.
DEBIAN_TEST_PACKAGES := poppler-utils qpdf zbar-tools libnss3-tools fonts-wqy-microhei

.PHONY: serve test lint typecheck pytest bench contracts debian-test-packages

serve: $(VENV)/.installed
	$(BIN)/notary-hub serve

test: $(VENV)/.installed-test node_modules/.installed lint typecheck pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test node_modules/.installed
	$(BIN)/pytest -n 2 -q

bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/merkle_bench.py
	$(BIN)/python bench/anchoring_bench.py
	$(BIN)/python bench/did_resolution_bench.py
	$(BIN)/python bench/canonicalization_bench.py
	$(BIN)/python bench/credentials_bench.py
	$(BIN)/python bench/blob_store_bench.py
	$(BIN)/python bench/deposit_bench.py
	$(BIN)/python bench/upload_bench.py

debian-test-packages:
	apt-get install -y --no-install-recommends $(DEBIAN_TEST_PACKAGES)

contracts: node_modules/.installed
	node scripts/build_contracts.mjs
