# The two quickstart targets: `make serve` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Debian packages: the CJK font PDF letters are set in (serve); the tests' independent
# judges of PDF letters: poppler-utils (pdfsig, pdftotext, pdftoppm), qpdf, zbar-tools
# (zbarimg reads the QR code), libnss3-tools (certutil, an NSS trust store for pdfsig).
DEBS_SERVE := fonts-wqy-microhei
DEBS_TEST := $(DEBS_SERVE) poppler-utils qpdf zbar-tools libnss3-tools chromium

.PHONY: serve test debs-serve debs-test lint typecheck pytest bench contracts

serve: $(VENV)/.installed debs-serve
	$(BIN)/notary-hub serve

test: $(VENV)/.installed-test node_modules/.installed debs-test lint typecheck pytest

debs-serve:
	sh scripts/install_debs.sh $(DEBS_SERVE)

debs-test:
	sh scripts/install_debs.sh $(DEBS_TEST)

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

pytest: $(VENV)/.installed-test node_modules/.installed debs-test
	$(BIN)/pytest -n 2 -q

bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/merkle_bench.py
	$(BIN)/python bench/anchoring_bench.py
	$(BIN)/python bench/did_resolution_bench.py
	$(BIN)/python bench/canonicalization_bench.py
	$(BIN)/python bench/credentials_bench.py
	$(BIN)/python bench/presentations_bench.py
	$(BIN)/python bench/blob_store_bench.py
	$(BIN)/python bench/deposit_bench.py
	$(BIN)/python bench/upload_bench.py
	$(BIN)/python bench/signin_bench.py


contracts: node_modules/.installed
	node scripts/build_contracts.mjs
