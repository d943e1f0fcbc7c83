"""Shared fixtures. Every test runs in stage ``local`` unless it says otherwise."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from emr_platform.config import REPO_ROOT, PlatformConfig, load_config

os.environ.pop("EMR_PLATFORM_STAGE", None)


def copy_config(root: Path, workspace: bool = True) -> Path:
    """``root`` (created) holding copies of config.yml, stages/ and, unless told not to, workspace.yaml."""
    root.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "config.yml", root / "config.yml")
    shutil.copytree(REPO_ROOT / "stages", root / "stages")
    if workspace:
        shutil.copy(REPO_ROOT / "workspace.yaml", root / "workspace.yaml")
    return root


def copy_platform(root: Path) -> Path:
    """``root`` holding a copy of the platform's code (library, launchers, team packages) and its
    config, to import in a fresh interpreter with ``PYTHONPATH=root`` after editing the copy."""
    for name in ("jobkit", "emr_platform", "resources", "assets", "stages"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "config.yml", root / "config.yml")
    return root


@pytest.fixture
def config_root(tmp_path: Path) -> Path:
    """A writable copy of config.yml and stages/ to edit in a test."""
    return copy_config(tmp_path / "repo", workspace=False)


# The slowest test files, slowest first (as `make test`'s --durations shows them on 2 cores). `make
# test` runs `-n 3 --dist loadfile --no-loadscope-reorder`: each file whole on one worker, handed out
# in collection order, so the long files start first and no long file starts while the other workers
# are left with nothing to do (xdist's own order, most tests first, started them last).
SLOWEST_FILES = (
    "tests/test_pipeline_local.py",
    "tests/test_spark_connect.py",
    "tests/emr/test_classic.py",
    "tests/emr/test_pipeline_dev.py",
    "tests/test_dg.py",
    "tests/interactive/test_adhoc.py",
    "tests/emr/test_serverless.py",
    "tests/test_demo_workspace.py",
    "tests/emr/test_sql_assets.py",
    "tests/interactive/test_local_session.py",
    "tests/interactive/test_emr_session.py",
)


# `heavy` (pyproject.toml's markers): the tests that start a JVM (a Spark Connect server, Spark's SQL
# parser, a classic session, the EMR simulator's drivers) or a Dagster subprocess (a code server, a run
# worker, the `dagster` or `dg` command). `make test-fast` runs the others. A test is heavy if it uses
# one of HEAVY_FIXTURES (directly or through another fixture), lies in one of HEAVY_MODULES, or is one
# of HEAVY_TESTS (a module's test function, every parameter of it). A test in the fast run that starts
# a JVM or a Dagster subprocess anyway fails (`spawn_guard`), so a new one cannot land there unseen.
HEAVY_FIXTURES = frozenset({
    "connect_state",  # the tests' Spark Connect server (and spark_remote, emr, the interactive repo)
})
HEAVY_MODULES = (
    "tests/test_spark_connect.py",  # the server's life cycle
    "tests/test_dg.py",  # dagster definitions validate, dg check, dg list
    "tests/test_config_in_dagster.py",  # dagster definitions validate
)
HEAVY_TESTS = (
    "tests/test_components.py::test_sql_is_checked_by_sparks_parser_under_dg_check_defs",  # the parser's JVM
    "tests/test_components.py::test_the_parsers_jvm_compiles_with_c1_alone_and_one_gc_thread",
    "tests/cli/test_asset_new.py::test_asset_new_sql_writes_a_defs_yaml_dg_accepts_and_the_location_loads",  # dg
    "tests/cli/test_console_script.py::test_new_location_passes_dagster_definitions_validate",
    "tests/test_java_and_lake.py::test_java_25_is_refused_before_spark_starts_on_it",  # its `java -version`
)


def is_heavy(item) -> bool:
    path, _, name = item.nodeid.partition("::")
    return (
        bool(HEAVY_FIXTURES.intersection(getattr(item, "fixturenames", ())))
        or path.startswith(HEAVY_MODULES)
        or f"{path}::{name.split('[')[0]}" in HEAVY_TESTS
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if is_heavy(item):
            item.add_marker(pytest.mark.heavy)
    rank = {path: i for i, path in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest as collected


def guarding(config) -> bool:
    """Whether this run leaves the heavy tests out (``-m "not heavy"``, as `make test-fast` does)."""
    return "not heavy" in (config.option.markexpr or "")


# The guard of the fast run. A JVM is seen through JAVA_HOME: `java -version` (emr_platform/java.py) and
# Spark's launch scripts (spark-submit, pyspark's gateway) run $JAVA_HOME/bin/java, here a script that
# notes the test (PYTEST_CURRENT_TEST, which child processes inherit) and runs the real java, so
# child processes of a test are seen too. A Dagster subprocess is seen through Python's audit hook on
# subprocess.Popen in the test's own process.
DAGSTER_COMMANDS = frozenset({"dagster", "dg", "dagster-webserver", "dagster-daemon"})


def _dagster_command(args) -> bool:
    args = [os.fsdecode(a) for a in args] if isinstance(args, (list, tuple)) else [os.fsdecode(args)]
    if not args:
        return False
    if os.path.basename(args[0]) in DAGSTER_COMMANDS:
        return True
    # python -m dagster ... (code servers, run workers), python -m dagster_dg_cli ...
    return any(a == "-m" and b.split(".")[0] in {"dagster", "dagster_dg_cli"} for a, b in zip(args, args[1:]))


def pytest_configure(config):
    if not guarding(config):
        return
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist): workers inherit its environment
        java = shutil.which("java", path=os.path.join(os.environ["JAVA_HOME"], "bin")) if os.environ.get("JAVA_HOME") else None
        java = java or shutil.which("java")
        home = Path(tempfile.mkdtemp(prefix="java-guard-"))
        config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))
        (home / "bin").mkdir()
        log = home / "started.log"
        log.touch()
        shim = home / "bin" / "java"
        shim.write_text(f'#!/bin/sh\necho "${{PYTEST_CURRENT_TEST:-?}}" >> "{log}"\nexec "{java}" "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        os.environ["JAVA_HOME"] = str(home)
        os.environ["EMR_PLATFORM_TESTS_JAVA_LOG"] = str(log)

    def audit(event, args):
        if event == "subprocess.Popen" and _dagster_command(args[1]):
            config.stash.setdefault(_DAGSTER_SPAWNS, []).append(os.environ.get("PYTEST_CURRENT_TEST", "?"))

    sys.addaudithook(audit)


_DAGSTER_SPAWNS = pytest.StashKey[list]()


@pytest.fixture(autouse=True)
def spawn_guard(request):
    """In the fast run, fail a test that started a JVM or a Dagster subprocess: mark it heavy
    (HEAVY_FIXTURES, HEAVY_MODULES or HEAVY_TESTS above)."""
    if not guarding(request.config):
        yield
        return
    yield
    nodeid = request.node.nodeid
    log = Path(os.environ["EMR_PLATFORM_TESTS_JAVA_LOG"])
    jvms = [line for line in log.read_text().splitlines() if line.startswith(nodeid + " ")]
    spawned = [who for who in request.config.stash.get(_DAGSTER_SPAWNS, []) if who.startswith(nodeid + " ")]
    if jvms or spawned:
        what = " and ".join(w for w, seen in (("a JVM", jvms), ("a Dagster subprocess", spawned)) if seen)
        pytest.fail(f"{nodeid} started {what} in the fast run: mark it heavy in tests/conftest.py", pytrace=False)


# What the tests' Spark Connect server (``connect_state``) is started with, over stage local's settings: every
# user of its state dir leases it with these (a lease with other settings restarts the server once
# it is unused). No class-data-sharing archive: each test session starts its server in a fresh state
# dir, where recording one only costs (the JVM writes it at exit) and nothing would map it;
# tests/test_spark_connect.py tests the archive. C1 alone compiles for these servers (and the classic
# sessions of local_config): a JVM that lives for one test session spends less CPU compiling than
# C2's code would save it (the suite's measurements: benchmarks/README.md).
C1_ALONE = "-XX:TieredStopAtLevel=1"  # the JIT option of every short-lived JVM the tests start
SHARED_SERVER = {"class_data_sharing": False, "java_options": C1_ALONE}


def local_config(lake_root: Path, connect_state: Path | None = None, mode: str = "connect", **sources: str) -> PlatformConfig:
    """Stage ``local`` with its lake (and optionally sources and the tests' shared Spark Connect
    server, :data:`SHARED_SERVER`) in test directories."""
    config = load_config("local")
    local_spark = {"mode": mode, **SHARED_SERVER} | ({"state_dir": str(connect_state)} if connect_state else {})
    return config.model_copy(
        update={
            "lake": config.lake.model_copy(update={"root": str(lake_root)}),
            "sources": {**config.sources, **sources},
            "local_spark": config.local_spark.model_copy(update=local_spark),
        }
    )


def shared_server(connect_state: Path):
    """The server of ``connect_state`` with the settings of :func:`local_config`, which every user
    of that state dir must lease it with: a lease with other settings restarts the server."""
    from resources.spark_connect import local_server

    return local_server(local_config(connect_state / "lake", connect_state).local_spark)


@pytest.fixture(scope="session")
def connect_state(tmp_path_factory) -> Path:
    """State dir of the Spark Connect server shared by the tests of a session (of one
    pytest-xdist worker), stopped at the end.

    One server for every worker instead (in the controller's base temp dir, stopped by the
    controller) saved CPU but not wall time: the workers' jobs queue on the one JVM
    (benchmarks/README.md)."""
    from resources.spark_connect import SparkConnectServer

    state = tmp_path_factory.mktemp("spark-connect")
    yield state
    SparkConnectServer(state).stop()


def team_locations(config: PlatformConfig, teams=None) -> dict:
    """The team code locations rebuilt on ``config``: ``{team: Definitions}``."""
    import importlib

    from assets.catalog import declared_specs
    from assets.lib.factory import team_definitions

    teams = teams or list(config.teams)
    locations = {}
    for team in teams:
        module = importlib.import_module(f"assets.{team.replace('-', '_')}")
        locations[team] = team_definitions(
            team, module.SPECS, Path(module.__file__).parent, config=config,
            declared_specs=declared_specs, package=module.__name__,
        )
    return locations


def on_aws_call(monkeypatch, service: str, operation: str, handler) -> None:
    """Call ``handler(parsed=<the response>, **kwargs)`` after each ``operation`` (e.g.
    ``DescribeStep``) of every ``service`` client a ``boto3.session.Session`` makes from now on,
    through botocore's ``after-call`` event: a test's way to act between a real response and the
    code that reads it."""
    import boto3

    make_client = boto3.session.Session.client

    def client(self, service_name, *args, **kwargs):
        made = make_client(self, service_name, *args, **kwargs)
        if service_name == service:
            made.meta.events.register(f"after-call.{service}.{operation}", handler)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server() -> str:
    """Endpoint of moto run as a real HTTP server on 127.0.0.1 in this process (``ThreadedMotoServer``)."""
    from moto.server import ThreadedMotoServer

    from tests.emr import sessions

    sessions.install()  # EMR Serverless Spark Connect sessions, which moto lacks
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server: str, monkeypatch) -> str:
    """An empty moto account with boto3 pointed at it; emptied again after the test.

    moto's backends are process-wide, so every test starts from, and leaves, an empty account.
    """
    reset = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_server,
    }.items():
        monkeypatch.setenv(name, value)
    yield moto_server
    urllib.request.urlopen(reset, timeout=10)
