# The two quickstart targets: `make serve` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The capture service's recording proxy (mitmproxy) runs from its own venv: its pins
# (cryptography, h11) would downgrade the hub's (evidence/capture/recorder/process.py).
CAPTURE_VENV ?= .venv-capture
# pywb, the tests' independent replayer of capture packages, runs from its own venv too: it
# pins werkzeug, redis and fakeredis exactly (testkit/pywb_replay.py).
REPLAY_VENV ?= .venv-replay
# Debian packages: the CJK font PDF letters are set in (serve); the tests' independent
# judges of PDF letters: poppler-utils (pdfsig, pdftotext, pdftoppm), qpdf, zbar-tools
# (zbarimg reads the QR code), libnss3-tools (certutil, an NSS trust store for pdfsig);
# ffmpeg makes the capture test site's small video (testkit/capture_site.py) and, serving,
# a capture session's video (evidence/capture/video.py); chromium is the capture browser.
DEBS_SERVE := fonts-wqy-microhei ffmpeg chromium
DEBS_TEST := $(DEBS_SERVE) poppler-utils qpdf zbar-tools libnss3-tools

.PHONY: serve test debs-serve debs-test lint typecheck pytest bench contracts

serve: $(VENV)/.installed $(CAPTURE_VENV)/.installed debs-serve
	$(BIN)/notary-hub serve

test: $(VENV)/.installed-test $(CAPTURE_VENV)/.installed $(REPLAY_VENV)/.installed node_modules/.installed debs-test lint typecheck pytest

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

# mitmproxy 11.0.2 caps h11 at 0.14, which has CVE-2025-43859 in the chunked-body reader
# mitmproxy uses; h11 0.16 keeps the private readers it imports (the addon checks the version).
$(CAPTURE_VENV)/.installed: capture-requirements.txt
	$(PYTHON) -m venv $(CAPTURE_VENV)
	$(CAPTURE_VENV)/bin/pip install --quiet --upgrade pip
	$(CAPTURE_VENV)/bin/pip install --quiet -r capture-requirements.txt
	$(CAPTURE_VENV)/bin/pip install --quiet --no-deps 'h11>=0.16.0'
	touch $@

$(REPLAY_VENV)/.installed: replay-requirements.txt
	$(PYTHON) -m venv $(REPLAY_VENV)
	$(REPLAY_VENV)/bin/pip install --quiet --upgrade pip
	$(REPLAY_VENV)/bin/pip install --quiet -r replay-requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test $(CAPTURE_VENV)/.installed $(REPLAY_VENV)/.installed node_modules/.installed debs-test
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
	$(BIN)/python bench/oauth_side_by_side.py
	$(BIN)/python bench/draw_bench.py


contracts: node_modules/.installed
	node scripts/build_contracts.mjs
