# Two set-up commands: `make demo` (the platform's main job) and `make test` (the test suite).
# Both create or reuse .venv and install exactly the pinned versions in constraints.txt.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: install demo demo-year test ui bench bench-emr bench-backfill clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,infra]"
	@touch $(STAMP)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml:
	@mkdir -p $(DAGSTER_HOME) && printf 'telemetry:\n  enabled: false\n' > $@

demo: install $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m emr_platform.apps.demo

demo-year: install $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m emr_platform.apps.demo --all

test: install
	$(PY) -m pytest -q

ui: install $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -w workspace.yaml

bench: install
	$(PY) benchmarks/local_pipeline.py

bench-emr: install
	$(PY) benchmarks/emr_launch_overhead.py

bench-backfill: install
	$(PY) benchmarks/backfill.py

clean:
	rm -rf .lake .dagster_home .spark
