"""The config loader: merge order, stage choice, and every error path naming file, key path and expectation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from emr_platform.config import ConfigError, deep_merge, json_schema, load_config


def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text()) or {}
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def problems(root: Path, stage: str = "local") -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(stage, root=root)
    return raised.value.problems


def test_every_stage_loads_and_local_runs_everything_locally():
    for stage in ("local", "dev", "prod"):
        config = load_config(stage)
        assert config.stage == stage
        assert {"data-engineering", "data-science", "analytics"} <= set(config.teams)
    local = load_config("local")
    assert local.execution.force_substrate == "local"
    assert not local.lake.is_s3 and Path(local.lake.root).is_absolute()
    assert load_config("prod").lake.root.startswith("s3://")


def test_stage_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("EMR_PLATFORM_STAGE", "dev")
    assert load_config().stage == "dev"
    monkeypatch.delenv("EMR_PLATFORM_STAGE")
    assert load_config().stage == "local"


def test_deep_merge_merges_mappings_and_replaces_everything_else():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    assert deep_merge(base, {"a": {"y": [3]}, "c": 2}) == {"a": {"x": 1, "y": [3]}, "b": 1, "c": 2}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}


def test_stage_file_overrides_config_yml_key_by_key(config_root):
    edit(config_root / "stages" / "prod.yml", lambda d: d.setdefault("teams", {}).update({"analytics": {"budget_usd": 42}}))
    config = load_config("prod", root=config_root)
    assert config.teams["analytics"].budget_usd == 42
    assert config.teams["analytics"].owners == ["analytics@example.com"]  # untouched keys survive


def test_wrong_type_in_stage_file_names_the_stage_file(config_root):
    edit(config_root / "stages" / "prod.yml", lambda d: d.setdefault("teams", {}).update({"analytics": {"budget_usd": "lots"}}))
    assert problems(config_root, "prod") == ["stages/prod.yml: teams.analytics.budget_usd: expected a number, got 'lots'"]


def test_wrong_type_in_config_yml_names_config_yml(config_root):
    edit(config_root / "config.yml", lambda d: d["job_sizes"]["small"].update({"max_executors": "many"}))
    assert problems(config_root) == ["config.yml: job_sizes.small.max_executors: expected an integer, got 'many'"]


def test_unknown_keys_are_errors(config_root):
    edit(config_root / "config.yml", lambda d: d["teams"]["analytics"].update({"budgets_usd": 3}))
    edit(config_root / "stages" / "local.yml", lambda d: d.update({"lakes": {}}))
    assert sorted(problems(config_root)) == [
        "config.yml: teams.analytics.budgets_usd: unknown key",
        "stages/local.yml: lakes: unknown key",
    ]


def test_missing_required_key(config_root):
    edit(config_root / "config.yml", lambda d: d["teams"]["analytics"].pop("owners"))
    assert problems(config_root) == ["config.yml: teams.analytics.owners: required key is missing"]


def test_enum_and_bounds(config_root):
    edit(config_root / "config.yml", lambda d: d["teams"]["analytics"].update({"substrate": "emr-on-eks", "budget_usd": -1}))
    found = problems(config_root)
    assert "config.yml: teams.analytics.substrate: expected one of 'local', 'emr-serverless' or 'emr-classic', got 'emr-on-eks'" in found
    assert "config.yml: teams.analytics.budget_usd: expected a number > 0, got -1" in found


def test_references_between_keys(config_root):
    def change(d):
        d["teams"]["analytics"]["job_size"] = "huge"
        d["teams"]["analytics"]["upstream_teams"] = ["marketing"]
        d["teams"]["Bad_Team"] = dict(d["teams"]["analytics"], upstream_teams=[])

    edit(config_root / "config.yml", change)
    found = problems(config_root)
    assert "config.yml: teams.analytics.job_size: expected one of ['large', 'medium', 'small'], got 'huge'" in found
    assert "config.yml: teams.analytics.upstream_teams.0: expected another declared team, got 'marketing'" in found
    assert any(p.startswith("config.yml: teams.Bad_Team: expected a team name") for p in found)


def test_emr_stages_need_their_sections_and_s3_roots(config_root):
    def change(d):
        d["teams"]["platform"] = dict(d["teams"]["analytics"], upstream_teams=[])
        del d["emr_classic"]

    edit(config_root / "config.yml", change)
    edit(config_root / "stages" / "dev.yml", lambda d: d["lake"].update({"logs_root": None}))
    found = problems(config_root, "dev")
    assert any(p.startswith("config.yml: teams.platform: expected another name") for p in found)
    assert "config.yml: emr_classic: expected a section (some assets run on emr-classic)" in found
    assert any(p.startswith("stages/dev.yml: lake.logs_root: expected an s3:// URI") for p in found)
    assert problems(config_root, "local") == [  # local runs nothing on EMR
        "config.yml: teams.platform: expected another name ('platform' is the platform's own code location and lake prefix)"
    ]


def test_asset_substrate_override_must_name_a_team_asset(config_root):
    edit(config_root / "stages" / "dev.yml", lambda d: d.update({"execution": {"asset_substrates": {"nobody/x/y": "local"}}}))
    assert problems(config_root, "dev") == [
        "stages/dev.yml: execution.asset_substrates.nobody/x/y: expected an asset key 'team/domain/table' of a declared team"
    ]


def test_unknown_stage_lists_the_known_ones(config_root):
    assert problems(config_root, "staging") == ["stages/staging.yml: no such stage (expected one of: dev, local, prod)"]


def test_yaml_syntax_error_names_file_and_line(config_root):
    (config_root / "stages" / "local.yml").write_text("lake:\n  root: [unclosed\n")
    [problem] = problems(config_root)
    assert problem.startswith("stages/local.yml: not valid YAML (line ")


def test_top_level_must_be_a_mapping(config_root):
    (config_root / "stages" / "local.yml").write_text("- a\n- b\n")
    assert problems(config_root) == ["stages/local.yml: expected a mapping at the top level, got list"]


def test_undeclared_team_lookup_names_the_declared_ones():
    with pytest.raises(ConfigError, match=r"teams.marketing: team is not declared \(declared: analytics, data-engineering, data-science\)"):
        load_config("local").team("marketing")


def test_json_schema_is_exported_and_matches_the_committed_file():
    schema = json_schema()
    assert "teams" in schema["properties"] and "stage" not in schema["properties"]
    assert schema["$defs"]["TeamSettings"]["additionalProperties"] is False
    committed = Path(__file__).resolve().parents[1] / "config.schema.json"
    assert json.loads(committed.read_text()) == schema, "regenerate: emr-platform config schema > config.schema.json"
