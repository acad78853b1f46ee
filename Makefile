# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# make run keeps the server's state across restarts and crashes in ./snapshots
# (images plus a journal fsynced every second); RUN_FLAGS= starts it in memory only.
RUN_FLAGS ?= --snapshot-dir snapshots --journal everysec

.PHONY: run test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(PY) run_server.py $(RUN_FLAGS)

test: $(VENV)/.installed-test
	$(PY) -m pytest
