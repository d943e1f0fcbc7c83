"""``emr-platform files`` on stage local: a lake directory inside a copy of the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

LAKE = ".lake"


def ok(result):
    assert result.exit_code == 0, result.output
    return result.output


def refused(result, message: str):
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception
    return result.stderr


@pytest.fixture
def uploaded(cli, repo: Path, data_files: Path) -> Path:
    """data_files uploaded into data-engineering's prefix under raw/; returns that lake directory."""
    ok(cli("files", "upload", str(data_files), "raw", "--team", "data-engineering"))
    return repo / LAKE / "data-engineering" / "raw"


def test_upload_directory_and_file(cli, repo, data_files, uploaded):
    assert (uploaded / "parts" / "part-00001.snappy.parquet").read_bytes() == (
        data_files / "parts" / "part-00001.snappy.parquet"
    ).read_bytes()
    out = ok(cli("files", "upload", str(data_files / "flights.csv"), "landing/", "--team", "analytics"))
    assert "lake://analytics/landing/flights.csv" in out
    ok(cli("files", "upload", str(data_files / "flights.csv"), "landing/renamed.csv", "--team", "analytics"))
    assert sorted(p.name for p in (repo / LAKE / "analytics" / "landing").iterdir()) == ["flights.csv", "renamed.csv"]


def test_ls_and_tree(cli, uploaded):
    out = ok(cli("files", "ls", "raw", "--team", "data-engineering"))
    for name in ("parts/", "flights.parquet", "flights.csv", "flights.json"):
        assert name in out
    out = ok(cli("files", "tree", "--team", "data-engineering"))
    assert "raw/" in out and "parts/" in out and "part-00000.snappy.parquet" in out and "_SUCCESS" in out
    # upstream prefixes are readable
    assert "part-00001.snappy.parquet" in ok(cli("files", "ls", "lake://data-engineering/raw/parts", "--team", "analytics"))


def test_download_file_and_directory(cli, uploaded, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    ok(cli("files", "download", "lake://data-engineering/raw/flights.csv", str(dest), "--team", "data-science"))
    assert (dest / "flights.csv").read_bytes() == (uploaded / "flights.csv").read_bytes()
    ok(cli("files", "download", "raw/parts", str(dest / "parts"), "--team", "data-engineering"))
    assert sorted(p.name for p in (dest / "parts").iterdir()) == ["_SUCCESS", "part-00000.snappy.parquet", "part-00001.snappy.parquet"]


def test_preview_parquet_file_directory_csv_and_json(cli, uploaded):
    out = ok(cli("files", "preview", "raw/flights.parquet", "--team", "data-engineering", "--rows", "3"))
    assert "parquet, 1 file(s), rows: 25" in out and "arr_delay" in out and "double" in out and "first 3 rows" in out
    out = ok(cli("files", "preview", "lake://data-engineering/raw/parts", "--team", "analytics", "-n", "4"))
    assert "parquet, 2 file(s), rows: 25" in out and "first 4 rows" in out
    out = ok(cli("files", "preview", "raw/flights.csv", "--team", "data-engineering"))
    assert "csv, 1 file(s), rows: unknown" in out and "first 10 rows" in out and "flight" in out
    for name in ("flights.json", "flights.jsonl"):
        out = ok(cli("files", "preview", f"raw/{name}", "--team", "data-engineering", "-n", "2"))
        assert "json, 1 file(s), rows: 25" in out and "first 2 rows" in out and "UA" in out


def test_rm_asks_first_and_touches_only_own_prefix(cli, uploaded):
    out = cli("files", "rm", "raw/parts", "--team", "data-engineering", input="n\n")
    assert out.exit_code == 1 and "nothing removed" in out.stderr
    assert (uploaded / "parts").is_dir()
    ok(cli("files", "rm", "raw/parts", "--team", "data-engineering", input="y\n"))
    assert not any((uploaded / "parts").rglob("*.parquet"))
    ok(cli("files", "rm", "raw/flights.csv", "--team", "data-engineering", "--yes"))
    assert not (uploaded / "flights.csv").exists()
    refused(cli("files", "rm", "lake://data-engineering/raw", "--team", "analytics", "--yes"), "read-only for analytics")
    refused(cli("files", "rm", "", "--team", "data-engineering", "--yes"), "whole prefix")
    assert (uploaded / "flights.parquet").exists()


def test_refusals_exit_1_without_traceback(cli, uploaded, data_files):
    refused(cli("files", "ls", "../analytics", "--team", "data-science"), "'..' is refused")
    refused(cli("files", "ls", "/etc", "--team", "data-science"), "absolute paths are refused")
    refused(cli("files", "ls", "lake://analytics", "--team", "data-science"), "'analytics' is not data-science's prefix")
    refused(
        cli("files", "upload", str(data_files / "flights.csv"), "lake://data-engineering/raw/", "--team", "analytics"),
        "read-only for analytics",
    )
    refused(cli("files", "ls", "missing", "--team", "analytics"), "no such file or directory")
    refused(cli("files", "ls", "--team", "nobody"), "teams.nobody: team is not declared")
    refused(cli("files", "preview", "raw/parts/_SUCCESS", "--team", "data-engineering"), "unknown format")
    refused(cli("files", "upload", "/does/not/exist", "x", "--team", "analytics"), "no such file or directory")


def test_config_commands(cli, repo):
    assert "ok stage local: 3 teams" in ok(cli("config", "validate"))
    assert '"root": "' + str(repo / LAKE) in ok(cli("config", "show", "--stage", "local"))
    assert '"title": "EMR platform config.yml"' in ok(cli("config", "schema"))
    (repo / "stages" / "local.yml").write_text("lake:\n  root: 3\nexecution:\n  timeout_seconds: five\n")
    err = refused(cli("config", "validate", "--stage", "local"), "stages/local.yml: lake.root: expected a string, got 3")
    assert "stages/local.yml: execution.timeout_seconds: expected an integer, got 'five'" in err
    refused(cli("config", "show", "--stage", "nope"), "stages/nope.yml: no such stage")


def test_transfers_never_overwrite_without_force(cli, uploaded, data_files, tmp_path):
    csv = str(data_files / "flights.csv")
    refused(cli("files", "upload", csv, "raw/", "--team", "data-engineering"), "already in the lake (use --force")
    ok(cli("files", "upload", csv, "raw/", "--team", "data-engineering", "--force"))
    dest = tmp_path / "mine.csv"
    dest.write_text("my own work")
    refused(cli("files", "download", "raw/flights.csv", str(dest), "--team", "data-engineering"), "already exists")
    assert dest.read_text() == "my own work"
    ok(cli("files", "download", "raw/flights.csv", str(dest), "--team", "data-engineering", "--force"))
    assert dest.read_bytes() == (data_files / "flights.csv").read_bytes()
