"""Read-only SQL for people: the CLI's `emberline sql` and the dashboard's SQL page."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.warehouse.db import connect_readonly


class QueryRefused(Exception):
    """The query tried to write, touch files or the network, or failed: the message says which."""


@dataclass
class QueryResult:
    frame: pl.DataFrame
    truncated: bool


_WRITE_HINT = ("the warehouse is read-only here: emberline rebuilds it from the post-mortem files, so change the "
               "Markdown and re-run `emberline run` instead")


def explain_error(err: duckdb.Error) -> str:
    message = str(err).strip()
    lowered = message.lower()
    if "read-only" in lowered or "read only" in lowered:
        return f"{_WRITE_HINT} ({message.splitlines()[0]})"
    if "external access" in lowered or "permission" in lowered:
        return f"reading or writing files and the network is disabled for ad-hoc SQL ({message.splitlines()[0]})"
    return message


def run_on_connection(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int) -> QueryResult:
    if not sql.strip():
        raise QueryRefused("empty query")
    try:
        cursor = con.execute(sql)
        if cursor.description is None:
            return QueryResult(pl.DataFrame(), False)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchmany(max_rows + 1)
        truncated = len(rows) > max_rows
        if truncated:
            cursor.abort()  # drop the rest: the connection must be free for the next query
    except duckdb.Error as err:
        raise QueryRefused(explain_error(err)) from err
    rows = rows[:max_rows]
    frame = pl.DataFrame({c: [r[i] for r in rows] for i, c in enumerate(columns)}, strict=False) \
        if rows else pl.DataFrame({c: [] for c in columns})
    return QueryResult(frame, truncated)


def run_readonly_query(database: Path | str, sql: str, *, max_rows: int = 10_000) -> QueryResult:
    with connect_readonly(database) as con:
        return run_on_connection(con, sql, max_rows)


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
