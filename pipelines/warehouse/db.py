"""Opening, creating, publishing and reading the DuckDB warehouse.

Two files: the pipeline writes its working copy (settings.build_database) and, at the end of
a run, publishes it by copying it next to the published file and renaming it over it. A
rename is atomic, so a reader either sees the previous warehouse or the new one, never a
half-written one, and readers never hold a lock the pipeline waits for.
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path
from string import Template

import duckdb
import polars as pl

from pipelines.postmortems.policy import sql_constants
from pipelines.warehouse.rows import SCHEMAS


def _sql(name: str) -> str:
    return resources.files("pipelines.warehouse").joinpath(name).read_text(encoding="utf-8")


def connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Read-write connection to the pipeline's working database, schema ensured."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    ensure_schema(con)
    return con


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    _drop_outdated_tables(con)
    con.execute(_sql("schema.sql"))


def _drop_outdated_tables(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse written by an older emberline lacks columns this one writes. The ingest
    tables are derived from the store, so they are dropped and the next ingest re-reads every
    file (source_files goes too, so no file counts as unchanged); nothing is lost."""
    existing: dict[str, set[str]] = {}
    for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'").fetchall():
        existing.setdefault(table, set()).add(column)
    outdated = [t for t, columns in SCHEMAS.items() if t in existing and not set(columns) <= existing[t]]
    if outdated:
        for table in SCHEMAS:
            if table in existing:
                con.execute(f"DROP TABLE IF EXISTS {table} CASCADE")


def create_views(con: duckdb.DuckDBPyConnection, sql_file: str = "views.sql") -> None:
    execute_sql_file(con, "pipelines.warehouse", sql_file)


def execute_sql_file(con: duckdb.DuckDBPyConnection, package: str, name: str) -> None:
    """Run one of the SQL files of `package` (views and macros). Policy numbers (the 72-hour
    rule, the rising-theme thresholds) come from pipelines.postmortems.policy, not the SQL."""
    sql = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    con.execute(Template(sql).safe_substitute(sql_constants()))


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, df: pl.DataFrame) -> int:
    """Append a frame whose columns are the table's, in the table's column order."""
    if df.height == 0:
        return 0
    columns = list(SCHEMAS[table]) if table in SCHEMAS else df.columns
    con.register("_frame", df.select(columns).to_arrow())
    try:
        con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM _frame")
    finally:
        con.unregister("_frame")
    return df.height


def publish(build_path: Path | str, published_path: Path | str) -> Path:
    """Atomically replace the published warehouse with a copy of the working one."""
    build_path, published_path = Path(build_path), Path(published_path)
    published_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(build_path)) as con:
        con.execute("CHECKPOINT")  # fold the WAL into the file so the copy is complete on its own
    tmp = published_path.with_name(f".{published_path.name}.{os.getpid()}.tmp")
    shutil.copyfile(build_path, tmp)
    os.replace(tmp, published_path)
    return published_path


def connect_readonly(path: Path | str, *, sandboxed: bool = True,
                     memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Read-only connection for people's queries.

    `sandboxed` also shuts DuckDB's access to files and the network (read_csv, COPY, ATTACH,
    httpfs), so ad-hoc SQL can only read the warehouse itself.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"no warehouse at {path}: build one with `make run` (or `emberline run`), "
            "or point EMBERLINE_DB at an existing one")
    config = {"access_mode": "READ_ONLY"}
    if memory_limit:  # an ad-hoc query: one thread builds one result chunk at a time, not one per core
        config |= {"memory_limit": memory_limit, "threads": "1"}
    if sandboxed:
        config |= {"enable_external_access": "false", "autoload_known_extensions": "false",
                   "autoinstall_known_extensions": "false", "lock_configuration": "true"}
    return duckdb.connect(str(path), read_only=True, config=config)


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]) > 0


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """First column of the first row. DuckDB 2 keeps a result open until it is fully
    fetched and refuses other work on the connection meanwhile, so fetch it all."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def query_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    """A query's full result as a Polars frame, through Arrow without an extra copy."""
    return pl.from_arrow(con.sql(sql, params=params or None).to_arrow_table())
