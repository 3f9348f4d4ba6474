# Two entry points (see README): `make demo` and `make test`. Both create .venv on first use and
# build the C accelerator for this machine in place (ingest/_native.abi3.so, never committed).
# Both also use a local single-node OpenSearch (scripts/opensearch_node.py: jars from Maven Central,
# needs Java 17+ and Maven; `make opensearch` runs one in the foreground on port 9200).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
NATIVE := ingest/_native.abi3.so
OPENSEARCH_PORT ?= 9200
# 1: the integration suite fails (instead of skipping) when no OpenSearch can be had. `make test
# INGEST_REQUIRE_OPENSEARCH=0` on a machine without Java runs the rest.
INGEST_REQUIRE_OPENSEARCH ?= 1

.PHONY: demo test opensearch clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# Rebuilt when the C source or the build script changes; abi3, so a new venv does not need a rebuild.
$(NATIVE): ingest/_native.c scripts/build_native.py | $(BIN)/.installed
	$(BIN)/python scripts/build_native.py

# Logs that end now (the dashboards' last 24 hours), as NDJSON bulk bodies; then, where Java and Maven
# are (or OPENSEARCH_URL is set), into a real OpenSearch, and the answers from real queries.
demo: $(BIN)/.installed $(NATIVE)
	rm -rf demo/logs demo/bulk demo/dead-letter
	$(BIN)/python scripts/generate_logs.py --out demo/logs --alb-lines 20000 --s3-lines 20000 --unparsable-lines 20
	$(BIN)/python -m ingest run demo/logs --out demo/bulk
	$(BIN)/python scripts/demo.py demo/logs

# INGEST_REQUIRE_NATIVE: the accelerator was just built, so tests/formats/test_native.py must not skip.
# INGEST_REQUIRE_OPENSEARCH: tests/integration starts the local node (or uses OPENSEARCH_URL) and must not skip.
test: $(BIN)/.installed $(NATIVE)
	INGEST_REQUIRE_NATIVE=1 INGEST_REQUIRE_OPENSEARCH=$(INGEST_REQUIRE_OPENSEARCH) $(BIN)/python -m pytest

# A local OpenSearch on 127.0.0.1:$(OPENSEARCH_PORT) until Ctrl-C (throw-away data unless DATA=folder).
opensearch: $(BIN)/.installed
	$(BIN)/python scripts/opensearch_node.py run --port $(OPENSEARCH_PORT) $(if $(DATA),--data $(DATA))

clean:
	rm -rf $(VENV) demo .pytest_cache build dist *.egg-info $(NATIVE) opensearch/node/target
