"""The EMR release table (``emr_platform/releases.py``): its rows as AWS documents them, the
helpers over it, and the config loader refusing a release whose Spark is not the installed pyspark's."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from emr_platform import releases
from emr_platform.config import ConfigError, load_config
from emr_platform.releases import UnknownRelease, installed_spark, release, release_version, spark_minor
from emr_platform.sessions import require_interactive
from emr_platform.substrates.emr_serverless import supports_sessions


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


def refused(root: Path, stage: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(stage, root=root)
    return raised.value.problems


def line_of(path: Path, text: str, after: int = 0) -> int:
    """1-based line of the first line at or after line ``after`` holding ``text``."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if i >= after and text in line)


def test_a_classic_profile_on_7x_is_refused_naming_file_line_key_and_both_sparks(config_root):
    stage = config_root / "stages" / "dev.yml"
    stage.write_text(stage.read_text() + "emr_classic:\n  profiles:\n    large:\n      release_label: emr-7.9.0\n")
    assert refused(config_root, "dev") == [
        f"stages/dev.yml:{line_of(stage, 'release_label: emr-7.9.0')}: emr_classic.profiles.large.release_label: "
        "expected a release running Spark 4.0 like the installed pyspark 4.0.2 (emr-spark-8.0.0), "
        "got 'emr-7.9.0', which runs Spark 3.5.5-amzn-0"
    ]


def test_a_release_set_in_config_yml_names_config_yml_and_its_line(config_root):
    config = config_root / "config.yml"
    config.write_text(config.read_text().replace("release_label: emr-spark-8.0.0", "release_label: emr-spark-8.1.0", 1))
    assert refused(config_root, "prod") == [
        f"config.yml:{line_of(config, 'release_label: emr-spark-8.1.0')}: emr_serverless.release_label: "
        "expected a release running Spark 4.0 like the installed pyspark 4.0.2 (emr-spark-8.0.0), "
        "got 'emr-spark-8.1.0', which runs Spark 4.1.1-amzn-0"
    ]


def test_staying_on_7x_means_pyspark_3_5_for_the_whole_platform(config_root, monkeypatch):
    """With pyspark 3.5 installed, 7.x releases load and the default (unset: no line) is refused."""
    config = config_root / "config.yml"
    text = config.read_text()
    config.write_text(text.replace("  release_label: emr-spark-8.0.0\n", "", 1).replace("emr-spark-8.0.0", "emr-7.13.0"))
    monkeypatch.setattr(releases, "installed_spark", lambda: ("3.5.6", "3.5"))
    assert refused(config_root, "dev") == [
        "config.yml: emr_serverless.release_label: expected a release running Spark 3.5 like the installed pyspark "
        "3.5.6 (emr-7.9.0, emr-7.12.0, emr-7.13.0), got 'emr-spark-8.0.0', which runs Spark 4.0.2-amzn-0"
    ]
    (config_root / "stages" / "dev.yml").write_text("emr_serverless:\n  release_label: emr-7.13.0\n")
    assert load_config("dev", root=config_root).emr_classic.profiles["large"].release_label == "emr-7.13.0"


def test_an_unknown_label_names_file_key_and_the_known_labels(config_root):
    stage = config_root / "stages" / "prod.yml"
    stage.write_text(stage.read_text().replace("emr_serverless:\n", "emr_serverless:\n  release_label: emr-8.0.0\n"))
    assert refused(config_root, "prod") == [
        "stages/prod.yml: emr_serverless.release_label: expected an EMR release of emr_platform/releases.py "
        "(emr-7.9.0, emr-7.12.0, emr-7.13.0, emr-spark-8.0.0, emr-spark-8.1.0), got 'emr-8.0.0'"
    ]


def test_sessions_are_accepted_on_emr_spark_8_0_0():
    config = load_config("dev")
    assert config.emr_serverless.release_label == "emr-spark-8.0.0" and config.team("data-science").interactive
    assert supports_sessions("emr-spark-8.0.0")
    require_interactive(config, "data-science")  # raises SessionError for a release without sessions
