# emberline: `make run` sets up and runs the main job; `make test` sets up and runs the tests.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

# promptfoo's config schema, for the test that validates the promptfoo export (README: Eval suite).
PROMPTFOO_VERSION := 0.121.20
PROMPTFOO_DIR     := $(VENV)/promptfoo
PROMPTFOO_SCHEMA  := $(PROMPTFOO_DIR)/config-schema.json

.PHONY: help setup run test bench bench-quality bench-extraction dagster dashboard lint browser screenshots clean \
        promptfoo-schema

help:
	@echo "make run            set up, then run the main job on data/postmortems and print a summary"
	@echo "make test           set up, then run the test suite"
	@echo "make bench          speed and memory benchmarks (generated corpus), printed as tables"
	@echo "make bench-quality  theme quality against human-labelled incidents in ../shared/eval"
	@echo "make bench-extraction  causes, actions, eval gaps and dates read from real post-mortems (../shared/eval/realworld)"
	@echo "make dagster        Dagster UI and daemon on http://localhost:3000 (schedules and sensors tick)"
	@echo "make dashboard      Streamlit dashboard on http://localhost:8501"
	@echo "make lint           lint the post-mortem store"
	@echo "make screenshots    re-take docs/screenshots of every dashboard page in Chromium"
	@echo "make browser        install Debian's Chromium for the dashboard's end-to-end test (needs root)"
	@echo "make promptfoo-schema  promptfoo's config schema from the npm registry, for the promptfoo export's test"

# torch is installed first and pinned: here 2.13.0 resolves to a local CPU wheel, while an
# unpinned install pulls a CUDA build of several GB.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/emberline run

test: $(STAMP) $(PROMPTFOO_SCHEMA)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/run.py

bench-extraction: $(STAMP)
	$(BIN)/python bench/extraction.py

bench-quality: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/quality.py

dagster: $(STAMP)
	$(BIN)/python -c "from pipelines.runner import dagster_home; dagster_home()"  # creates it, telemetry off
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

dashboard: $(STAMP)
	$(BIN)/streamlit run dashboards/app.py --server.port 8501 --server.headless true --browser.gatherUsageStats false

lint: $(STAMP)
	$(BIN)/emberline lint

screenshots: $(STAMP)
	EMBERLINE_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest tests/dashboards/test_browser.py

# From the npm registry only: the promptfoo package (unpacked, not installed: its ~400
# dependencies are not needed) and the eleven small packages its schema module imports, then
# the schema printed from promptfoo's own zod definition (.ci/promptfoo/config-schema.mjs).
promptfoo-schema: $(PROMPTFOO_SCHEMA)

$(PROMPTFOO_SCHEMA): .ci/promptfoo/package.json .ci/promptfoo/config-schema.mjs
	command -v npm >/dev/null || (apt-get update && apt-get install -y --no-install-recommends nodejs npm)
	rm -rf $(PROMPTFOO_DIR) && mkdir -p $(PROMPTFOO_DIR)
	cp .ci/promptfoo/package.json $(PROMPTFOO_DIR)/
	cd $(PROMPTFOO_DIR) && npm install --ignore-scripts --omit=optional --no-audit --no-fund --no-package-lock --loglevel=error
	cd $(PROMPTFOO_DIR) && npm pack --silent promptfoo@$(PROMPTFOO_VERSION) >/dev/null \
		&& mkdir -p node_modules/promptfoo && tar xzf promptfoo-$(PROMPTFOO_VERSION).tgz -C node_modules/promptfoo --strip-components=1 \
		&& rm promptfoo-$(PROMPTFOO_VERSION).tgz
	PROMPTFOO_DISABLE_TELEMETRY=1 node .ci/promptfoo/config-schema.mjs $(PROMPTFOO_DIR)/node_modules/promptfoo > $@.tmp
	mv $@.tmp $@

browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)

clean:
	rm -rf data/build data/warehouse.duckdb data/reports data/exports bench/out
