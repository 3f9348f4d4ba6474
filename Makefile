# Two entry points (see README): `make demo` and `make test`. Both create .venv on first use and
# build the C accelerator for this machine in place (ingest/_native.abi3.so, never committed).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
NATIVE := ingest/_native.abi3.so

.PHONY: demo test clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# Rebuilt when the C source or the build script changes; abi3, so a new venv does not need a rebuild.
$(NATIVE): ingest/_native.c scripts/build_native.py | $(BIN)/.installed
	$(BIN)/python scripts/build_native.py

demo: $(BIN)/.installed $(NATIVE)
	$(BIN)/python scripts/generate_logs.py --out demo/logs --alb-lines 20000 --s3-lines 20000
	$(BIN)/python -m ingest run demo/logs --out demo/bulk

# INGEST_REQUIRE_NATIVE: the accelerator was just built, so tests/formats/test_native.py must not skip.
test: $(BIN)/.installed $(NATIVE)
	INGEST_REQUIRE_NATIVE=1 $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) demo .pytest_cache build dist *.egg-info $(NATIVE)
