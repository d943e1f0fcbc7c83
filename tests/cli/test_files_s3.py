"""``emr-platform files`` on stage dev: S3 served by moto on 127.0.0.1, reached with real boto3 and pyarrow calls."""

from __future__ import annotations

import os
from pathlib import Path

from emr_platform.config import load_config
from emr_platform.lake.storage import MIB, open_storage

from .conftest import DEV_LAKE_BUCKET


def ok(result):
    assert result.exit_code == 0, result.output
    return result.output


def test_multipart_upload_above_threshold_and_download(cli, s3, tmp_path: Path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * MIB))
    out = ok(
        cli(
            "files", "upload", str(big), "landing/", "--team", "data-science", "--stage", "dev",
            "--multipart-threshold-mib", "5", "--multipart-chunk-mib", "5",
        )
    )
    assert "lake://data-science/landing/big.bin" in out
    head = s3.head_object(Bucket=DEV_LAKE_BUCKET, Key="data-science/landing/big.bin")
    assert head["ContentLength"] == 11 * MIB
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload's ETag counts its parts: 5 + 5 + 1 MiB
    dest = tmp_path / "back.bin"
    ok(cli("files", "download", "landing/big.bin", str(dest), "--team", "data-science", "--stage", "dev"))
    assert dest.read_bytes() == big.read_bytes()


def test_small_upload_is_a_single_put(s3, tmp_path: Path):
    small = tmp_path / "small.csv"
    small.write_text("a,b\n1,2\n")
    storage = open_storage(load_config("dev"), "analytics", multipart_threshold=5 * MIB)
    assert [str(t) for t in storage.upload(small, "in/")] == ["lake://analytics/in/small.csv"]
    assert "-" not in s3.head_object(Bucket=DEV_LAKE_BUCKET, Key="analytics/in/small.csv")["ETag"]


def test_ls_tree_preview_rm_and_refusals(cli, s3, data_files: Path, tmp_path: Path):
    dev = ("--stage", "dev")
    ok(cli("files", "upload", str(data_files), "raw", "--team", "data-engineering", *dev))
    s3.put_object(Bucket=DEV_LAKE_BUCKET, Key="analytics/performance/carrier_monthly/part-0.parquet", Body=b"x")

    out = ok(cli("files", "ls", "raw", "--team", "data-engineering", *dev))
    assert "parts/" in out and "flights.parquet" in out
    out = ok(cli("files", "tree", "s3://emr-platform-dev-lake/data-engineering", "--team", "data-science", *dev))
    assert "part-00001.snappy.parquet" in out and "_SUCCESS" in out

    out = ok(cli("files", "preview", "lake://data-engineering/raw/parts", "--team", "data-science", *dev, "-n", "3"))
    assert "parquet, 2 file(s), rows: 25" in out and "first 3 rows" in out
    out = ok(cli("files", "preview", "raw/flights.parquet", "--team", "data-engineering", *dev))
    assert "parquet, 1 file(s), rows: 25" in out
    out = ok(cli("files", "preview", "raw/flights.csv", "--team", "data-engineering", *dev))
    assert "csv, 1 file(s)" in out and "carrier" in out
    out = ok(cli("files", "preview", "raw/flights.jsonl", "--team", "data-engineering", *dev))
    assert "json, 1 file(s), rows: 25" in out

    for args, message in [
        (("files", "rm", "lake://data-engineering/raw", "--team", "data-science", "--yes"), "read-only for data-science"),
        (("files", "ls", "lake://analytics", "--team", "data-science"), "'analytics' is not data-science's prefix"),
        (("files", "ls", "s3://someone-elses-bucket/x", "--team", "data-science"), "not in the lake"),
        (("files", "download", "../analytics", str(tmp_path), "--team", "data-science"), "'..' is refused"),
    ]:
        result = cli(*args, *dev)
        assert result.exit_code == 1 and message in result.stderr, result.output
    assert s3.list_objects_v2(Bucket=DEV_LAKE_BUCKET, Prefix="data-engineering/raw/")["KeyCount"] == 7

    # rm removes the directory's objects and nothing that merely shares its name as a prefix
    s3.put_object(Bucket=DEV_LAKE_BUCKET, Key="data-engineering/raw/parts_old/keep.txt", Body=b"keep")
    ok(cli("files", "rm", "raw/parts", "--team", "data-engineering", "--yes", *dev))
    left = {o["Key"] for o in s3.list_objects_v2(Bucket=DEV_LAKE_BUCKET, Prefix="data-engineering/")["Contents"]}
    assert not any(key.startswith("data-engineering/raw/parts/") for key in left)
    assert "data-engineering/raw/parts_old/keep.txt" in left and "data-engineering/raw/flights.csv" in left
    assert "analytics/performance/carrier_monthly/part-0.parquet" in {
        o["Key"] for o in s3.list_objects_v2(Bucket=DEV_LAKE_BUCKET)["Contents"]
    }


def test_empty_own_prefix_lists_empty_and_missing_paths_fail(cli, s3):
    assert ok(cli("files", "ls", "--team", "analytics", "--stage", "dev")).strip() == "lake://analytics  (empty)"
    result = cli("files", "ls", "performance", "--team", "analytics", "--stage", "dev")
    assert result.exit_code == 1 and "lake://analytics/performance: no such file or directory" in result.stderr


def test_missing_bucket_is_a_clean_error(cli, s3):
    s3.delete_bucket(Bucket=DEV_LAKE_BUCKET)
    result = cli("files", "ls", "--team", "analytics", "--stage", "dev")
    assert result.exit_code == 1 and "NoSuchBucket" in result.stderr and "Traceback" not in result.output


def test_download_refuses_object_keys_that_climb_out_of_the_destination(cli, s3, tmp_path: Path):
    s3.put_object(Bucket=DEV_LAKE_BUCKET, Key="analytics/out/ok.txt", Body=b"ok")
    s3.put_object(Bucket=DEV_LAKE_BUCKET, Key="analytics/out/../../../evil.txt", Body=b"evil")
    dest = tmp_path / "dest"
    result = cli("files", "download", "out", str(dest), "--team", "analytics", "--stage", "dev")
    assert result.exit_code == 1 and "would be written outside" in result.stderr, result.output
    assert not list(tmp_path.rglob("evil.txt")) and not dest.exists()


def test_write_and_read_bytes_through_pyarrow_keep_the_content_type(s3):
    storage = open_storage(load_config("dev"), "analytics")
    target = storage.resolve("reports/2013-01/report.md", write=True)
    assert storage.read_bytes(target) is None
    assert storage.write_bytes(target, b"# report\n", "text/markdown") == f"s3://{DEV_LAKE_BUCKET}/analytics/reports/2013-01/report.md"
    assert storage.read_bytes(target) == b"# report\n"
    head = s3.head_object(Bucket=DEV_LAKE_BUCKET, Key="analytics/reports/2013-01/report.md")
    assert head["ContentType"] == "text/markdown" and "-" not in head["ETag"]  # one PUT, no multipart
    # no directory marker objects beside the file
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=DEV_LAKE_BUCKET, Prefix="analytics/")["Contents"]] == [
        "analytics/reports/2013-01/report.md"
    ]
