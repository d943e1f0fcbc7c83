"""Schema and first rows of a lake file or directory, read with pyarrow on any ``pyarrow.fs`` filesystem.

Parquet (a file, or a directory of part files as Spark writes them): the row count comes
from the files' footers, without reading data. CSV: the first rows are streamed; the total
is not counted. JSON (one object per line, or one array of objects): read whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.json as pajson
import pyarrow.parquet as pq
from pyarrow import fs as pafs

PARQUET_MAGIC = b"PAR1"
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


class PreviewError(ValueError):
    """The path cannot be previewed: unknown format, no data files, or unreadable content."""


@dataclass(frozen=True)
class Preview:
    """``head`` holds at most the requested rows; ``total_rows`` is ``None`` when not known without a full read."""

    format: str
    schema: pa.Schema
    head: pa.Table
    total_rows: int | None
    files: int


def _parquet_dir(filesystem: pafs.FileSystem, path: str, rows: int) -> Preview:
    # Spark's _SUCCESS and .crc files are skipped by the dataset's default ignore_prefixes.
    dataset = pads.dataset(path, filesystem=filesystem, format="parquet")
    fragments = list(dataset.get_fragments())
    if not fragments:
        raise PreviewError(f"{path}: directory holds no parquet files")
    total = sum(fragment.metadata.num_rows for fragment in fragments)
    return Preview("parquet", dataset.schema, dataset.head(rows), total, len(fragments))


def _parquet_file(filesystem: pafs.FileSystem, path: str, rows: int) -> Preview:
    with filesystem.open_input_file(path) as handle:
        parquet = pq.ParquetFile(handle)
        batches = parquet.iter_batches(batch_size=max(rows, 1))
        first = next(batches, None)
        schema = parquet.schema_arrow
        head = pa.Table.from_batches([first] if first is not None else [], schema=schema).slice(0, rows)
        return Preview("parquet", schema, head, parquet.metadata.num_rows, 1)


def _csv(filesystem: pafs.FileSystem, path: str, rows: int) -> Preview:
    parse = pacsv.ParseOptions(delimiter="\t" if path.endswith(".tsv") else ",")
    compression = "gzip" if path.endswith(".gz") else None
    with filesystem.open_input_stream(path, compression=compression) as stream:
        reader = pacsv.open_csv(stream, parse_options=parse)
        batches, seen = [], 0
        for batch in reader:
            batches.append(batch)
            seen += batch.num_rows
            if seen >= rows:
                break
        head = pa.Table.from_batches(batches, schema=reader.schema).slice(0, rows)
    return Preview("csv", reader.schema, head, None, 1)


def _json(filesystem: pafs.FileSystem, path: str, rows: int) -> Preview:
    with filesystem.open_input_stream(path) as stream:
        data = stream.read()
    if data.lstrip()[:1] == b"[":
        records = json.loads(data)
        if not all(isinstance(r, dict) for r in records):
            raise PreviewError(f"{path}: expected a JSON array of objects")
        table = pa.Table.from_pylist(records)
    else:
        table = pajson.read_json(pa.BufferReader(data))
    return Preview("json", table.schema, table.slice(0, rows), table.num_rows, 1)


def preview(filesystem: pafs.FileSystem, path: str, rows: int = 10) -> Preview:
    """The schema and first ``rows`` rows of the file or parquet directory at ``path`` on ``filesystem``.

    Raises ``FileNotFoundError`` when nothing is there and :class:`PreviewError` for a format
    it cannot read (the format comes from the suffix, or parquet's magic bytes).
    """
    info = filesystem.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"{path}: no such file or directory")
    try:
        if info.type == pafs.FileType.Directory:
            return _parquet_dir(filesystem, path, rows)
        lower = path.lower()
        if lower.endswith(".parquet"):
            return _parquet_file(filesystem, path, rows)
        if lower.endswith(CSV_SUFFIXES):
            return _csv(filesystem, path, rows)
        if lower.endswith(JSON_SUFFIXES):
            return _json(filesystem, path, rows)
        with filesystem.open_input_file(path) as handle:
            magic = handle.read(4)
        if magic == PARQUET_MAGIC:
            return _parquet_file(filesystem, path, rows)
    except (pa.ArrowInvalid, json.JSONDecodeError) as exc:
        raise PreviewError(f"{path}: cannot read: {exc}") from None
    raise PreviewError(f"{path}: unknown format; expected parquet, CSV ({', '.join(CSV_SUFFIXES)}) or JSON")
