"""One storage interface over a team's lake prefix: a local directory (stage local) or S3.

Every path goes through :func:`resolve` first: a path relative to the team's own prefix
(``core/flights_clean``), or a lake URI (``lake://<team>/<path>``, or ``s3://<lake bucket>/<team>/...``
on S3 stages). ``..``, absolute paths, URIs outside the lake and other teams' prefixes are
refused with :class:`PathError`; the prefixes of ``teams.<team>.upstream_teams`` are readable,
never writable.

S3 transfers use boto3's managed transfer (multipart above ``TransferConfig.multipart_threshold``);
reading for previews goes through a ``pyarrow.fs`` filesystem built from the same boto3 session.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import urlparse

from pyarrow import fs as pafs

from emr_platform import lake
from emr_platform.config import PlatformConfig

LAKE_SCHEME = "lake://"
MIB = 1024 * 1024
PLATFORM = "platform"  # the platform's own prefix (cost data); a reserved team name in config


class PathError(ValueError):
    """A path the team may not use: an escape, another team's prefix, or a write to an upstream team's."""


@dataclass(frozen=True)
class LakePath:
    """A location in the lake: ``<lake root>/<owner>/<key>``; ``key`` is ``""`` for the owner's prefix itself."""

    owner: str
    key: str

    def __str__(self) -> str:
        return f"{LAKE_SCHEME}{self.owner}/{self.key}".rstrip("/")

    def child(self, relative: str) -> LakePath:
        return LakePath(self.owner, "/".join(p for p in (self.key, relative) if p))

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name or self.owner


@dataclass(frozen=True)
class Entry:
    """One listed item: ``relative`` to the listed path (posix), ``size`` in bytes (``None`` for directories)."""

    relative: str
    size: int | None

    @property
    def is_dir(self) -> bool:
        return self.size is None


class Progress(Protocol):
    """Receives transfer progress: the total once, then byte counts (possibly from several threads)."""

    def begin(self, total_bytes: int) -> None: ...

    def advance(self, n_bytes: int) -> None: ...


class _NoProgress:
    def begin(self, total_bytes: int) -> None:
        pass

    def advance(self, n_bytes: int) -> None:
        pass


def resolve(config: PlatformConfig, team: str, path: str, write: bool = False) -> LakePath:
    """Where ``path`` points for ``team``; raises :class:`PathError` when the team may not use it
    (``write=True`` for uploads and removals) and ``ConfigError`` when ``team`` is not declared."""
    settings = config.team(team)
    path = path.strip()
    root = config.lake.root.rstrip("/")
    if path.startswith(LAKE_SCHEME):
        rest = path[len(LAKE_SCHEME) :]
    elif config.lake.is_s3 and (path == root or path.startswith(root + "/")):
        rest = path[len(root) :]
    elif "://" in path:
        raise PathError(
            f"{path}: not in the lake ({root}); use a path relative to {team}'s prefix or lake://<team>/..."
        )
    elif path.startswith(("/", "\\", "~")) or (len(path) > 1 and path[1] == ":"):
        raise PathError(f"{path}: absolute paths are refused; use a path relative to {team}'s prefix")
    else:
        rest = f"{team}/{path}"
    parts = [p for p in rest.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise PathError(f"{path}: '..' is refused; paths stay inside the team's prefix")
    if not parts:
        raise PathError(f"{path}: names no team prefix; use lake://<team>/...")
    owner, key = parts[0], "/".join(parts[1:])
    if owner == team:
        return LakePath(owner, key)
    if owner in settings.upstream_teams:
        if write:
            raise PathError(f"{path}: {owner}'s prefix is read-only for {team} (an upstream team)")
        return LakePath(owner, key)
    readable = ", ".join([team, *settings.upstream_teams])
    raise PathError(f"{path}: {owner!r} is not {team}'s prefix; {team} may read {readable} and write only {team}")


class LakeStorage(ABC):
    """The lake as seen by one team. Build with :func:`open_storage`."""

    def __init__(self, config: PlatformConfig, team: str):
        self.config = config
        self.team = team
        if team != PLATFORM:
            config.team(team)

    def resolve(self, path: str, write: bool = False) -> LakePath:
        """See :func:`resolve`."""
        return resolve(self.config, self.team, path, write)

    def uri(self, target: LakePath) -> str:
        """The storage URI (``s3://...`` or a local path) of ``target``."""
        prefix = lake.team_prefix(self.config, target.owner)
        return lake.join(prefix, target.key) if target.key else prefix

    @abstractmethod
    def is_file(self, target: LakePath) -> bool: ...

    @abstractmethod
    def list(self, target: LakePath) -> list[Entry]:
        """The direct children of a directory (or the file itself); raises ``FileNotFoundError`` if none."""

    @abstractmethod
    def walk(self, target: LakePath) -> Iterator[Entry]:
        """Every file under ``target``, recursively, sorted by relative path."""

    @abstractmethod
    def _put(self, local: Path, target: LakePath, progress: Progress) -> None: ...

    @abstractmethod
    def _get(self, source: LakePath, local: Path, progress: Progress) -> None: ...

    @abstractmethod
    def _delete(self, targets: list[LakePath]) -> None: ...

    @abstractmethod
    def read_bytes(self, target: LakePath) -> bytes | None:
        """The bytes of ``target``, or None when nothing is stored there."""

    @abstractmethod
    def write_bytes(self, target: LakePath, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data`` at ``target`` (which must be this storage's own prefix), replacing what was
        there (atomically on local disk); returns its URI. Raises :class:`PathError` otherwise."""

    def _check_own(self, target: LakePath) -> None:
        if target.owner != self.team:
            raise PathError(f"{target}: {self.team} writes only its own prefix")

    @abstractmethod
    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]:
        """A pyarrow filesystem and the path prefix of the lake root on it (for reading previews)."""

    def arrow_path(self, target: LakePath) -> tuple[pafs.FileSystem, str]:
        filesystem, base = self.arrow_filesystem()
        return filesystem, "/".join(p for p in (base, target.owner, target.key) if p)

    def upload(
        self, local: Path, path: str, progress: Progress | None = None, overwrite: bool = False
    ) -> list[LakePath]:
        """Copy a local file or directory to ``path`` in the team's own prefix; returns what was written.

        A file goes to ``path`` (or ``path/<file name>`` when ``path`` is empty or ends with ``/``);
        a directory's files go under ``path/``. Raises ``FileNotFoundError``, :class:`PathError`, and
        ``FileExistsError`` (before writing anything) when a file is there already and not ``overwrite``.
        """
        local = Path(local)
        if not local.exists():
            raise FileNotFoundError(f"{local}: no such file or directory")
        target = self.resolve(path, write=True)
        if local.is_dir():
            files = [f for f in sorted(local.rglob("*")) if f.is_file()]
            pairs = [(f, target.child(f.relative_to(local).as_posix())) for f in files]
        else:
            into = path.endswith("/") or not target.key
            pairs = [(local, target.child(local.name) if into else target)]
        existing = [str(dest) for _, dest in pairs if not overwrite and self.is_file(dest)]
        if existing:
            raise FileExistsError(f"{', '.join(existing[:3])}: already in the lake (use --force to overwrite)")
        progress = progress or _NoProgress()
        progress.begin(sum(f.stat().st_size for f, _ in pairs))
        for file, dest in pairs:
            self._put(file, dest, progress)
        return [dest for _, dest in pairs]

    def download(
        self, path: str, local: Path, progress: Progress | None = None, overwrite: bool = False
    ) -> list[Path]:
        """Copy a lake file or directory (own or upstream prefix) to ``local``; returns the files written.

        A file goes to ``local`` (or ``local/<name>`` when ``local`` is a directory); a directory's
        files go under ``local/``. Raises ``FileNotFoundError`` when nothing is at ``path``, and
        ``FileExistsError`` (before writing anything) when a local file is there and not ``overwrite``.
        """
        source = self.resolve(path)
        local = Path(local)
        if self.is_file(source):
            dest = local / source.name if local.is_dir() else local
            pairs = [(source, dest, self.list(source)[0].size)]
        else:
            pairs = [(source.child(e.relative), local / e.relative, e.size) for e in self.walk(source)]
            if not pairs:
                raise FileNotFoundError(f"{source}: no such file or directory")
            # an object key holding ".." must not write outside the destination directory
            for _, dest, _ in pairs:
                if not dest.resolve().is_relative_to(local.resolve()):
                    raise PathError(f"{source}: object {dest.name} would be written outside {local}")
        existing = [str(dest) for _, dest, _ in pairs if not overwrite and dest.exists()]
        if existing:
            raise FileExistsError(f"{', '.join(existing[:3])}: already exists (use --force to overwrite)")
        progress = progress or _NoProgress()
        progress.begin(sum(size for _, _, size in pairs))
        for item, dest, _ in pairs:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._get(item, dest, progress)
        return [dest for _, dest, _ in pairs]

    def removal(self, path: str) -> list[LakePath]:
        """The files :meth:`remove` would delete (own prefix only).

        Raises :class:`PathError` (not the team's own prefix, or the whole prefix) and ``FileNotFoundError``.
        """
        target = self.resolve(path, write=True)
        if not target.key:
            raise PathError(f"{path}: refusing to remove {self.team}'s whole prefix; name a path inside it")
        if self.is_file(target):
            return [target]
        files = [target.child(e.relative) for e in self.walk(target)]
        if not files:
            raise FileNotFoundError(f"{target}: no such file or directory")
        return files

    def remove(self, path: str) -> list[LakePath]:
        """Delete a file or a directory of the team's own prefix; returns the deleted files."""
        files = self.removal(path)
        self._delete(files)
        return files


class LocalStorage(LakeStorage):
    """The lake in a local directory (stage local)."""

    def __init__(self, config: PlatformConfig, team: str):
        super().__init__(config, team)
        self.root = Path(config.lake.root).resolve()

    def _local(self, target: LakePath) -> Path:
        path = (self.root / target.owner / target.key).resolve()
        # A symlink inside the lake must not lead out of the owner's prefix.
        if not path.is_relative_to(self.root / target.owner):
            raise PathError(f"{target}: resolves outside {target.owner}'s prefix ({path})")
        return path

    def is_file(self, target: LakePath) -> bool:
        return self._local(target).is_file()

    def list(self, target: LakePath) -> list[Entry]:
        path = self._local(target)
        if path.is_file():
            return [Entry(path.name, path.stat().st_size)]
        if not path.is_dir():
            if not target.key:
                return []  # a team's prefix exists before its first file
            raise FileNotFoundError(f"{target}: no such file or directory")
        return [Entry(c.name, c.stat().st_size if c.is_file() else None) for c in sorted(path.iterdir())]

    def walk(self, target: LakePath) -> Iterator[Entry]:
        path = self._local(target)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file():
                    yield Entry(file.relative_to(path).as_posix(), file.stat().st_size)

    def _put(self, local: Path, target: LakePath, progress: Progress) -> None:
        dest = self._local(target)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, dest)
        progress.advance(local.stat().st_size)

    def _get(self, source: LakePath, local: Path, progress: Progress) -> None:
        shutil.copyfile(self._local(source), local)
        progress.advance(local.stat().st_size)

    def _delete(self, targets: list[LakePath]) -> None:
        for target in targets:
            self._local(target).unlink()

    def read_bytes(self, target: LakePath) -> bytes | None:
        path = self._local(target)
        return path.read_bytes() if path.is_file() else None

    def write_bytes(self, target: LakePath, data: bytes, content_type: str = "application/octet-stream") -> str:
        self._check_own(target)
        path = self._local(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(path)  # readers never see half a file
        return str(path)

    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]:
        return pafs.LocalFileSystem(), str(self.root)


class S3Storage(LakeStorage):
    """The lake in S3 (stages dev and prod). Credentials and endpoint come from boto3's chain at call time.

    ``multipart_threshold`` and ``multipart_chunksize`` are bytes (S3's minimum part size is 5 MiB,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
    """

    def __init__(
        self, config: PlatformConfig, team: str, multipart_threshold: int = 8 * MIB, multipart_chunksize: int = 8 * MIB
    ):
        import boto3
        from boto3.s3.transfer import TransferConfig

        super().__init__(config, team)
        parsed = urlparse(config.lake.root)
        self.bucket, self.base = parsed.netloc, parsed.path.strip("/")
        self.session = boto3.session.Session(region_name=config.platform.region)
        self.client = self.session.client("s3")
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold, multipart_chunksize=multipart_chunksize)

    def _key(self, target: LakePath) -> str:
        return "/".join(p for p in (self.base, target.owner, target.key) if p)

    def is_file(self, target: LakePath) -> bool:
        if not target.key:
            return False
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(target))
        except self.client.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def list(self, target: LakePath) -> list[Entry]:
        if self.is_file(target):
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(target))
            return [Entry(target.name, head["ContentLength"])]
        prefix = self._key(target) + "/"
        entries = []
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/")
        for page in pages:
            entries += [Entry(p["Prefix"][len(prefix) :].rstrip("/"), None) for p in page.get("CommonPrefixes", [])]
            entries += [Entry(o["Key"][len(prefix) :], o["Size"]) for o in page.get("Contents", [])]
        if not entries and target.key:  # a team's prefix exists before its first object
            raise FileNotFoundError(f"{target}: no such file or directory")
        return sorted(entries, key=lambda e: e.relative)

    def walk(self, target: LakePath) -> Iterator[Entry]:
        prefix = self._key(target) + "/"
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if not obj["Key"].endswith("/"):  # "directory marker" objects made by consoles
                    yield Entry(obj["Key"][len(prefix) :], obj["Size"])

    def _put(self, local: Path, target: LakePath, progress: Progress) -> None:
        self.client.upload_file(
            str(local), self.bucket, self._key(target), Config=self.transfer, Callback=progress.advance
        )

    def _get(self, source: LakePath, local: Path, progress: Progress) -> None:
        self.client.download_file(
            self.bucket, self._key(source), str(local), Config=self.transfer, Callback=progress.advance
        )

    def _delete(self, targets: list[LakePath]) -> None:
        keys = [{"Key": self._key(t)} for t in targets]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys per request
            response = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000]})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise PermissionError(f"s3://{self.bucket}/{first['Key']}: {first['Code']}: {first['Message']}")

    def read_bytes(self, target: LakePath) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(target))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def write_bytes(self, target: LakePath, data: bytes, content_type: str = "application/octet-stream") -> str:
        self._check_own(target)
        self.client.put_object(Bucket=self.bucket, Key=self._key(target), Body=data, ContentType=content_type)
        return self.uri(target)

    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]:
        credentials = self.session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials else None
        endpoint = urlparse(self.client.meta.endpoint_url)
        custom = not endpoint.hostname.endswith("amazonaws.com")  # AWS_ENDPOINT_URL (moto, LocalStack, MinIO)
        filesystem = pafs.S3FileSystem(
            access_key=frozen.access_key if frozen else None,
            secret_key=frozen.secret_key if frozen else None,
            session_token=frozen.token if frozen else None,
            anonymous=frozen is None,
            region=self.client.meta.region_name,
            endpoint_override=endpoint.netloc if custom else None,
            scheme=endpoint.scheme if custom else "https",
        )
        return filesystem, "/".join(p for p in (self.bucket, self.base) if p)


def open_storage(config: PlatformConfig, team: str, **s3_options: int) -> LakeStorage:
    """The team's storage on ``config``'s lake: :class:`S3Storage` for ``s3://`` roots, else :class:`LocalStorage`.

    ``team`` may also be :data:`PLATFORM`, the platform's own prefix (its cost data). ``s3_options``: ``multipart_threshold`` / ``multipart_chunksize`` in bytes (S3 only).
    Raises ``ConfigError`` when ``team`` is not declared.
    """
    if config.lake.is_s3:
        return S3Storage(config, team, **s3_options)
    return LocalStorage(config, team)
