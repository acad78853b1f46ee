# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# make run keeps the server's state across restarts and crashes in ./snapshots
# (images plus a journal fsynced every second); RUN_FLAGS= starts it in memory only.
RUN_FLAGS ?= --snapshot-dir snapshots --journal everysec

.PHONY: run test cluster

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(PY) run_server.py $(RUN_FLAGS)

# Four workers on two cores: the suite mostly waits on real servers, browsers and
# kill -9s, not on the CPU (about 5 m 45 s here, against 8 m with two workers and
# 15 serially); worksteal hands a worker that ran dry the tests another still holds,
# so no long test is left alone at the end. TEST_FLAGS=-n0 runs it in one process.
TEST_FLAGS ?= -n 4 --dist worksteal
test: $(VENV)/.installed-test
	$(PY) -m pytest $(TEST_FLAGS)

# A local cluster (docs/scaling.md): Redis, SHARDS shards and HAProxy on 127.0.0.1,
# folders in ./cluster/; installs Debian's haproxy and redis-server where missing.
SHARDS ?= 2
cluster: $(VENV)/.installed
	@command -v haproxy >/dev/null && command -v redis-server >/dev/null || { \
	    if [ "$$(id -u)" = 0 ]; then S=; else S=sudo; fi; \
	    $$S apt-get update -qq && $$S apt-get install -y -qq haproxy redis-server; }
	$(PY) run_cluster.py --shards $(SHARDS)
