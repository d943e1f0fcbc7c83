"""The EMR release table (``emr_platform/releases.py``): its rows as AWS documents them, the
helpers over it, and the config loader refusing a release whose Spark is not the installed pyspark's."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from emr_platform import releases
from emr_platform.releases import UnknownRelease, installed_spark, release, release_version, spark_minor


def test_the_rows_as_read_from_aws():
    assert {label: (r.spark, r.scala, r.python, r.iceberg) for label, r in releases.RELEASES.items()} == {
        "emr-7.9.0": ("3.5.5-amzn-0", "2.12.18", ("3.9", "3.11"), "1.7.1-amzn-2"),
        "emr-7.12.0": ("3.5.6-amzn-1", "2.12.18", ("3.9", "3.11"), "1.10.0-amzn-0"),
        "emr-7.13.0": ("3.5.6-amzn-2", "2.12.18", ("3.9", "3.11"), "1.10.0-amzn-1"),
        "emr-spark-8.0.0": ("4.0.2-amzn-0", "2.13.16", ("3.11", "3.12", "3.13"), "1.10.1-amzn-0"),
        "emr-spark-8.1.0": ("4.1.1-amzn-0", "2.13.17", ("3.11", "3.13"), "1.11.0-amzn-0"),
    }
    current = release("emr-spark-8.0.0")
    assert (current.released, current.end_of_life, current.lts) == (dt.date(2026, 5, 21), dt.date(2027, 5, 20), False)
    nxt = release("emr-spark-8.1.0")
    assert (nxt.released, nxt.standard_support_until, nxt.lts) == (dt.date(2026, 9, 8), dt.date(2029, 9, 7), True)
    for row in releases.RELEASES.values():
        assert row.read == dt.date(2026, 12, 6) and row.sources
        assert all(url.startswith("https://docs.aws.amazon.com/emr/latest/") for url in row.sources)
    assert "https://docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-spark800-release.html" in current.sources


def test_the_default_runs_the_pinned_pyspark():
    assert releases.DEFAULT_LABEL == "emr-spark-8.0.0"
    assert spark_minor(release(releases.DEFAULT_LABEL)) == installed_spark()[1] == "4.0"
    assert installed_spark() == ("4.0.2", "4.0")


def test_installed_spark_does_not_import_pyspark():
    code = "import sys; from emr_platform import releases; print(releases.installed_spark()); print('pyspark' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split("\n")[:2] == ["('4.0.2', '4.0')", "False"]


def test_an_unknown_label_names_the_known_ones():
    with pytest.raises(UnknownRelease) as raised:
        release("emr-9.9.9")
    assert isinstance(raised.value, ValueError)
    assert str(raised.value) == (
        "expected an EMR release of emr_platform/releases.py (emr-7.9.0, emr-7.12.0, emr-7.13.0, "
        "emr-spark-8.0.0, emr-spark-8.1.0), got 'emr-9.9.9'"
    )


def test_spark_minor_of_each_row():
    assert [spark_minor(r) for r in releases.RELEASES.values()] == ["3.5", "3.5", "3.5", "4.0", "4.1"]


def test_both_label_shapes_order_as_releases():
    assert release_version("emr-7.13.0") == (7, 13, 0)
    assert release_version("emr-spark-8.0.0") == (8, 0, 0)
    assert release_version("emr-6.10.0-20230112") == (6, 10, 0)
    assert sorted(["emr-spark-8.1.0", "emr-7.13.0", "emr-spark-8.0.0", "emr-7.9.0"], key=release_version) == [
        "emr-7.9.0", "emr-7.13.0", "emr-spark-8.0.0", "emr-spark-8.1.0"
    ]
    with pytest.raises(ValueError, match="expected an EMR release label such as emr-7.13.0 or emr-spark-8.0.0, got 'spark-4'"):
        release_version("spark-4")
