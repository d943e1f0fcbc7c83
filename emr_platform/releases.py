"""The EMR releases the platform knows: each release label's Spark, Scala, Python and Iceberg.

Each row was read on :data:`READ` from the pages it names in AWS's Amazon EMR Release Guide and
EMR Serverless User Guide. Both EMR substrates accept a ``release_label`` only from this table
(:data:`ReleaseLabel`), and the config loader refuses a release whose Spark major.minor is not
the installed pyspark's (``emr_platform/config.py``), so that what runs locally and in the tests
is what runs on EMR. Moving to another release means its row here and the matching pyspark pin
in ``pyproject.toml`` (docs/configuration.md, "Releases").

Cheap to import: no I/O, and pyspark is never imported (:func:`installed_spark` reads its
installed metadata).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from importlib.metadata import version
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

READ = dt.date(2026, 12, 6)  # when every row's pages were read

_GUIDE = "https://docs.aws.amazon.com/emr/latest/ReleaseGuide/"
_SERVERLESS = "https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/"
_APP_VERSIONS_7X = _GUIDE + "emr-release-app-versions-7.x.html"
_ICEBERG_HISTORY = _GUIDE + "Iceberg-release-history.html"
_SPARK_HISTORY = _GUIDE + "Spark-release-history.html"


@dataclass(frozen=True)
class Release:
    """One EMR release (label ``emr-7.13.0`` or ``emr-spark-8.0.0``) as AWS documents it.

    ``spark`` and ``iceberg`` are AWS's builds (``4.0.2-amzn-0``); ``scala`` the Scala Spark is
    built with; ``python`` the Python versions the release offers. ``released``,
    ``standard_support_until`` and ``end_of_life`` are the release page's lifecycle dates (None
    where the pages read give none); ``lts`` marks a Long Term Support release. ``sources`` are
    the pages the row was read from, on ``read``.
    """

    label: str
    spark: str
    scala: str
    python: tuple[str, ...]
    iceberg: str
    sources: tuple[str, ...]
    released: dt.date | None = None
    standard_support_until: dt.date | None = None
    end_of_life: dt.date | None = None
    lts: bool = False
    read: dt.date = READ


_ROWS = (
    Release(
        label="emr-7.9.0",
        # The Serverless page says Spark 3.5.5; the Release Guide's Spark history names the build.
        spark="3.5.5-amzn-0",
        scala="2.12.18",
        python=("3.9", "3.11"),
        iceberg="1.7.1-amzn-2",
        sources=(_APP_VERSIONS_7X, _ICEBERG_HISTORY, _SPARK_HISTORY, _SERVERLESS + "release-version-790.html"),
    ),
    Release(
        label="emr-7.12.0",
        spark="3.5.6-amzn-1",
        scala="2.12.18",
        python=("3.9", "3.11"),
        iceberg="1.10.0-amzn-0",
        sources=(_APP_VERSIONS_7X, _ICEBERG_HISTORY, _SPARK_HISTORY),
    ),
    Release(
        label="emr-7.13.0",  # the first release with Spark Connect sessions on EMR Serverless
        spark="3.5.6-amzn-2",
        scala="2.12.18",
        python=("3.9", "3.11"),
        iceberg="1.10.0-amzn-1",
        sources=(_GUIDE + "emr-7130-release.html", _ICEBERG_HISTORY, _SPARK_HISTORY),
        released=dt.date(2026, 4, 21),
        standard_support_until=dt.date(2028, 4, 21),
        end_of_life=dt.date(2029, 4, 21),
    ),
    Release(
        label="emr-spark-8.0.0",  # on EMR Serverless, EMR on EC2 and EMR on EKS
        spark="4.0.2-amzn-0",
        scala="2.13.16",
        # Its own page; the emr-spark-8.1.0 page's column for 8.0.0 lists 3.11 and 3.13 only.
        python=("3.11", "3.12", "3.13"),
        iceberg="1.10.1-amzn-0",
        sources=(_GUIDE + "emr-spark800-release.html", _SERVERLESS + "release-version-emr-spark-8.0.0.html"),
        released=dt.date(2026, 5, 21),
        standard_support_until=dt.date(2027, 5, 20),
        end_of_life=dt.date(2027, 5, 20),
    ),
    Release(
        label="emr-spark-8.1.0",
        spark="4.1.1-amzn-0",
        scala="2.13.17",
        python=("3.11", "3.13"),
        iceberg="1.11.0-amzn-0",
        sources=(_GUIDE + "emr-spark810-release.html",),
        released=dt.date(2026, 9, 8),
        standard_support_until=dt.date(2029, 9, 7),
        end_of_life=dt.date(2029, 9, 8),
        lts=True,
    ),
)

RELEASES: dict[str, Release] = {row.label: row for row in _ROWS}
LABELS: tuple[str, ...] = tuple(RELEASES)
# Spark 4.0.2, the pyspark pyproject.toml pins: both EMR substrates' default.
DEFAULT_LABEL = "emr-spark-8.0.0"


class UnknownRelease(ValueError):
    """A release label the table does not have; the message names the labels it has."""

    def __init__(self, label: object):
        self.label = label
        super().__init__(f"expected an EMR release of emr_platform/releases.py ({', '.join(LABELS)}), got {label!r}")


def release(label: str) -> Release:
    """The row of release ``label`` (``emr-spark-8.0.0``); raises :class:`UnknownRelease`."""
    try:
        return RELEASES[label]
    except (KeyError, TypeError):
        raise UnknownRelease(label) from None


def _known(label: str) -> str:
    release(label)
    return label


# A config field's type: a label of the table (an editor completes them from the JSON Schema).
ReleaseLabel = Annotated[str, AfterValidator(_known), WithJsonSchema({"type": "string", "enum": list(LABELS)})]


def _major_minor(spark_version: str) -> str:
    """``"4.0"`` of ``"4.0.2-amzn-0"`` or ``"4.0.2"``."""
    found = re.match(r"(\d+)\.(\d+)", spark_version)
    if not found:
        raise ValueError(f"expected a Spark version such as 4.0.2, got {spark_version!r}")
    return f"{found[1]}.{found[2]}"


def spark_minor(release: Release) -> str:
    """Major.minor of the release's Spark: ``"4.0"`` for emr-spark-8.0.0 (Spark 4.0.2-amzn-0)."""
    return _major_minor(release.spark)


def installed_spark() -> tuple[str, str]:
    """``(version, major.minor)`` of the installed pyspark, e.g. ``("4.0.2", "4.0")``, from its
    package metadata (pyspark is not imported). Raises ``importlib.metadata.PackageNotFoundError``
    when pyspark is not installed."""
    installed = version("pyspark")
    return installed, _major_minor(installed)


_LABEL = re.compile(r"emr-(?:spark-)?(\d+)\.(\d+)\.(\d+)")


def release_version(label: str) -> tuple[int, int, int]:
    """``(X, Y, Z)`` of a release label ``emr-X.Y.Z`` or ``emr-spark-X.Y.Z``, the order of releases
    (``emr-spark-8.0.0`` comes after ``emr-7.13.0``); any label AWS reports, in the table or not.
    A suffix after ``X.Y.Z`` is ignored. Raises ``ValueError`` for another shape."""
    found = _LABEL.match(label) if isinstance(label, str) else None
    if not found:
        raise ValueError(f"expected an EMR release label such as emr-7.13.0 or emr-spark-8.0.0, got {label!r}")
    return int(found[1]), int(found[2]), int(found[3])
