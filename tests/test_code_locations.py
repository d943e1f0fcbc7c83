"""Every code location in workspace.yaml loads, with the keys, owners, kinds, tags and deps the factory promises."""

from __future__ import annotations

import dagster as dg
import pytest

from emr_platform.config import ConfigError, load_config
from apps.workspace import dependency_order, load_locations
from emr_platform.workspace import workspace_locations
from emr_platform import substrates
from assets.lib.factory import team_definitions
from emr_platform.spec import SparkAsset

TEAM_ASSETS = {
    "data-engineering": {
        "data-engineering/raw/flights",
        "data-engineering/raw/weather",
        "data-engineering/raw/airports",
        "data-engineering/raw/planes",
        "data-engineering/raw/airlines",
        "data-engineering/core/flights_clean",
        "data-engineering/core/route_delays_daily",
    },
    "data-science": {"data-science/features/flight_weather", "data-science/models/delay_model"},
    "analytics": {"analytics/performance/carrier_monthly"},
}


@pytest.fixture(scope="module")
def locations() -> dict[str, dg.Definitions]:
    return load_locations()


def own_specs(defs: dg.Definitions) -> dict[str, dg.AssetSpec]:
    graph = defs.resolve_asset_graph()
    return {
        key.to_user_string(): graph.get(key)
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable
    }


def test_workspace_lists_one_location_per_declared_team():
    names = workspace_locations()
    assert set(load_config("local").teams) <= set(names)
    for team in load_config("local").teams:
        assert names[team] == f"assets.{team.replace('-', '_')}"


@pytest.mark.parametrize("team", sorted(TEAM_ASSETS))
def test_team_location_assets_follow_platform_policy(locations, team):
    assets = own_specs(locations[team])
    assert set(assets) == TEAM_ASSETS[team]
    for name, node in assets.items():
        domain = name.split("/")[1]
        assert node.key.path[0] == team and len(node.key.path) == 3
        assert node.group_name == f"{team}_{domain}".replace("-", "_")  # the team shows in the lineage
        assert f"team:{team}" in node.owners
        assert set(node.kinds) == {"spark", "local"}  # stage local forces local Spark
        assert {k: node.tags[k] for k in ("team", "substrate", "stage")} == {"team": team, "substrate": "local", "stage": "local"}
        assert node.check_keys, f"{name} has no asset checks"
        assert locations[team].resolve_job_def("all_assets")


def test_dependencies_cross_code_locations(locations):
    graph = locations["analytics"].resolve_asset_graph()
    deps = {k.to_user_string() for k in graph.get(dg.AssetKey(["analytics", "performance", "carrier_monthly"])).parent_keys}
    assert deps == {"data-engineering/core/flights_clean", "data-engineering/raw/airlines"}
    graph = locations["data-science"].resolve_asset_graph()
    deps = {k.to_user_string() for k in graph.get(dg.AssetKey(["data-science", "features", "flight_weather"])).parent_keys}
    assert deps == {"data-engineering/core/flights_clean", "data-engineering/raw/weather"}
    order = dependency_order({t: locations[t] for t in TEAM_ASSETS})
    assert order.index("data-engineering") < order.index("data-science")
    assert order.index("data-engineering") < order.index("analytics")


def test_dev_stage_puts_assets_on_their_declared_substrates():
    import assets.analytics as analytics
    import assets.data_engineering as data_engineering

    config = load_config("dev")
    for team, module in (("data-engineering", data_engineering), ("analytics", analytics)):
        defs = team_definitions(
            team, module.SPECS, module.__file__.rsplit("/", 1)[0], config=config, package=module.__name__
        )
        substrate = config.teams[team].substrate
        for node in own_specs(defs).values():
            assert node.tags["substrate"] == substrate
            assert node.tags["stage"] == "dev"
            assert set(node.kinds) == {"spark", substrate}
        launcher = defs.resources[substrates.get(substrate).resource_key]
        assert launcher.substrate == substrate


def test_a_location_for_an_undeclared_team_refuses_to_load(tmp_path):
    (tmp_path / "job.py").write_text("")
    spec = SparkAsset(domain="d", table="t", script="job.py", description="x")
    with pytest.raises(ConfigError, match="teams.marketing: team is not declared"):
        team_definitions("marketing", [spec], tmp_path)


def test_a_missing_job_script_is_named(tmp_path):
    spec = SparkAsset(domain="d", table="t", script="nope.py", description="x")
    with pytest.raises(FileNotFoundError, match="analytics/d/t: job script .*nope.py not found"):
        team_definitions("analytics", [spec], tmp_path)


def test_no_location_has_a_default_group_and_references_keep_their_owners_group(locations):
    # Dagster puts assets a location only references into a "default" group; the factory declares
    # them in their owning team's group, with that team as owner.
    for name, defs in locations.items():
        graph = defs.resolve_asset_graph()
        groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
        assert "default" not in groups, name
    graph = locations["analytics"].resolve_asset_graph()
    reference = graph.get(dg.AssetKey(["data-engineering", "core", "flights_clean"]))
    assert not reference.is_materializable
    assert reference.group_name == "data_engineering_core"
    assert "team:data-engineering" in reference.owners


def test_descriptions_survive_markdown(locations):
    # The UI renders descriptions as markdown, where a bare <month> is an HTML tag and disappears.
    import re

    for name, defs in locations.items():
        graph = defs.resolve_asset_graph()
        for key in graph.get_all_asset_keys():
            description = graph.get(key).description or ""
            outside_code = re.sub(r"`[^`]*`", "", description)
            assert not re.search(r"<[A-Za-z][^>]*>", outside_code), f"{name}: {key.to_user_string()}: {description}"
