# Two entry points (see README): `make demo` and `make test`. Both create .venv on first use.
# `make demo` installs only what the product runs on (about 70 MB); `make test` adds the test and
# build tools (pytest, moto, cfn-lint, zig for the Lambda cross-build: about 650 MB more).
# The C accelerator is built in place for this machine (ingest/_native.abi3.so, never committed).
# Both also use a local single-node OpenSearch (scripts/opensearch_node.py: jars from Maven Central,
# needs Java 17+ and Maven; `make opensearch` runs one in the foreground on port 9200).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
NATIVE := ingest/_native.abi3.so
PIP    := $(BIN)/pip install --disable-pip-version-check --progress-bar off
OPENSEARCH_PORT ?= 9200
# 1: the integration suite fails (instead of skipping) when no OpenSearch can be had. `make test
# INGEST_REQUIRE_OPENSEARCH=0` on a machine without Java runs the rest.
INGEST_REQUIRE_OPENSEARCH ?= 1

.PHONY: demo test opensearch clean

$(BIN)/.runtime: pyproject.toml
	@echo "make: creating $(VENV) with the runtime dependencies (about 30 s, 70 MB) ..."
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(BIN)/.installed: pyproject.toml $(BIN)/.runtime
	@echo "make: installing the test and build tools into $(VENV) (about 2 min the first time, 650 MB) ..."
	$(PIP) -e '.[dev]'
	touch $@

# Rebuilt when the C source or the build script changes; abi3, so a new venv does not need a rebuild.
# Host cc, or zig from the dev tools when there is no cc. For the demo it is optional: without a C
# compiler the demo runs on the pure-Python path (same documents, about 3x slower).
$(NATIVE): ingest/_native.c scripts/build_native.py | $(BIN)/.runtime
	$(BIN)/python scripts/build_native.py $(if $(NATIVE_OPTIONAL),|| echo "make: no C compiler here: running without the C accelerator")

# Logs that end now (the dashboards' last 24 hours), as NDJSON bulk bodies; then, where Java and Maven
# are (or OPENSEARCH_URL is set), into a real OpenSearch, and the answers from real queries.
demo: NATIVE_OPTIONAL := 1
demo: $(BIN)/.runtime $(NATIVE)
	rm -rf demo/logs demo/bulk demo/dead-letter
	$(BIN)/python scripts/generate_logs.py --out demo/logs --alb-lines 20000 --s3-lines 20000 --unparsable-lines 20
	$(BIN)/python -m ingest run demo/logs --out demo/bulk
	$(BIN)/python scripts/demo.py demo/logs

# INGEST_REQUIRE_NATIVE: the accelerator was just built, so tests/formats/test_native.py must not skip.
# INGEST_REQUIRE_OPENSEARCH: tests/integration starts the local node (or uses OPENSEARCH_URL) and must not skip.
test: $(BIN)/.installed $(NATIVE)
	INGEST_REQUIRE_NATIVE=1 INGEST_REQUIRE_OPENSEARCH=$(INGEST_REQUIRE_OPENSEARCH) $(BIN)/python -m pytest

# A local OpenSearch on 127.0.0.1:$(OPENSEARCH_PORT) until Ctrl-C (throw-away data unless DATA=folder).
opensearch: $(BIN)/.runtime
	$(BIN)/python scripts/opensearch_node.py run --port $(OPENSEARCH_PORT) $(if $(DATA),--data $(DATA))

# Mutation testing (scripts/mutation.py, mutmut): each core module against its own tests, a score per
# module; not part of `make test`. All core modules (about an hour on 2 cores), or one (10 s to 4 min;
# pipeline 11 and shipper 30 min at --jobs 1): `make mutation MODULE=ingest/events.py`.
MODULE ?=
.PHONY: mutation
mutation: $(BIN)/.installed $(NATIVE)
	$(BIN)/python scripts/mutation.py $(MODULE)

clean:
	rm -rf $(VENV) demo .pytest_cache build dist *.egg-info $(NATIVE) opensearch/node/target
