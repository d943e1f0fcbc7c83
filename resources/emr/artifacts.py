"""Content-addressed staging of a job script and its Python dependencies in S3.

Keys carry the SHA-256 of what they hold, so an unchanged file is found by ``head_object``
and never uploaded again, and a changed one never overwrites what a running job reads:

- ``<artifacts root>/<team>/scripts/<sha256>/<script name>``
- ``<artifacts root>/<team>/deps/<sha256>.zip``: the ``jobkit`` and ``dagster_pipes``
  package, handed to ``spark-submit --py-files`` (Python imports from the zip).
"""

from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster_pipes
from botocore.exceptions import ClientError

from emr_platform.prefixes import S3Prefix
from emr_platform.launcher import JOBKIT

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same files always make the same zip bytes


@dataclass(frozen=True)
class StagedArtifacts:
    """``s3://`` URIs of a staged script and its dependency zip; ``uploaded`` lists the keys written now."""

    script_uri: str
    py_files_uri: str
    uploaded: tuple[str, ...]


@functools.cache
def dependency_zip() -> bytes:
    """The zip of the ``jobkit`` package and the installed ``dagster_pipes`` package (byte-for-byte reproducible)."""
    files = {}
    for package in (JOBKIT, Path(dagster_pipes.__file__).parent):
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[f"{package.name}/{path.relative_to(package).as_posix()}"] = path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(files.items()):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def stage(s3: Any, artifacts_root: str, team: str, script: Path) -> StagedArtifacts:
    """Upload ``script`` and :func:`dependency_zip` under the team's artifacts prefix unless present.

    Raises ``botocore.exceptions.ClientError`` when S3 refuses (e.g. no write access).
    """
    own = S3Prefix.from_uri(artifacts_root).child(team)
    script_body = script.read_bytes()
    deps = dependency_zip()
    script_at = own.child("scripts", _sha256(script_body), script.name)
    deps_at = own.child("deps", _sha256(deps) + ".zip")
    pairs = ((script_at, script_body), (deps_at, deps))
    uploaded = tuple(at.key for at, body in pairs if _put_if_absent(s3, at.bucket, at.key, body))
    return StagedArtifacts(script_at.uri, deps_at.uri, uploaded)


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _put_if_absent(s3: Any, bucket: str, key: str, body: bytes) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return True
