"""``emr-platform config``: the checkout comes from the working directory (or --root), stage names stay inside
stages/, and --all-stages validates every stage file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from apps.cli import app


def run(*args: str):
    """The command line in-process, without --root: the root comes from the working directory."""
    return CliRunner().invoke(app, list(args))


def refused(result, message: str) -> str:
    assert result.exit_code == 1, result.output
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    return result.stderr


def test_validate_checks_the_checkout_of_the_working_directory(repo: Path, monkeypatch):
    (repo / "stages" / "local.yml").write_text("lake:\n  root: 3\n")
    monkeypatch.chdir(repo / "assets")  # any folder inside the checkout
    refused(run("config", "validate", "--stage", "local"), "stages/local.yml: lake.root: expected a string, got 3")


def test_root_option_wins_over_the_working_directory(repo: Path, tmp_path: Path, monkeypatch):
    (repo / "stages" / "local.yml").write_text("lake:\n  root: 3\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    refused(run("--root", str(repo), "config", "validate"), "stages/local.yml: lake.root: expected a string, got 3")


def test_outside_any_checkout_is_one_clear_error(tmp_path: Path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    refused(
        run("config", "validate"),
        f"config.yml: expected config.yml and stages/ in {empty.resolve()} or a parent directory (or give --root)",
    )


def test_validate_refuses_a_stage_outside_stages(cli):
    refused(cli("config", "validate", "--stage", "../config"), "stages/<stage>.yml: stage: expected a name matching")


def test_validate_all_stages(cli, repo: Path):
    result = cli("config", "validate", "--all-stages")
    assert result.exit_code == 0, result.output
    assert [line for line in result.stdout.splitlines()] == [
        "ok stage dev: 3 teams", "ok stage local: 3 teams", "ok stage prod: 3 teams"
    ]
    (repo / "stages" / "prod.yml").write_text("cost:\n  budget_thresholds: [0.8, lots]\n")
    result = cli("config", "validate", "--all-stages")
    refused(result, "stage prod: stages/prod.yml: cost.budget_thresholds.1: expected a number, got 'lots'")
    assert "ok stage dev: 3 teams" in result.stdout and "ok stage local: 3 teams" in result.stdout


def test_all_stages_and_stage_together_are_a_usage_error(cli):
    result = cli("config", "validate", "--all-stages", "--stage", "dev")
    assert result.exit_code == 2 and "give --stage or --all-stages, not both" in result.output


def test_validate_refuses_a_release_whose_spark_is_not_pyspark_s(cli, repo: Path):
    stage = repo / "stages" / "dev.yml"
    stage.write_text(stage.read_text() + "emr_classic:\n  profiles:\n    default:\n      release_label: emr-7.9.0\n")
    line = len(stage.read_text().splitlines())
    stderr = refused(
        cli("config", "validate", "--stage", "dev"),
        f"stages/dev.yml:{line}: emr_classic.profiles.default.release_label: expected a release running Spark 4.0 "
        "like the installed pyspark 4.0.2 (emr-spark-8.0.0), got 'emr-7.9.0', which runs Spark 3.5.5-amzn-0",
    )
    assert stderr.count("\n") <= 2  # the one problem, no traceback
    result = cli("config", "validate", "--all-stages")
    refused(result, "stage dev: stages/dev.yml:")
    assert "ok stage local: 3 teams" in result.stdout and "ok stage prod: 3 teams" in result.stdout
