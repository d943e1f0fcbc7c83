"""The config loader: merge order, stage choice, and every error path naming file, key path and expectation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from emr_platform.config import ConfigError, deep_merge, json_schema, load_config
from emr_platform.yaml_safety import load_yaml_lines


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


# Issue 12 §2: every bad file gets a clear error naming the file ------------------------------


def raised_error(root: Path, stage: str = "local") -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        load_config(stage, root=root)
    return raised.value


def line_of(text: str, line: str, nth: int = 0) -> int:
    """1-based number of the ``nth`` line of ``text`` equal to ``line``."""
    return [i + 1 for i, current in enumerate(text.splitlines()) if current == line][nth]


def test_non_utf8_byte_names_the_file_line_and_byte(config_root):
    path = config_root / "config.yml"
    text = path.read_text()
    line = line_of(text, "    description: Carrier performance reporting.")
    path.write_bytes(text.replace("Carrier performance", "Carrier \xe9 performance").encode("latin-1"))
    error = raised_error(config_root)
    assert error.problems == [f"config.yml: line {line}, column 26: expected UTF-8 text, got byte 0xe9"]
    assert error.__context__ is None and error.__cause__ is None


def alias_bomb(levels: int) -> str:
    """Anchors a0..a<levels>, each a list of ten aliases of the previous: 10**levels strings expanded."""
    lines = ["x-anchors:", "  a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"  a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    return "\n".join(lines) + f"\ncost:\n  budget_thresholds: *a{levels}\n"


def test_alias_bomb_in_a_stage_file_is_refused_before_expansion(config_root):
    (config_root / "stages" / "dev.yml").write_text(alias_bomb(6))
    error = raised_error(config_root, "dev")
    assert error.problems == [
        "stages/dev.yml: expected at most 10000 values with aliases expanded, got more (an alias bomb?)"
    ]
    # Dagster serializes the whole exception chain: nothing in it may reach the document.
    assert error.__context__ is None and error.__cause__ is None


def test_recursive_alias_is_refused(config_root):
    (config_root / "stages" / "local.yml").write_text("x-loop: &loop [1, *loop]\n")
    assert problems(config_root) == ["stages/local.yml: expected no alias inside its own anchor, got a recursive alias"]


def test_aliases_and_merge_keys_within_the_bound_still_load(config_root):
    (config_root / "stages" / "dev.yml").write_text(
        (config_root / "stages" / "dev.yml").read_text()
        + "job_sizes:\n"
        + "  medium: &medium {driver_cores: 2, driver_memory_gb: 8, executor_cores: 2, executor_memory_gb: 8}\n"
        + "  large: {<<: *medium, max_executors: 40}\n"
    )
    large = load_config("dev", root=config_root).job_sizes["large"]
    assert (large.driver_memory_gb, large.max_executors) == (8, 40)


def test_validation_errors_keep_no_reference_to_the_document(config_root):
    """A pydantic ValidationError holds every input; as the ConfigError's __context__ Dagster would render it."""
    edit(config_root / "config.yml", lambda d: d["teams"]["analytics"].update({"budget_usd": ["lots"] * 1000}))
    error = raised_error(config_root)
    assert error.__context__ is None and error.__cause__ is None
    [problem] = error.problems
    assert problem.startswith("config.yml: teams.analytics.budget_usd: expected a number, got ['lots', ")
    assert len(problem) < 200


def test_yaml_syntax_error_keeps_no_reference_to_the_parser(config_root):
    (config_root / "stages" / "local.yml").write_text("lake:\n  root: [unclosed\n")
    error = raised_error(config_root)
    assert error.__context__ is None and error.__cause__ is None


def test_control_character_is_one_line_naming_file_and_line(config_root):
    (config_root / "stages" / "local.yml").write_text("lake:\n  root: a\x00b\n")
    assert problems(config_root) == [
        "stages/local.yml: not valid YAML (line 2, column 10): unacceptable character #x0000"
    ]


@pytest.mark.parametrize("stage", ["../config", "LOCAL", "local/../dev", "dev\n", "a" * 21])
def test_stage_names_must_match_the_pattern(config_root, stage):
    (config_root / "stages" / ("a" * 21 + ".yml")).write_text("")
    assert problems(config_root, stage) == [
        f"stages/<stage>.yml: stage: expected a name matching ^[a-z][a-z0-9-]{{0,19}}$, got {stage!r}"
    ]


def test_stage_from_the_environment_is_checked_too(config_root, monkeypatch):
    monkeypatch.setenv("EMR_PLATFORM_STAGE", "../config")
    with pytest.raises(ConfigError, match=r"stage: expected a name matching"):
        load_config(root=config_root)


def test_stage_file_must_resolve_inside_stages(config_root):
    (config_root / "stages" / "escape.yml").symlink_to(config_root / "config.yml")
    assert problems(config_root, "escape") == [
        f"stages/escape.yml: expected a file inside stages/, got a link to {(config_root / 'config.yml').resolve()}"
    ]


def test_duplicate_top_level_key_names_both_lines(config_root):
    path = config_root / "config.yml"
    text = path.read_text()
    path.write_text(text + "\nteams:\n  analytics: {owners: [a@example.com], substrate: local, job_size: small, budget_usd: 1}\n")
    second = line_of(path.read_text(), "teams:", 1)
    assert problems(config_root) == [
        f"config.yml: teams: expected each key once, got it twice (lines {line_of(text, 'teams:')} and {second})"
    ]


def test_duplicate_nested_keys_are_refused_at_any_depth(config_root):
    (config_root / "stages" / "local.yml").write_text(
        "local_spark:\n  cores: 2\n  cores: 4\ncost:\n  budget_thresholds: [{a: 1, a: 2}]\n"
    )
    assert problems(config_root) == [
        "stages/local.yml: local_spark.cores: expected each key once, got it twice (lines 2 and 3)",
        "stages/local.yml: cost.budget_thresholds.0.a: expected each key once, got it twice (lines 5 and 5)",
    ]


def test_typo_inside_a_list_of_a_stage_file_names_the_stage_file(config_root):
    def change(d):
        d["emr_classic"] = {"profiles": {"default": {"instance_groups": [
            {"role": "MASTER", "instance_type": "m5.xlarge"},
            {"role": "CORE", "instanse_type": "m5.xlarge", "count": 2},
        ]}}}
        d["cost"] = {"budget_thresholds": [0.8, "lots"]}

    edit(config_root / "stages" / "prod.yml", change)
    assert sorted(problems(config_root, "prod")) == [
        "stages/prod.yml: cost.budget_thresholds.1: expected a number, got 'lots'",
        "stages/prod.yml: emr_classic.profiles.default.instance_groups.1.instance_type: required key is missing",
        "stages/prod.yml: emr_classic.profiles.default.instance_groups.1.instanse_type: unknown key",
    ]


def test_typo_inside_a_list_of_config_yml_still_names_config_yml(config_root):
    edit(config_root / "config.yml", lambda d: d["cost"].update({"budget_thresholds": [0.8, "lots"]}))
    assert problems(config_root, "prod") == ["config.yml: cost.budget_thresholds.1: expected a number, got 'lots'"]


def test_job_sizes_must_be_emr_serverless_worker_sizes(config_root):
    def change(d):
        d["job_sizes"]["large"]["executor_memory_gb"] = 2  # 4 vCPU with 2 GB
        d["job_sizes"]["medium"]["driver_cores"] = 3
        d["job_sizes"]["small"].update({"executor_cores": 8, "executor_memory_gb": 18})  # 8 vCPU: 4 GB steps

    edit(config_root / "config.yml", change)
    edit(config_root / "stages" / "prod.yml", lambda d: d.update({"job_sizes": {"large": {"driver_memory_gb": 31}}}))
    assert sorted(problems(config_root, "prod")) == [
        "config.yml: job_sizes.large.executor_memory_gb: expected 8 to 30 GB in steps of 1 GB with 4 vCPU "
        "(EMR Serverless worker sizes), got 2",
        "config.yml: job_sizes.medium.driver_cores: expected 1, 2, 4, 8, 16 vCPU (EMR Serverless worker sizes), got 3",
        "config.yml: job_sizes.small.executor_memory_gb: expected 16 to 60 GB in steps of 4 GB with 8 vCPU "
        "(EMR Serverless worker sizes), got 18",
        "stages/prod.yml: job_sizes.large.driver_memory_gb: expected 8 to 30 GB in steps of 1 GB with 4 vCPU "
        "(EMR Serverless worker sizes), got 31",
    ]


def test_emr_classic_instance_types_need_a_price(config_root):
    edit(config_root / "config.yml", lambda d: d["emr_classic"]["profiles"]["large"]["instance_fleets"][2].update(
        {"instance_types": ["m5.2xlarge", "m5.huge"]}
    ))
    edit(config_root / "stages" / "dev.yml", lambda d: d.update({"emr_classic": {"profiles": {"default": {"instance_groups": [
        {"role": "MASTER", "instance_type": "x9.small"}]}}}}))
    found = sorted(problems(config_root, "dev"))
    assert [p.split(": expected")[0] for p in found] == [
        "config.yml: emr_classic.profiles.large.instance_fleets.2.instance_types.1",
        "stages/dev.yml: emr_classic.profiles.default.instance_groups.0.instance_type",
    ]
    assert found[0].endswith("expected an instance type priced in emr_platform/pricing.py (c5.2xlarge, c5.xlarge, "
                             "m5.2xlarge, m5.4xlarge, m5.xlarge, m6g.2xlarge, m6g.xlarge, m6i.2xlarge, m6i.xlarge, "
                             "m7g.2xlarge, m7g.xlarge, r5.2xlarge, r5.4xlarge, r5.xlarge), got 'm5.huge'")


def test_duplicate_keys_beside_a_merge_key_are_refused_too(config_root):
    # ruamel.yaml's safe constructor checks no key of a mapping holding `<<`; yaml_safety does.
    (config_root / "stages" / "local.yml").write_text("x-base: &base {cores: 1}\nlocal_spark: {<<: *base, cores: 2, cores: 4}\n")
    assert problems(config_root) == [
        "stages/local.yml: local_spark.cores: expected each key once, got it twice (lines 2 and 2)"
    ]


def test_each_key_path_has_its_line():
    text = b"a:\n  b: 1\n  c:\n    - x\n    - {d: 2}\nanchor: &k {e: 3}\nuse: {<<: *k, f: 4}\n"
    data, lines = load_yaml_lines(text, "f.yml")
    assert data["a"]["c"][1] == {"d": 2} and data["use"] == {"e": 3, "f": 4}
    assert lines == {
        ("a",): 1, ("a", "b"): 2, ("a", "c"): 3, ("a", "c", 0): 4, ("a", "c", 1): 5, ("a", "c", 1, "d"): 5,
        ("anchor",): 6, ("anchor", "e"): 6, ("use",): 7, ("use", "e"): 6, ("use", "f"): 7,
    }
    assert load_yaml_lines(b"", "f.yml") == (None, {})
