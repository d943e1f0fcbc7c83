"""The one home of a team's storage prefixes: lake, artifacts, logs and Pipes messages.

Every user of a team's S3 location (the launchers, the IAM documents and infra components,
the command line) takes it from here, so a lake root with a key prefix
(``s3://bucket/some/prefix``) is honoured everywhere alike. Pure functions; nothing here
calls AWS.

Layout under each root (``<root>`` may carry a key prefix)::

    <lake root>/<team>/<domain>/<table>/        asset data
    <artifacts root>/<team>/scripts|deps/...    staged job scripts and their dependencies
    <logs root>/<team>/<substrate>/...          EMR driver and step logs
    <logs root>/<team>/pipes/<client token>/    Dagster Pipes messages of one launch
"""

from __future__ import annotations

from dataclasses import dataclass

from emr_platform.settings import LakeSettings

PURPOSES = ("lake", "artifacts", "logs")
PIPES = "pipes"


@dataclass(frozen=True)
class S3Prefix:
    """A key prefix in one bucket: ``key`` has no leading or trailing slash (``""``: the bucket root)."""

    bucket: str
    key: str = ""

    @classmethod
    def from_uri(cls, uri: str) -> S3Prefix:
        """``s3://bucket/a/b/`` -> ``S3Prefix("bucket", "a/b")``; raises ``ValueError`` for another scheme."""
        if not uri.startswith("s3://"):
            raise ValueError(f"expected an s3:// URI, got {uri!r}")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return cls(bucket, key.strip("/"))

    def child(self, *parts: str) -> S3Prefix:
        """This prefix extended by ``parts`` (each stripped of slashes; empty parts skipped)."""
        return S3Prefix(self.bucket, "/".join(p for p in (self.key, *(x.strip("/") for x in parts)) if p))

    @property
    def uri(self) -> str:
        """``s3://bucket/key`` (no trailing slash)."""
        return f"s3://{self.bucket}/{self.key}".rstrip("/")

    @property
    def objects(self) -> str:
        """The object key pattern of everything under this prefix: ``key/*``, or ``*`` at the bucket root."""
        return f"{self.key}/*" if self.key else "*"

    @property
    def list_prefix(self) -> str:
        """The ``s3:prefix`` a ``ListBucket`` condition matches for this prefix: ``key/*`` or ``*``."""
        return self.objects

    def object_arn(self) -> str:
        """IAM resource ARN of every object under this prefix."""
        return f"arn:aws:s3:::{self.bucket}/{self.objects}"

    def bucket_arn(self) -> str:
        return f"arn:aws:s3:::{self.bucket}"


def root(lake: LakeSettings, purpose: str) -> S3Prefix:
    """The root prefix of ``purpose`` (``lake``, ``artifacts`` or ``logs``); raises ``ValueError``
    when that root is not an ``s3://`` URI."""
    uri = {"lake": lake.root, "artifacts": lake.artifacts_root, "logs": lake.logs_root}[purpose]
    if not uri or not uri.startswith("s3://"):
        raise ValueError(f"lake.{'root' if purpose == 'lake' else purpose + '_root'}: expected an s3:// URI, got {uri!r}")
    return S3Prefix.from_uri(uri)


def team(lake: LakeSettings, team_name: str, purpose: str) -> S3Prefix:
    """``<root of purpose>/<team>``: the prefix a team owns in the lake, artifacts or logs bucket."""
    return root(lake, purpose).child(team_name)


def substrate_logs(lake: LakeSettings, team_name: str, substrate: str) -> S3Prefix:
    """``<logs root>/<team>/<substrate>``: where EMR writes the team's driver and step logs."""
    return team(lake, team_name, "logs").child(substrate)


def pipes_messages(lake: LakeSettings, team_name: str, client_token: str) -> S3Prefix:
    """``<logs root>/<team>/pipes/<client token>``: the Pipes messages of one launch, fixed by its
    client token so a retried launch that adopts a running job reads that job's messages."""
    return team(lake, team_name, "logs").child(PIPES, client_token)


# The platform's own location (``assets/platform_cost``) owns ``<root>/platform`` like a team owns
# ``<root>/<team>``: its cost tables in the lake, its compute logs in the logs bucket.
PLATFORM = "platform"
TLS_CERTIFICATES = "certificates.zip"


def tls_material(lake: LakeSettings) -> S3Prefix:
    """``<artifacts root>/emr-tls``: EMR Classic's in-transit TLS material, ``certificates.zip`` (PEM
    files with a private key, uploaded by an operator), read only by the EMR instance profiles."""
    return root(lake, "artifacts").child("emr-tls")


def compute_logs(lake: LakeSettings, location: str) -> S3Prefix:
    """``<logs root>/<location>/dagster/compute-logs``: stdout and stderr of one code location's
    Dagster runs (a team's, or :data:`PLATFORM`), inside the prefix that location owns."""
    return team(lake, location, "logs").child("dagster", "compute-logs")
