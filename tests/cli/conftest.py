"""Fixtures of the command-line tests: a copy of the repository (its own local lake inside), moto on 127.0.0.1,
and small data files written with pyarrow."""

from __future__ import annotations

from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from apps.cli import app
from emr_platform.config import load_config
from tests.conftest import copy_config

DEV_LAKE_BUCKET = "emr-platform-dev-lake"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of config.yml, stages/, workspace.yaml and an empty assets/; stage local's lake is ``<repo>/.lake``."""
    root = copy_config(tmp_path / "repo")
    (root / "assets").mkdir()
    assert load_config("local", root=root).lake.root == str(root / ".lake")
    return root


@pytest.fixture
def cli(repo: Path):
    """``cli(*args, input=None)``: run the command line in-process on the repository copy."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, ["--root", str(repo), *args], input=input)

    return invoke


@pytest.fixture
def s3(aws: str):
    """An empty moto account with stage dev's lake bucket; boto3 (and the CLI) reach it through AWS_ENDPOINT_URL."""
    client = boto3.client("s3")
    client.create_bucket(Bucket=DEV_LAKE_BUCKET)
    return client


def flights_table(rows: int = 25) -> pa.Table:
    return pa.table(
        {
            "carrier": [["UA", "AA", "B6", None][i % 4] for i in range(rows)],
            "flight": list(range(rows)),
            "arr_delay": [float(i) / 2 for i in range(rows)],
        }
    )


@pytest.fixture
def data_files(tmp_path: Path) -> Path:
    """flights.parquet, parts/ (two parquet part files plus Spark's _SUCCESS), flights.csv, flights.json, flights.jsonl."""
    folder = tmp_path / "data"
    (folder / "parts").mkdir(parents=True)
    table = flights_table()
    pq.write_table(table, folder / "flights.parquet")
    pq.write_table(table.slice(0, 10), folder / "parts" / "part-00000.snappy.parquet")
    pq.write_table(table.slice(10), folder / "parts" / "part-00001.snappy.parquet")
    (folder / "parts" / "_SUCCESS").write_bytes(b"")
    lines = ["carrier,flight,arr_delay"] + [f"{r['carrier'] or ''},{r['flight']},{r['arr_delay']}" for r in table.to_pylist()]
    (folder / "flights.csv").write_text("\n".join(lines) + "\n")
    import json

    (folder / "flights.json").write_text(json.dumps(table.to_pylist()))
    (folder / "flights.jsonl").write_text("\n".join(json.dumps(r) for r in table.to_pylist()) + "\n")
    return folder
