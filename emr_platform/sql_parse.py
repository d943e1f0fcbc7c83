"""Spark's own SQL parser, from Python, for checking a SQL asset before it runs.

The parser is Spark's (Catalyst's ``CatalystSqlParser``, in the JVM that pyspark ships), so
what it accepts is exactly what the job will accept: no second SQL dialect to drift from
Spark's. It parses only (no analysis, no data, no Spark session). Starting the JVM takes
several seconds, so one gateway serves the whole process and it is started on first use:
callers parse at check time (``dg check defs``, tests), not on every definitions load.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

_RELATION = re.compile(r"'UnresolvedRelation \[(.*?)\], \[")
_CTE = re.compile(r"^(?:[ :|+-]*)CTE \[(.*?)\]\s*$", re.MULTILINE)
_POSITION = re.compile(r"\(line (\d+), pos (\d+)\)")
_lock = threading.Lock()
# The parser's JVM lives for a few parses: C1 alone compiles what they run (C2's optimizing
# compiles never pay back in a JVM this short-lived), one GC thread is enough. Measured on 2 cores
# (2026-11-27, a process starting the JVM and parsing one query, 3 runs each): 5.2 CPU-seconds
# median with the JVM's defaults, 3.6 with these.
PARSER_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


class SqlSyntaxError(ValueError):
    """The SQL does not parse: ``line`` (1-based, within the SQL text) and ``column`` (0-based)
    where Spark's parser stopped, ``message`` its error (e.g. ``[PARSE_SYNTAX_ERROR] Syntax error
    at or near 'FORM'``)."""

    def __init__(self, message: str, line: int | None, column: int | None):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


class SqlParserUnavailable(RuntimeError):
    """Spark's parser could not be started (its JVM did not come up): the SQL was not checked."""


@dataclass(frozen=True)
class ParsedSql:
    """What a query reads: ``relations``, the table or view names it reads (multi-part names
    joined by dots, as written), minus the names of its own common table expressions (``ctes``)."""

    relations: frozenset[str]
    ctes: frozenset[str]


@cache
def _parser() -> Any:
    from pyspark import SparkConf
    from pyspark.java_gateway import launch_gateway  # the JVM only when a query is parsed

    from emr_platform.java import require_java

    try:
        require_java()
        gateway = launch_gateway(SparkConf(loadDefaults=False).set("spark.driver.extraJavaOptions", PARSER_JAVA_OPTIONS))
    except Exception as error:  # noqa: BLE001 - no java, or pyspark's own runtime error for a JVM that does not start
        raise SqlParserUnavailable(f"Spark's SQL parser did not start ({error}); the SQL was not checked") from None
    return getattr(gateway.jvm.org.apache.spark.sql.catalyst.parser, "CatalystSqlParser$").__getattr__("MODULE$")


def parse(sql: str) -> ParsedSql:
    """``sql`` (one query) parsed by Spark's parser.

    Raises :class:`SqlSyntaxError` with Spark's message and position when it does not parse, and
    :class:`SqlParserUnavailable` when the parser's JVM does not start (a later call tries again).
    """
    from py4j.protocol import Py4JJavaError

    with _lock:
        parser = _parser()
        try:
            plan = parser.parsePlan(sql)
        except Py4JJavaError as error:
            text = str(error.java_exception.getMessage())
            first = next((line for line in text.splitlines() if line.strip()), text).strip()
            found = _POSITION.search(text)
            line, column = (int(found.group(1)), int(found.group(2))) if found else (None, None)
            raise SqlSyntaxError(_POSITION.sub("", first).strip(), line, column) from None
        tree = str(plan.treeString())
    ctes = {name.strip() for names in _CTE.findall(tree) for name in names.split(",")}
    relations = {".".join(part.strip() for part in names.split(",")) for names in _RELATION.findall(tree)}
    return ParsedSql(relations=frozenset(relations - ctes), ctes=frozenset(ctes))
