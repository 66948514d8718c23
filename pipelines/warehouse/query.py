"""Read-only SQL for people: the CLI's `emberline sql` and the dashboard's SQL page."""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.warehouse.db import connect_readonly


class QueryRefused(Exception):
    """The query was not run, or did not finish: the message (fit to show as it is) starts
    with "refused:" when the sandbox would not run it and "error:" when DuckDB failed it."""


@dataclass
class QueryResult:
    frame: pl.DataFrame
    truncated: bool
    truncated_by: str | None = None  # "rows" or "bytes" when truncated


@dataclass(frozen=True)
class QueryLimits:
    """What one ad-hoc query may take: the dashboard's SQL page and `emberline sql` share
    these (the CLI's flags raise them)."""
    max_rows: int = 10_000
    max_bytes: int = 64_000_000  # the result as Python values; 5,000 rows of 1 MB stop at 64
    timeout_s: float = 10.0
    memory_limit: str = "2GB"  # DuckDB's own working memory for the query


# Statement types DuckDB's parser may give a query here. An allow-list: anything else
# (ATTACH, DETACH, USE and SET, which change the session for every page sharing it; writes,
# COPY, EXPORT, LOAD, INSTALL, CREATE SECRET, PRAGMA, CALL, PREPARE...) is refused before it runs.
ALLOWED_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
_FILE_STATEMENTS = {duckdb.StatementType.COPY, duckdb.StatementType.COPY_DATABASE, duckdb.StatementType.EXPORT,
                    duckdb.StatementType.LOAD, duckdb.StatementType.EXTENSION}
_SESSION_STATEMENTS = {duckdb.StatementType.ATTACH, duckdb.StatementType.DETACH, duckdb.StatementType.SET,
                       duckdb.StatementType.VARIABLE_SET, duckdb.StatementType.PRAGMA,
                       duckdb.StatementType.TRANSACTION}
_EXPLAIN_PREFIX = re.compile(r"[ \t\r\n]*explain(?:[ \t\r\n]+analy[sz]e)?[ \t\r\n]+", re.IGNORECASE)
_BATCH_ROWS = 64

_WRITE_HINT = ("the warehouse is read-only here: emberline rebuilds it from the post-mortem files, so change the "
               "Markdown and re-run `emberline run` instead")
_FILES_HINT = "reading or writing files and the network is disabled for ad-hoc SQL"
_SESSION_HINT = ("statements that change the session (ATTACH, DETACH, USE, SET, PRAGMA, transactions) are not "
                 "allowed: the session is shared, and only queries run here")


def explain_error(err: duckdb.Error) -> str:
    message = str(err).strip()
    lowered = message.lower()
    if "read-only" in lowered or "read only" in lowered:
        return f"refused: {_WRITE_HINT} ({message.splitlines()[0]})"
    if "external access" in lowered or "permission" in lowered:
        return f"refused: {_FILES_HINT} ({message.splitlines()[0]})"
    return f"error: {message}"


def _refusal(kind: duckdb.StatementType) -> str | None:
    name = kind.name.replace("_", " ")
    if kind in ALLOWED_STATEMENTS:
        return None
    if kind in _FILE_STATEMENTS:
        return f"refused: {name} statements are not allowed: {_FILES_HINT}"
    if kind in _SESSION_STATEMENTS:
        return f"refused: {name} statement: {_SESSION_HINT}"
    return f"refused: {name} statements are not allowed: {_WRITE_HINT}"


def checked_statements(sql: str) -> list[str]:
    """The query's statements, each allowed by DuckDB's own reading of its type, or
    QueryRefused. EXPLAIN is allowed only over a query (EXPLAIN ANALYZE runs what it explains)."""
    if not sql.strip():
        raise QueryRefused("refused: empty query")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as err:
        raise QueryRefused(f"error: {str(err).strip()}") from err
    if not statements:
        raise QueryRefused("refused: the query has no statement, only comments: write a SELECT")
    for statement in statements:
        kind = statement.type
        if kind == duckdb.StatementType.EXPLAIN:
            prefix = _EXPLAIN_PREFIX.match(statement.query)
            try:
                inner = duckdb.extract_statements(statement.query[prefix.end():]) if prefix else []
            except duckdb.Error:
                inner = []
            kind = inner[0].type if len(inner) == 1 else duckdb.StatementType.INVALID
        refusal = _refusal(kind)
        if refusal:
            raise QueryRefused(refusal)
    return [statement.query for statement in statements]


def run_on_connection(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int | None = None,
                      limits: QueryLimits = QueryLimits()) -> QueryResult:
    """Run an allowed query on `con` (a fresh cursor: nothing a query does outlives it), at
    most `limits.max_rows` rows and `limits.max_bytes` of values, stopped after
    `limits.timeout_s` seconds."""
    max_rows = limits.max_rows if max_rows is None else max_rows
    statements = checked_statements(sql)
    cursor = con.cursor()
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        cursor.interrupt()

    timer = threading.Timer(limits.timeout_s, stop)
    timer.daemon = True
    timer.start()
    try:
        for statement in statements[:-1]:
            cursor.execute(statement).fetchall()
        cursor.execute(statements[-1])
        if cursor.description is None:
            return QueryResult(pl.DataFrame(), False)
        columns = [d[0] for d in cursor.description]
        rows, size, truncated_by = [], 0, None
        while truncated_by is None:
            batch = cursor.fetchmany(_BATCH_ROWS)
            if not batch:
                break
            for row in batch:
                if len(rows) == max_rows:
                    truncated_by = "rows"
                    break
                size += sum(_size(v) for v in row)
                if size > limits.max_bytes:
                    truncated_by = "bytes"
                    break
                rows.append(row)
    except duckdb.Error as err:
        if timed_out.is_set():
            raise QueryRefused(f"refused: stopped after {limits.timeout_s:g} s, the limit for one query; narrow "
                               "it down (a WHERE clause, a LIMIT)") from err
        raise QueryRefused(explain_error(err)) from err
    finally:
        timer.cancel()
        cursor.close()
    frame = pl.DataFrame({c: [r[i] for r in rows] for i, c in enumerate(columns)}, strict=False) \
        if rows else pl.DataFrame({c: [] for c in columns})
    return QueryResult(frame, truncated_by is not None, truncated_by)


def _size(value) -> int:
    """Roughly what a value costs once fetched: its text length, or 8 for a number."""
    if value is None or isinstance(value, (int, float, bool)):
        return 8
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return 8 + sum(_size(v) for v in value)
    if isinstance(value, dict):
        return 8 + sum(_size(k) + _size(v) for k, v in value.items())
    return len(str(value))


def run_readonly_query(database: Path | str, sql: str, *, max_rows: int | None = None,
                       limits: QueryLimits = QueryLimits()) -> QueryResult:
    checked_statements(sql)  # refuse before opening anything
    with connect_readonly(database, memory_limit=limits.memory_limit) as con:
        return run_on_connection(con, sql, max_rows, limits)


def format_result(result: QueryResult, fmt: str) -> str:
    frame = result.frame
    if fmt == "csv":
        buffer = io.StringIO()
        _stringify_nested(frame).write_csv(buffer)
        return buffer.getvalue().rstrip("\n")
    if fmt == "json":
        return json.dumps(frame.to_dicts(), default=str, indent=2)
    with pl.Config(tbl_rows=min(max(frame.height, 1), 200), tbl_cols=-1, fmt_str_lengths=80,
                   tbl_width_chars=200, tbl_hide_dataframe_shape=True):
        return str(frame)


def _stringify_nested(frame: pl.DataFrame) -> pl.DataFrame:
    nested = [c for c, t in frame.schema.items() if isinstance(t, (pl.List, pl.Struct, pl.Array))]
    return frame.with_columns(
        pl.col(c).map_elements(lambda v: json.dumps(v.to_list() if isinstance(v, pl.Series) else v, default=str),
                               return_dtype=pl.String)
        for c in nested)
