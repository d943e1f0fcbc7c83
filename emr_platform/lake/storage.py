"""One storage interface over a team's lake prefix: a local directory (stage local) or S3.

Every path goes through :func:`resolve` first: a path relative to the team's own prefix
(``core/flights_clean``), or a lake URI (``lake://<team>/<path>``, or ``s3://<lake bucket>/<team>/...``
on S3 stages). ``..``, absolute paths, URIs outside the lake and other teams' prefixes are
refused with :class:`PathError`; the prefixes of ``teams.<team>.upstream_teams`` are readable,
never writable.

Listing, reading, writing and deleting go through one ``pyarrow.fs`` filesystem (local, or S3
with credentials and endpoint from boto3's chain), which previews read as well. Uploads and
downloads on S3 use boto3's managed transfer instead: its multipart threshold and part size are
options of ``emr-platform files``, and pyarrow's S3 output stream has a fixed part size.
"""

from __future__ import annotations

import functools
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


class LakeStorage:
    """The lake as seen by one team, on a ``pyarrow.fs`` filesystem. Build with :func:`open_storage`."""

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

    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]:
        """A pyarrow filesystem and the path prefix of the lake root on it."""
        raise NotImplementedError

    @functools.cached_property
    def _filesystem(self) -> tuple[pafs.FileSystem, str]:
        return self.arrow_filesystem()

    def _check_root(self) -> None:
        """Raises ``FileNotFoundError`` when the lake root itself is missing (an empty prefix is not)."""

    def arrow_path(self, target: LakePath) -> tuple[pafs.FileSystem, str]:
        filesystem, base = self._filesystem
        return filesystem, "/".join(p for p in (base, target.owner, target.key) if p)

    def _info(self, target: LakePath) -> tuple[pafs.FileSystem, str, pafs.FileInfo]:
        filesystem, path = self.arrow_path(target)
        return filesystem, path, filesystem.get_file_info(path)

    def is_file(self, target: LakePath) -> bool:
        return bool(target.key) and self._info(target)[2].type == pafs.FileType.File

    def list(self, target: LakePath) -> list[Entry]:
        """The direct children of a directory (or the file itself); raises ``FileNotFoundError`` if none."""
        filesystem, path, info = self._info(target)
        if info.type == pafs.FileType.File:
            return [Entry(target.name, info.size)]
        if info.type == pafs.FileType.NotFound:
            if target.key:  # a team's prefix exists before its first file
                raise FileNotFoundError(f"{target}: no such file or directory")
            self._check_root()
            return []
        found = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True))
        return sorted((Entry(i.base_name, i.size if i.is_file else None) for i in found), key=lambda e: e.relative)

    def walk(self, target: LakePath) -> Iterator[Entry]:
        """Every file under ``target``, recursively, sorted by relative path."""
        filesystem, path = self.arrow_path(target)
        found = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True, recursive=True))
        # Directories (and S3's "directory marker" objects, made by consoles) are no files.
        files = [Entry(i.path[len(path) + 1 :], i.size) for i in found if i.type == pafs.FileType.File]
        yield from sorted(files, key=lambda e: e.relative)

    def _put(self, local: Path, target: LakePath, progress: Progress) -> None:
        with local.open("rb") as source, self._output(target) as out:
            while chunk := source.read(8 * MIB):
                out.write(chunk)
                progress.advance(len(chunk))

    def _get(self, source: LakePath, local: Path, progress: Progress) -> None:
        filesystem, path = self.arrow_path(source)
        with filesystem.open_input_stream(path) as stream, local.open("wb") as out:
            while chunk := stream.read(8 * MIB):
                out.write(chunk)
                progress.advance(len(chunk))

    def _output(self, target: LakePath, content_type: str = "application/octet-stream"):
        filesystem, path = self.arrow_path(target)
        return filesystem.open_output_stream(path, metadata={"Content-Type": content_type})

    def _delete(self, targets: list[LakePath]) -> None:
        for target in targets:
            filesystem, path = self.arrow_path(target)
            filesystem.delete_file(path)

    def read_bytes(self, target: LakePath) -> bytes | None:
        """The bytes of ``target``, or None when nothing is stored there."""
        filesystem, path = self.arrow_path(target)
        try:
            with filesystem.open_input_stream(path) as stream:
                return stream.read()
        except FileNotFoundError:
            return None

    def write_bytes(self, target: LakePath, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data`` at ``target`` (which must be this storage's own prefix), replacing what was
        there (atomically on local disk); returns its URI. Raises :class:`PathError` otherwise."""
        if target.owner != self.team:
            raise PathError(f"{target}: {self.team} writes only its own prefix")
        with self._output(target, content_type) as out:
            out.write(data)
        return self.uri(target)

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

    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]:
        return pafs.LocalFileSystem(), str(self.root)

    def arrow_path(self, target: LakePath) -> tuple[pafs.FileSystem, str]:
        path = (self.root / target.owner / target.key).resolve()
        # A symlink inside the lake must not lead out of the owner's prefix.
        if not path.is_relative_to(self.root / target.owner):
            raise PathError(f"{target}: resolves outside {target.owner}'s prefix ({path})")
        return super().arrow_path(target)

    def _output(self, target: LakePath, content_type: str = "application/octet-stream"):
        filesystem, path = self.arrow_path(target)
        filesystem.create_dir(str(Path(path).parent), recursive=True)
        return filesystem.open_output_stream(path)

    def write_bytes(self, target: LakePath, data: bytes, content_type: str = "application/octet-stream") -> str:
        partial = LakePath(target.owner, target.key + ".partial")
        super().write_bytes(partial, data, content_type)
        filesystem, path = self.arrow_path(target)
        filesystem.move(self.arrow_path(partial)[1], path)  # a rename: readers never see half a file
        return path


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

    def _put(self, local: Path, target: LakePath, progress: Progress) -> None:
        self.client.upload_file(
            str(local), self.bucket, self._key(target), Config=self.transfer, Callback=progress.advance
        )

    def _get(self, source: LakePath, local: Path, progress: Progress) -> None:
        self.client.download_file(
            self.bucket, self._key(source), str(local), Config=self.transfer, Callback=progress.advance
        )

    def _check_root(self) -> None:
        # pyarrow reports a prefix of a missing bucket as not found, like an empty prefix
        if self._filesystem[0].get_file_info(self.bucket).type == pafs.FileType.NotFound:
            raise FileNotFoundError(f"s3://{self.bucket}: the lake's bucket does not exist (NoSuchBucket)")

    def _delete(self, targets: list[LakePath]) -> None:
        # Not pyarrow's delete_file: one request per key, and it leaves a directory marker object
        # in place of the last file of a directory.
        keys = [{"Key": self._key(t)} for t in targets]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys per request
            response = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000]})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise PermissionError(f"s3://{self.bucket}/{first['Key']}: {first['Code']}: {first['Message']}")

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
            allow_delayed_open=True,  # lets a write below one part go up as a single PUT, as before
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
