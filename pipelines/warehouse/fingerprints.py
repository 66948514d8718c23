"""Fingerprints: has what a step or a report reads changed since it last ran?

A fingerprint is a sha256 hex digest. Two tables in the working warehouse keep the last one
recorded: `step_fingerprints` (one row per pipeline step that can skip, e.g. the theme build)
and `report_fingerprints` (one row per report kind and period). A step or report whose
fingerprint equals the recorded one is not recomputed; anything that cannot be fingerprinted
(a missing table, a missing output file) counts as changed.

Table contents are fingerprinted inside DuckDB (row count and the sum of every row's hash), so
fingerprinting 10,000 post-mortems' rows costs milliseconds and nothing is loaded into Python.
DuckDB's `hash` is stable for one DuckDB version; after an upgrade every fingerprint differs
once, which costs one full run, never a stale output.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import duckdb

SCHEMA = """
CREATE TABLE IF NOT EXISTS step_fingerprints (
    step VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL, recorded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS report_fingerprints (
    kind VARCHAR NOT NULL, period VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, written_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, period));
"""

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # pipelines/


def ensure_fingerprint_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def digest(*parts: object) -> str:
    """sha256 over the parts' repr: deterministic for the str, number, date, list, dict and
    dataclass values that reports and settings are made of."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def relation_fingerprint(con: duckdb.DuckDBPyConnection, relations: Mapping[str, str]) -> str:
    """The rows of each relation (name -> a table name, or a SELECT of the columns that matter),
    order of rows ignored; a relation over a missing table has its own marker."""
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    parts = []
    for name, relation in sorted(relations.items()):
        if name not in present:
            parts.append((name, "absent"))
            continue
        source = relation if relation.lstrip().upper().startswith("SELECT") else f'SELECT * FROM "{relation}"'
        count, total = con.execute(f"SELECT count(*), coalesce(sum(hash(r)), 0) FROM ({source}) r").fetchall()[0]
        parts.append((name, count, str(total)))
    return digest(*parts)


def table_fingerprint(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> str:
    """The contents of whole tables (see relation_fingerprint)."""
    return relation_fingerprint(con, {table: table for table in tables})


# Tables no report, export or view reads: the vector cache (read through the theme tables),
# ingest's own bookkeeping (timestamps of when files were read) and the fingerprints.
NOT_READ_BY_OUTPUTS = frozenset({"embeddings", "source_files", "ingest_issues", "step_fingerprints",
                                 "report_fingerprints"})


# Columns that say when a row was written, rewritten with the same content on every run and
# read by no output: left out, or no run would ever find its inputs unchanged.
WRITTEN_AT_COLUMNS = {"eval_case_status": "checked_at", "eval_issues": "recorded_at"}


def warehouse_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """Every table of the warehouse but NOT_READ_BY_OUTPUTS (without WRITTEN_AT_COLUMNS): a
    table added later is covered without anyone remembering to list it."""
    tables = [r[0] for r in con.execute("""SELECT table_name FROM information_schema.tables
                                           WHERE table_schema = 'main' AND table_type = 'BASE TABLE'""").fetchall()]
    return relation_fingerprint(con, {
        t: f'SELECT * EXCLUDE ({WRITTEN_AT_COLUMNS[t]}) FROM "{t}"' if t in WRITTEN_AT_COLUMNS else t
        for t in tables if t not in NOT_READ_BY_OUTPUTS})


@cache
def code_fingerprint() -> str:
    """Every Python and SQL source of the pipelines package: a report or step computed by other
    code is computed again. Cached per process (the code does not change under a run)."""
    h = hashlib.sha256()
    for path in sorted(p for p in PACKAGE_ROOT.rglob("*") if p.suffix in {".py", ".sql"} and p.is_file()):
        h.update(str(path.relative_to(PACKAGE_ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def file_fingerprint(path: Path | str | None) -> str:
    """A configuration file's bytes; "absent" when there is none."""
    if not path:
        return "none"
    path = Path(path)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


def stored_step(con: duckdb.DuckDBPyConnection, step: str) -> str | None:
    ensure_fingerprint_schema(con)
    row = con.execute("SELECT fingerprint FROM step_fingerprints WHERE step = ?", [step]).fetchall()
    return row[0][0] if row else None


def record_step(con: duckdb.DuckDBPyConnection, step: str, fingerprint: str) -> None:
    ensure_fingerprint_schema(con)
    con.execute("INSERT OR REPLACE INTO step_fingerprints VALUES (?, ?, ?)", [step, fingerprint, datetime.now(UTC)])


def forget_step(con: duckdb.DuckDBPyConnection, step: str) -> None:
    """The step's outputs changed by other means: its next run computes them again."""
    ensure_fingerprint_schema(con)
    con.execute("DELETE FROM step_fingerprints WHERE step = ?", [step])


def stored_reports(con: duckdb.DuckDBPyConnection, kind: str) -> dict[str, str]:
    ensure_fingerprint_schema(con)
    return dict(con.execute("SELECT period, fingerprint FROM report_fingerprints WHERE kind = ?", [kind]).fetchall())


def record_reports(con: duckdb.DuckDBPyConnection, kind: str, fingerprints: Mapping[str, str]) -> None:
    """Record the fingerprints of reports that were published (never of ones only staged: a
    report that failed its check must be rendered again next run)."""
    if not fingerprints:
        return
    ensure_fingerprint_schema(con)
    periods = sorted(fingerprints)
    # One statement over unnested lists: executemany costs a statement per row (2 s for the
    # 865 external post-mortems of the 10,000 corpus).
    con.execute("""INSERT OR REPLACE INTO report_fingerprints
                   SELECT ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ?""",
                [kind, periods, [fingerprints[p] for p in periods], datetime.now(UTC)])
