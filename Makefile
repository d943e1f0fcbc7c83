# Two set-up commands: `make demo` (the platform's main job) and `make test` (the test suite).
# Both create or reuse .venv and install exactly the versions pinned in requirements.lock,
# with uv. `make lock` rewrites that lock from pyproject.toml (docs/configuration.md, "Dependencies").
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3
export DAGSTER_HOME := $(CURDIR)/.dagster_home

# uv: the one on PATH if it is 0.13 or newer, else this release installed from PyPI into
# .tools/ (git-ignored), outside .venv, which `uv pip sync` empties of whatever the lock lacks.
UV_VERSION := 0.13.9
UV_HOME := .tools/uv-$(UV_VERSION)
ifndef UV
UV := $(shell uv --version 2>/dev/null | awk '{ split($$2, v, "."); if (v[1] > 0 || v[2] >= 13) print "uv" }')
UV := $(or $(UV),$(UV_HOME)/bin/uv)
endif
NEED_UV := $(filter $(UV_HOME)/bin/uv,$(UV))

# The one resolution of pyproject.toml's dependencies and extras, for every platform.
LOCK_FLAGS := --extra test --extra infra --universal --python-version 3.11 --generate-hashes
UPGRADE ?=
UPGRADE_FLAGS = $(if $(filter all,$(UPGRADE)),--upgrade,$(addprefix --upgrade-package ,$(UPGRADE)))

# The JVM jars local Spark runs with beside pyspark's (jvm/pom.xml; emr_platform/jars.py), resolved with
# this machine's Maven settings into .jars/ (git-ignored) and checked against jvm/jars.sha256. A jar
# missing or changed since the check (newer than .verified) resolves them all again.
JARS := .jars
JARS_STAMP := $(JARS)/.verified
JAR_FILES := $(addprefix $(JARS)/,$(shell awk '{ print $$2 }' jvm/jars.sha256))
MVN ?= mvn

.PHONY: install jars lock demo demo-year test test-fast ui bench bench-emr bench-backfill bench-session clean

# With the interpreter's pip if it has one that installs, else in a venv of its own.
$(UV_HOME)/bin/uv:
	@rm -rf $(UV_HOME)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target $(UV_HOME) uv==$(UV_VERSION) \
	  || { rm -rf $(UV_HOME) && $(PYTHON) -m venv $(UV_HOME) \
	       && $(UV_HOME)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); }

# A venv of its own (never the system site-packages), synced to the lock: packages the lock
# lacks are removed (uv leaves pip and setuptools). pyspark is only an sdist on PyPI: its wheel is
# built with the jars stored, not deflated (the same files, built faster). Every installed module is
# compiled to bytecode once here: uv does not by default, and where PYTHONDONTWRITEBYTECODE is set
# Python never caches it, so each job script and dagster process would compile pyspark, pandas and
# dagster from source again (benchmarks/README.md). Then the project itself, editable, and a check,
# from what is installed alone, that the lock satisfies pyproject.toml with its extras.
$(STAMP): pyproject.toml requirements.lock | $(NEED_UV)
	@test -x $(PY) || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(PY) \
	  --config-settings-package pyspark:--build-option=--compression=stored requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@$(UV) pip install --quiet --python $(PY) --dry-run --no-index -e ".[test,infra]" \
	  || { echo "requirements.lock does not satisfy pyproject.toml: run make lock" >&2; exit 1; }
	@touch $(STAMP)

$(JAR_FILES): ;

$(JARS_STAMP): jvm/pom.xml jvm/jars.sha256 $(JAR_FILES)
	@rm -rf $(JARS) && mkdir -p $(JARS)
	$(MVN) --quiet --batch-mode --strict-checksums -Dstyle.color=never -f jvm/pom.xml \
	  dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/$(JARS)
	@cd $(JARS) && sha256sum --check --quiet --strict ../jvm/jars.sha256 \
	  || { echo "a jar Maven resolved does not match jvm/jars.sha256" >&2; exit 1; }
	@test "$$(ls $(JARS)/*.jar | wc -l)" -eq "$$(wc -l < jvm/jars.sha256)" \
	  || { echo "jvm/pom.xml resolves jars jvm/jars.sha256 does not list" >&2; exit 1; }
	@touch $@

jars: $(JARS_STAMP)

install: $(STAMP) $(JARS_STAMP)

# `make lock` after editing pyproject.toml's dependencies keeps every other pin;
# `make lock UPGRADE="dagster dagster-aws"` upgrades those within pyproject.toml's ranges,
# `make lock UPGRADE=all` everything.
lock: | $(NEED_UV)
	$(UV) pip compile pyproject.toml $(LOCK_FLAGS) $(UPGRADE_FLAGS) --custom-compile-command "make lock" --quiet -o requirements.lock

$(DAGSTER_HOME)/dagster.yaml:
	@mkdir -p $(DAGSTER_HOME) && printf 'telemetry:\n  enabled: false\n' > $@

demo: install $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m apps.demo

demo-year: install $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m apps.demo --all

# The whole suite, what CI runs (.ci/run). Three pytest-xdist workers on 2 cores (the tests wait on
# JVMs, subprocesses and polls a good part of the time; two workers were no faster:
# benchmarks/README.md), each test file whole on one worker (its module fixtures built once), the
# slowest files first (tests/conftest.py, SLOWEST_FILES); it ends with the 25 slowest tests.
test: install
	$(PY) -m pytest -q -n 3 --dist loadfile --no-loadscope-reorder --durations=25

# Every test that starts no JVM and no Dagster subprocess: tests/conftest.py marks those `heavy`, and
# a test of this run that starts one anyway fails, naming itself. A quick check, not a substitute
# for `make test`.
test-fast: install
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not heavy" --durations=10

ui: install $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -w workspace.yaml

bench: install
	$(PY) benchmarks/local_pipeline.py $(ARGS)

bench-emr: install
	$(PY) benchmarks/emr_launch_overhead.py

bench-backfill: install
	$(PY) benchmarks/backfill.py

bench-session: install
	$(PY) benchmarks/interactive_session.py

clean:
	rm -rf .lake .dagster_home .spark $(JARS)
