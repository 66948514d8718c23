"""Cached, read-only data access for the dashboard: the only module that talks to DuckDB.

Freshness without restarts. The pipeline publishes a new warehouse by renaming a complete
file over the old one, so the file's identity (inode, mtime, size) is the warehouse's
version. Every script run pins the version it saw at its start (`pin_version`) and passes it
to every query below: the connection cache and the query-result caches are keyed by it, so a
newly published warehouse is picked up on the next interaction, and one page render never
mixes two versions.

Why not `duckdb.connect(path)`: DuckDB keeps one database instance per path while any
connection to it is open, so reconnecting to a path whose file was replaced hands back the
*old* file. Each version therefore gets its own in-memory instance that ATTACHes the file
read-only, then turns off file and network access for everything run on it (the SQL page
included) and locks that configuration.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import duckdb
import numpy as np
import polars as pl
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from pipelines.settings import PROJECT_ROOT, load_settings
from pipelines.themes.stability import caution
from pipelines.themes.vectors import unit_rows
from pipelines.warehouse.query import QueryLimits, QueryRefused, QueryResult, run_on_connection

# Query results are keyed by the warehouse version, so a new warehouse never waits for a
# TTL; the TTL only bounds how long results of old versions stay in memory.
RESULT_TTL = "1h"
SQL_ROW_CAP = 1_000
SQL_ROW_CAP_MAX = 10_000
SQL_TIMEOUT_SECONDS = 10.0
# Ad-hoc SQL shares the machine with the pipeline: bound what one query may take.
SQL_MEMORY_LIMIT = QueryLimits().memory_limit
SQL_RESULT_MB = QueryLimits().max_bytes / 1_000_000
THEME_TABLES = ("themes", "theme_assignments", "theme_items", "theme_incidents", "theme_burn")
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
EXAMPLE_QUERY_DOCS = ("docs/warehouse.md", "docs/themes.md")


class WarehouseVersion(NamedTuple):
    """Identity of one published warehouse file: a rename over it changes the inode."""

    path: str
    inode: int
    mtime_ns: int
    size: int

    @property
    def published_at(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, tz=timezone.utc)


class WarehouseChanged(RuntimeError):
    """The file was replaced while we were opening it: open the new one instead."""


def warehouse_path() -> Path:
    return load_settings().database


def current_version(path: Path | str | None = None) -> WarehouseVersion | None:
    """The warehouse at `path` (default EMBERLINE_DB) as it is now, or None if there is none."""
    path = Path(path) if path is not None else warehouse_path()
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return WarehouseVersion(str(path.resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size)


_PINNED_KEY = "_emberline_warehouse_version"


def pin_version() -> WarehouseVersion | None:
    """Called once at the top of each script run by the entrypoint; views read it back."""
    version = current_version()
    st.session_state[_PINNED_KEY] = version
    return version


def pinned_version() -> WarehouseVersion | None:
    version = st.session_state.get(_PINNED_KEY)
    return version if version is not None else pin_version()


# --------------------------------------------------------------------------------------
# Connections


def open_readonly(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A fresh, sandboxed, read-only DuckDB instance over the warehouse file at `path`."""
    con = duckdb.connect(":memory:", config={"autoload_known_extensions": "false",
                                             "autoinstall_known_extensions": "false"})
    try:
        literal = str(path).replace("'", "''")
        con.execute(f"ATTACH '{literal}' AS warehouse (READ_ONLY)")
        con.execute("USE warehouse")
        # Without its in-memory catalog the instance has nowhere to write but per-query temp tables.
        con.execute("DETACH memory")
        con.execute("SET enable_external_access = false")
        con.execute(f"SET memory_limit = '{SQL_MEMORY_LIMIT}'")
        con.execute("SET lock_configuration = true")
    except Exception:
        con.close()
        raise
    return con


# Two entries: the current version and the one before it, which a slow query in another
# session may still be reading. Older instances are closed when the last cursor lets go.
@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(version: WarehouseVersion) -> duckdb.DuckDBPyConnection:
    con = open_readonly(version.path)
    if current_version(version.path) != version:
        con.close()
        raise WarehouseChanged(version.path)
    return con


def connection(version: WarehouseVersion) -> duckdb.DuckDBPyConnection:
    try:
        return _connection(version)
    except WarehouseChanged:
        # Published again since this run pinned its version: render the page anew on the
        # newest warehouse rather than half on one and half on another.
        if get_script_run_ctx() is not None:
            st.rerun()
        raise


def read_frame(version: WarehouseVersion, sql: str, params: Mapping | Sequence | None = None) -> pl.DataFrame:
    """Run one query on its own cursor: DuckDB 2 blocks a connection while a result is
    unfinished, and Streamlit serves sessions from several threads."""
    cursor = connection(version).cursor()
    try:
        return cursor.sql(sql, params=params or None).pl()
    finally:
        cursor.close()


def read_rows(version: WarehouseVersion, sql: str, params: Mapping | Sequence | None = None) -> list[tuple]:
    cursor = connection(version).cursor()
    try:
        return cursor.execute(sql, params or []).fetchall()
    finally:
        cursor.close()


def clear_caches(*, keep_model: bool = False) -> None:
    """Forget every cached result and connection (tests and benchmarks measure cold runs);
    `keep_model` keeps the embedding model, loaded once per server process."""
    st.cache_data.clear()
    if keep_model:
        _connection.clear()
        item_vectors.clear()
    else:
        st.cache_resource.clear()


def _cached(func):
    return st.cache_data(ttl=RESULT_TTL, max_entries=512, show_spinner=False)(func)


# --------------------------------------------------------------------------------------
# Whole warehouse


@_cached
def relations(version: WarehouseVersion) -> frozenset[str]:
    """Names of the tables and views present."""
    return frozenset(r[0] for r in read_rows(version, "SELECT table_name FROM information_schema.tables"))


def has_themes(version: WarehouseVersion) -> bool:
    return set(THEME_TABLES) <= relations(version)


@_cached
def warehouse_summary(version: WarehouseVersion) -> dict:
    row = read_rows(version, """
        SELECT count(*), min(incident_date), max(incident_date), count(DISTINCT quarter),
               count(incident_date), count(severity)
        FROM postmortems""")[0]
    summary = {"incidents": row[0], "first_incident": row[1], "last_incident": row[2], "quarters": row[3],
               "dated": row[4], "with_severity": row[5], "themes": 0}
    if has_themes(version):
        summary["themes"] = read_rows(version, "SELECT count(*) FROM themes WHERE theme_set = 'root_cause'")[0][0]
    return summary


@_cached
def quarters(version: WarehouseVersion) -> list[str]:
    return [r[0] for r in read_rows(
        version, "SELECT DISTINCT quarter FROM postmortems WHERE quarter IS NOT NULL ORDER BY quarter DESC")]


@_cached
def weeks(version: WarehouseVersion) -> list[str]:
    return [r[0] for r in read_rows(
        version, "SELECT DISTINCT iso_week FROM postmortems WHERE iso_week IS NOT NULL ORDER BY iso_week DESC")]


# --------------------------------------------------------------------------------------
# Quarterly retrospective


@_cached
def quarter_summary(version: WarehouseVersion, quarter: str | None) -> dict:
    row = read_rows(version, """
        SELECT count(*),
               count(*) FILTER (WHERE severity IN ('SEV1', 'SEV2')),
               sum(customers_affected),
               round(median(minutes_to_detect) / 60, 1),
               round(median(minutes_to_resolve) / 60, 1)
        FROM postmortems WHERE $quarter IS NULL OR quarter = $quarter""", {"quarter": quarter})[0]
    return dict(zip(("incidents", "sev1_sev2", "customers_affected", "median_detect_h", "median_resolve_h"), row))


@_cached
def burn_ranking(version: WarehouseVersion, theme_set: str, quarter: str | None) -> pl.DataFrame:
    """Themes ranked by burn score over one quarter or all time (macro theme_burn_as_of,
    pipelines/themes/views.sql), with recurrence and whether the theme came back after its
    fixes (views theme_recurrence and theme_came_back)."""
    ranking = read_frame(version, """
        SELECT t.theme_id, t.name, t.top_category, b.incidents, round(b.burn_score, 1) AS burn_score,
               round(t.stability, 2) AS stability,
               b.sev1_sev2, r.quarters_present, r.longest_streak, r.current_streak,
               coalesce(c.fixes_done, 0) AS fixes_done, coalesce(c.fixes_open, 0) AS fixes_open,
               coalesce(c.came_back_after_fix, false) AS came_back_after_fix, c.last_fix_closed, b.last_incident
        FROM theme_burn_as_of(in_quarter := $quarter) b
        JOIN themes t USING (theme_set, theme_id)
        LEFT JOIN theme_recurrence r USING (theme_set, theme_id)
        LEFT JOIN theme_came_back c USING (theme_set, theme_id)
        WHERE b.theme_set = $theme_set
        ORDER BY burn_score DESC, b.incidents DESC, t.theme_id""", {"theme_set": theme_set, "quarter": quarter})
    return ranking.with_columns(pl.Series("caution", [caution(n, s) for n, s in zip(
        ranking["incidents"], ranking["stability"])], dtype=pl.String))


@_cached
def quarter_theme_counts(version: WarehouseVersion, theme_set: str, top: int) -> pl.DataFrame:
    """Incidents per quarter (view theme_counts_quarterly; zero when the theme did not occur)
    for the `top` themes by all-time burn (view theme_burn): heatmap and trend lines."""
    return read_frame(version, """
        WITH top_themes AS (
            SELECT theme_id, name, burn FROM theme_burn WHERE theme_set = $theme_set
            ORDER BY burn DESC, theme_id LIMIT $top
        ), all_quarters AS (
            SELECT DISTINCT quarter FROM postmortems WHERE quarter IS NOT NULL
        )
        SELECT tt.theme_id, tt.name, round(tt.burn, 2) AS burn_score, q.quarter, coalesce(c.incidents, 0) AS incidents
        FROM top_themes tt CROSS JOIN all_quarters q
        LEFT JOIN theme_counts_quarterly c ON c.theme_set = $theme_set AND c.theme_id = tt.theme_id
                                          AND c.quarter = q.quarter
        ORDER BY tt.burn DESC, tt.theme_id, q.quarter""", {"theme_set": theme_set, "top": top})


@_cached
def fix_effectiveness(version: WarehouseVersion, theme_set: str, limit: int = 500) -> pl.DataFrame:
    """Systemic action items per theme and how many of the theme's incidents started after
    each item's deadline (view theme_fix_effectiveness); done items the theme came back after
    first; column `total` counts all items, of which `limit` are returned."""
    return read_frame(version, """
        SELECT f.theme_id, t.name, f.fixed_incident_id, f.action_id, f.action_text, f.owner, f.deadline, f.status,
               f.incidents_after, count(*) OVER () AS total
        FROM theme_fix_effectiveness f JOIN themes t USING (theme_set, theme_id)
        WHERE f.theme_set = $theme_set
        ORDER BY f.status = 'done' AND f.incidents_after > 0 DESC, f.incidents_after DESC, f.theme_id, f.action_id
        LIMIT $limit""", {"theme_set": theme_set, "limit": limit})


@_cached
def detection_resolution_by_quarter(version: WarehouseVersion) -> pl.DataFrame:
    frame = read_frame(version, """
        SELECT quarter, count(*) AS incidents,
               round(quantile_cont(minutes_to_detect, 0.25) / 60, 2) AS p25_hours_to_detect,
               round(median(minutes_to_detect) / 60, 2) AS median_hours_to_detect,
               round(quantile_cont(minutes_to_detect, 0.75) / 60, 2) AS p75_hours_to_detect,
               round(quantile_cont(minutes_to_resolve, 0.25) / 60, 2) AS p25_hours_to_resolve,
               round(median(minutes_to_resolve) / 60, 2) AS median_hours_to_resolve,
               round(quantile_cont(minutes_to_resolve, 0.75) / 60, 2) AS p75_hours_to_resolve,
               round(quantile_cont(minutes_to_resolve, 0.9) / 60, 2) AS p90_hours_to_resolve,
               least(count(minutes_to_detect), count(minutes_to_resolve)) AS with_times
        FROM postmortems WHERE quarter IS NOT NULL GROUP BY quarter ORDER BY quarter""")
    return frame.with_columns(pl.Series("caution", [caution(n) for n in frame["with_times"]], dtype=pl.String))


@_cached
def response_times_by_incident(version: WarehouseVersion) -> pl.DataFrame:
    """Hours to detect and to resolve of every incident, by quarter: the distributions behind the medians."""
    return read_frame(version, """
        SELECT quarter, incident_id, 'time to detect' AS measure, minutes_to_detect / 60 AS hours
        FROM postmortems WHERE quarter IS NOT NULL AND minutes_to_detect IS NOT NULL
        UNION ALL
        SELECT quarter, incident_id, 'time to resolve', minutes_to_resolve / 60
        FROM postmortems WHERE quarter IS NOT NULL AND minutes_to_resolve IS NOT NULL
        ORDER BY quarter, measure, incident_id""")


@_cached
def root_cause_categories_by_quarter(version: WarehouseVersion) -> pl.DataFrame:
    return read_frame(version, """
        SELECT quarter, coalesce(category, 'uncategorised') AS category, incidents
        FROM root_causes_by_quarter ORDER BY quarter, incidents DESC""")


# --------------------------------------------------------------------------------------
# Weekly review


@_cached
def week_bounds(version: WarehouseVersion, week: str) -> tuple[date | None, date | None]:
    """Monday and Sunday of an ISO week present in the data."""
    rows = read_rows(version, """
        SELECT min(date_trunc('week', incident_date))::DATE FROM postmortems WHERE iso_week = $week""",
                     {"week": week})
    start = rows[0][0] if rows else None
    if start is None:
        return None, None
    return start, start + timedelta(days=6)


@_cached
def week_incidents(version: WarehouseVersion, week: str, theme_set: str) -> pl.DataFrame:
    """The week's incidents with the themes their causes joined; `new_themes` are themes
    first seen this week."""
    themes_join = """
        LEFT JOIN (
            SELECT a.incident_id,
                   list(DISTINCT t.name ORDER BY t.name) AS themes,
                   list(DISTINCT t.theme_id ORDER BY t.theme_id) AS theme_ids,
                   list(DISTINCT t.name ORDER BY t.name) FILTER (WHERE t.first_seen >= $start) AS new_themes
            FROM theme_assignments a JOIN themes t USING (theme_set, theme_id)
            WHERE a.theme_set = $theme_set GROUP BY a.incident_id
        ) th USING (incident_id)""" if has_themes(version) else ""
    theme_columns = "th.themes, th.theme_ids, th.new_themes," if themes_join else ""
    start, _ = week_bounds(version, week)
    params = {"week": week} | ({"theme_set": theme_set, "start": start} if themes_join else {})
    return read_frame(version, f"""
        SELECT p.incident_id, p.title, p.severity, p.team, p.status, p.incident_date, {theme_columns}
               p.customers_affected, round(p.minutes_to_resolve / 60, 1) AS hours_to_resolve,
               p.hours_to_postmortem
        FROM postmortems p {themes_join}
        WHERE p.iso_week = $week
        ORDER BY p.severity, p.incident_date, p.incident_id""", params)


@_cached
def postmortems_due(version: WarehouseVersion) -> pl.DataFrame:
    """Resolved incidents whose post-mortem is not published yet, as of now."""
    return read_frame(version, """
        SELECT incident_id, title, team, status, resolved_at, due_at, overdue
        FROM postmortems_due ORDER BY due_at DESC, incident_id""")


@_cached
def late_postmortems_in_week(version: WarehouseVersion, week: str) -> pl.DataFrame:
    return read_frame(version, """
        SELECT l.incident_id, l.title, l.team, l.hours_to_postmortem
        FROM late_postmortems l JOIN postmortems p USING (incident_id)
        WHERE p.iso_week = $week ORDER BY l.hours_to_postmortem DESC""", {"week": week})


@_cached
def rising_themes(version: WarehouseVersion, theme_set: str, week: str) -> pl.DataFrame:
    """Themes rising in the weeks ending with `week` against their trailing baseline: the
    warehouse macro rising_themes, the weekly report's definition (numbers in policy.py)."""
    _, end = week_bounds(version, week)
    if end is None:
        return pl.DataFrame()
    return read_frame(version, """
        SELECT r.theme_id, r.name, r.recent, round(r.expected, 1) AS expected, r.baseline, r.first_seen
        FROM rising_themes([$end]) r WHERE r.theme_set = $theme_set
        ORDER BY r.recent - r.expected DESC, r.theme_id""", {"theme_set": theme_set, "end": end})


@_cached
def action_items_due(version: WarehouseVersion, week: str) -> pl.DataFrame:
    """Systemic action items not done whose deadline falls before the end of the week after
    `week`: overdue (deadline before the week's end) or due soon; latest deadline first, so
    what is due next and what just slipped lead the list."""
    start, end = week_bounds(version, week)
    if start is None:
        return pl.DataFrame()
    return read_frame(version, """
        SELECT a.incident_id, a.action_id, a.text, a.owner, a.deadline, coalesce(a.status, 'open') AS status,
               a.deadline <= $end AS overdue, ($end - a.deadline) AS days_overdue
        FROM action_items a
        WHERE a.kind = 'systemic' AND coalesce(a.status, 'open') <> 'done'
          AND a.deadline <= $end + INTERVAL 7 DAY
        ORDER BY a.deadline DESC, a.action_id""", {"end": end})


# --------------------------------------------------------------------------------------
# Themes


@_cached
def theme_options(version: WarehouseVersion, theme_set: str) -> pl.DataFrame:
    """Themes of `theme_set` first, then the other set, each largest first."""
    return read_frame(version, """
        SELECT theme_set, theme_id, name, n_incidents FROM themes
        ORDER BY theme_set <> $theme_set, theme_set, n_incidents DESC, theme_id""", {"theme_set": theme_set})


@_cached
def theme(version: WarehouseVersion, theme_id: str) -> dict | None:
    frame = read_frame(version, """
        SELECT theme_set, theme_id, name, name_source, keywords, representative_item_ids, representative_texts,
               category_mix, top_category, n_items, n_incidents, first_seen, last_seen, stability
        FROM themes WHERE theme_id = $theme_id""", {"theme_id": theme_id})
    return frame.row(0, named=True) if frame.height else None


@_cached
def theme_incident_list(version: WarehouseVersion, theme_id: str) -> pl.DataFrame:
    return read_frame(version, """
        SELECT p.incident_id, p.title, p.severity, p.quarter, p.incident_date, p.team,
               string_agg(i.text, ' | ' ORDER BY i.item_id) AS texts,
               round(max(a.similarity), 3) AS similarity
        FROM theme_assignments a
        JOIN postmortems p USING (incident_id)
        LEFT JOIN theme_items i USING (theme_set, item_id)
        WHERE a.theme_id = $theme_id
        GROUP BY ALL ORDER BY p.incident_date DESC, p.incident_id""", {"theme_id": theme_id})


@_cached
def theme_quarterly(version: WarehouseVersion, theme_id: str) -> pl.DataFrame:
    return read_frame(version, """
        WITH all_quarters AS (SELECT DISTINCT quarter FROM postmortems WHERE quarter IS NOT NULL)
        SELECT q.quarter, coalesce(c.incidents, 0) AS incidents
        FROM all_quarters q LEFT JOIN theme_counts_quarterly c ON c.quarter = q.quarter AND c.theme_id = $theme_id
        ORDER BY q.quarter""", {"theme_id": theme_id})


@_cached
def theme_lineage(version: WarehouseVersion, theme_id: str) -> pl.DataFrame:
    if "theme_lineage" not in relations(version):
        return pl.DataFrame()
    return read_frame(version, """
        SELECT run_at, run_id, theme_id, event, related_theme_ids, n_items, detail
        FROM theme_lineage
        WHERE theme_id = $theme_id OR list_contains(related_theme_ids, $theme_id)
        ORDER BY run_at DESC, run_id, theme_id""", {"theme_id": theme_id})


@_cached
def related_themes(version: WarehouseVersion, theme_id: str, limit: int = 8) -> pl.DataFrame:
    """Themes sharing incidents with this one (what theme_cooccurrence counts, for one theme
    only), then the nearest themes by centroid."""
    return read_frame(version, """
        WITH me AS (SELECT theme_set, centroid FROM themes WHERE theme_id = $theme_id),
        mine AS (SELECT DISTINCT incident_id FROM theme_assignments WHERE theme_id = $theme_id),
        co AS (
            SELECT a.theme_id, count(DISTINCT a.incident_id) AS shared_incidents
            FROM theme_assignments a JOIN mine USING (incident_id)
            WHERE a.theme_set = (SELECT theme_set FROM me) AND a.theme_id <> $theme_id
            GROUP BY a.theme_id
        )
        SELECT t.theme_id, t.name, coalesce(co.shared_incidents, 0) AS shared_incidents,
               round(list_cosine_similarity(t.centroid, me.centroid), 3) AS similarity
        FROM themes t JOIN me USING (theme_set) LEFT JOIN co USING (theme_id)
        WHERE t.theme_id <> $theme_id
        ORDER BY shared_incidents DESC, similarity DESC NULLS LAST, t.theme_id
        LIMIT $limit""", {"theme_id": theme_id, "limit": limit})


# --------------------------------------------------------------------------------------
# Incidents


@_cached
def incident_filter_options(version: WarehouseVersion) -> dict[str, list[str]]:
    def distinct(sql: str) -> list[str]:
        return [r[0] for r in read_rows(version, sql) if r[0] is not None]

    options = {
        "quarter": distinct("SELECT DISTINCT quarter FROM postmortems ORDER BY 1 DESC"),
        "severity": distinct("SELECT DISTINCT severity FROM postmortems ORDER BY 1"),
        "category": distinct("SELECT DISTINCT category FROM root_causes ORDER BY 1"),
        "provider": distinct("SELECT DISTINCT provider FROM model_configs ORDER BY 1"),
        "model": distinct("SELECT DISTINCT model FROM model_configs ORDER BY 1"),
        "theme": [],
    }
    if has_themes(version):
        options["theme"] = distinct("SELECT theme_id FROM themes ORDER BY theme_set DESC, theme_id")
    return options


@_cached
def theme_names(version: WarehouseVersion) -> dict[str, str]:
    if not has_themes(version):
        return {}
    return dict(read_rows(version, "SELECT theme_id, name FROM themes"))


def _filter_clause(filters: Mapping[str, Sequence[str]]) -> tuple[str, dict]:
    """SQL conditions on `incidents i` for the Incidents page's filters (empty = any)."""
    clauses, params = [], {}
    direct = {"quarter": "i.quarter", "severity": "i.severity", "provider": "i.provider", "model": "i.model"}
    for name, column in direct.items():
        if filters.get(name):
            clauses.append(f"{column} IN (SELECT unnest(${name}))")
            params[name] = list(filters[name])
    if filters.get("category"):
        clauses.append("i.incident_id IN (SELECT incident_id FROM root_causes WHERE category IN (SELECT unnest($category)))")
        params["category"] = list(filters["category"])
    if filters.get("theme"):
        clauses.append("i.incident_id IN (SELECT incident_id FROM theme_assignments WHERE theme_id IN (SELECT unnest($theme)))")
        params["theme"] = list(filters["theme"])
    return (" AND ".join(clauses) or "true"), params


def _freeze(filters: Mapping[str, Sequence[str]]) -> tuple:
    return tuple(sorted((k, tuple(v)) for k, v in filters.items() if v))


def search_incidents(version: WarehouseVersion, text: str, filters: Mapping[str, Sequence[str]],
                     limit: int = 500) -> pl.DataFrame:
    """Incidents whose title, summary or root causes contain every word of `text`."""
    return _search_incidents(version, text.strip(), _freeze(filters), limit)


@_cached
def _search_incidents(version: WarehouseVersion, text: str, frozen_filters: tuple, limit: int) -> pl.DataFrame:
    where, params = _filter_clause(dict(frozen_filters))
    words = [w for w in re.split(r"\s+", text) if w][:8]
    for n, word in enumerate(words):
        params[f"w{n}"] = f"%{word}%"
        where += f" AND haystack ILIKE $w{n}"
    return read_frame(version, f"""
        WITH haystacks AS (
            SELECT p.incident_id,
                   concat_ws(' ', p.title, p.summary,
                             (SELECT string_agg(concat_ws(' ', r.title, r.description, r.evals_missed_why), ' ')
                              FROM root_causes r WHERE r.incident_id = p.incident_id)) AS haystack
            FROM postmortems p
        )
        SELECT i.incident_id, i.title, i.severity, i.quarter, i.incident_date, i.team, i.provider, i.model,
               i.root_cause_count, round(i.completeness, 2) AS completeness
        FROM incidents i JOIN haystacks h USING (incident_id)
        WHERE {where}
        ORDER BY i.incident_date DESC NULLS LAST, i.incident_id DESC
        LIMIT {int(limit)}""", params)


# The embedding model is loaded once per server process and only when someone searches by
# meaning: it takes seconds to load and most page views never need it.
@st.cache_resource(show_spinner="Loading the embedding model…")
def embedder():
    from pipelines.themes.embed import load_embedder

    return load_embedder(fast=True)


class ItemVectors(NamedTuple):
    model_id: str
    item_ids: list[str]
    incident_ids: np.ndarray
    matrix: np.ndarray  # one normalised row per theme item


@st.cache_resource(max_entries=2, show_spinner=False)
def item_vectors(version: WarehouseVersion, dim: int, model_id: str | None = None) -> ItemVectors | None:
    """Every embedded root cause and eval gap of the warehouse as one matrix, for search by
    meaning: the vectors of `model_id` (the query's model) when stored, else those of the
    model whose vectors have `dim` dimensions and cover most items."""
    if not {"embeddings", "theme_items"} <= relations(version):
        return None
    best = read_rows(version, """
        SELECT e.model_id FROM embeddings e JOIN theme_items i USING (text_hash)
        WHERE e.dim = $dim GROUP BY e.model_id
        ORDER BY e.model_id = $model_id DESC, count(*) DESC, e.model_id LIMIT 1""", {"dim": dim, "model_id": model_id})
    if not best:
        return None
    model_id = best[0][0]
    frame = read_frame(version, """
        SELECT i.item_id, i.incident_id, e.vector
        FROM theme_items i JOIN embeddings e ON e.text_hash = i.text_hash AND e.model_id = $model_id""",
                       {"model_id": model_id})  # no ORDER BY: sorting 30,000 vectors doubles the load time
    matrix = frame["vector"].cast(pl.List(pl.Float32)).list.to_array(dim).to_numpy().reshape(frame.height, dim)
    matrix = unit_rows(matrix, dtype=np.float32)
    return ItemVectors(model_id, frame["item_id"].to_list(), frame["incident_id"].to_numpy(), matrix)


class MeaningSearchUnavailable(RuntimeError):
    """No embedding model or no stored vectors: the message says which."""


def search_by_meaning(version: WarehouseVersion, text: str, filters: Mapping[str, Sequence[str]],
                      limit: int = 50) -> pl.DataFrame:
    """Incidents ranked by the best cosine between `text` and any of their embedded causes
    or eval gaps."""
    try:
        model = embedder()
    except Exception as err:  # a missing or broken model must not take the page down
        raise MeaningSearchUnavailable(f"the embedding model could not be loaded ({err})") from err
    query = np.asarray(model.encode([text]), dtype=np.float32)[0]
    vectors = item_vectors(version, int(query.shape[0]), getattr(model, "model_id", None))
    if vectors is None or not len(vectors.item_ids):
        raise MeaningSearchUnavailable("this warehouse has no stored embeddings yet: run `make run` to build themes")
    query = unit_rows(query)
    scores = vectors.matrix @ query
    best = pl.DataFrame({"incident_id": vectors.incident_ids, "score": scores}) \
        .group_by("incident_id").agg(pl.col("score").max()) \
        .sort(["score", "incident_id"], descending=[True, False])
    matches = _search_incidents(version, "", _freeze(filters), 1_000_000)
    return (best.join(matches, on="incident_id", how="inner")
            .sort(["score", "incident_id"], descending=[True, False]).head(limit)
            .with_columns(pl.col("score").round(3)))


@_cached
def incident(version: WarehouseVersion, incident_id: str) -> dict | None:
    frame = read_frame(version, """
        SELECT p.*, m.provider, m.model, m.model_version, m.temperature, m.top_p, m.max_tokens,
               m.system_prompt_version, m.retrieval_index_version
        FROM postmortems p LEFT JOIN model_configs m USING (incident_id)
        WHERE p.incident_id = $id""", {"id": incident_id})
    return frame.row(0, named=True) if frame.height else None


@_cached
def incident_causes(version: WarehouseVersion, incident_id: str) -> pl.DataFrame:
    theme_columns, theme_join = "", ""
    if has_themes(version):
        theme_columns = ", a.theme_id, t.name AS theme, a.reason AS theme_note"
        theme_join = """LEFT JOIN theme_assignments a ON a.theme_set = 'root_cause' AND a.item_id = r.cause_id
                        LEFT JOIN themes t ON t.theme_set = 'root_cause' AND t.theme_id = a.theme_id"""
    return read_frame(version, f"""
        SELECT r.cause_id, r.category, r.category_source, r.title, r.description, r.evals_missed_why {theme_columns}
        FROM root_causes r {theme_join}
        WHERE r.incident_id = $id ORDER BY r.seq""", {"id": incident_id})


@_cached
def incident_prompt_diffs(version: WarehouseVersion, incident_id: str) -> pl.DataFrame:
    return read_frame(version, """
        SELECT seq, before_text, after_text, diff_text FROM prompt_diffs WHERE incident_id = $id ORDER BY seq""",
                      {"id": incident_id})


@_cached
def incident_lint_findings(version: WarehouseVersion, incident_id: str) -> pl.DataFrame:
    return read_frame(version, """
        SELECT severity, rule_id, rule, line, message, hint FROM lint_findings WHERE incident_id = $id
        ORDER BY severity = 'error' DESC, line NULLS FIRST, rule_id""", {"id": incident_id})


@_cached
def incident_action_items(version: WarehouseVersion, incident_id: str) -> pl.DataFrame:
    return read_frame(version, """
        SELECT kind, text, owner, deadline, status FROM action_items WHERE incident_id = $id ORDER BY seq""",
                      {"id": incident_id})


@_cached
def similar_incidents(version: WarehouseVersion, incident_id: str) -> pl.DataFrame:
    if "similar_incidents" not in relations(version):
        return pl.DataFrame()
    return read_frame(version, """
        SELECT s.rank, s.similar_incident_id AS incident_id, p.title, p.severity, p.quarter,
               round(s.similarity, 3) AS similarity
        FROM similar_incidents s JOIN postmortems p ON p.incident_id = s.similar_incident_id
        WHERE s.incident_id = $id ORDER BY s.rank""", {"id": incident_id})


# --------------------------------------------------------------------------------------
# Post-mortem health


@_cached
def health_by_quarter(version: WarehouseVersion) -> pl.DataFrame:
    return read_frame(version, "SELECT * FROM postmortem_health WHERE quarter IS NOT NULL ORDER BY quarter")


@_cached
def health_totals(version: WarehouseVersion, quarter: str | None) -> dict:
    row = read_rows(version, """
        SELECT count(*), avg(completeness), avg(published_in_time(hours_to_postmortem)),
               count(*) FILTER (WHERE new_eval_case_id IS NULL AND new_eval_case_checks IS NULL)
        FROM postmortems WHERE $quarter IS NULL OR quarter = $quarter""", {"quarter": quarter})[0]
    return dict(zip(("postmortems", "avg_completeness", "share_within_72h", "without_eval_case"), row))


@_cached
def parse_notes(version: WarehouseVersion, quarter: str | None) -> pl.DataFrame:
    """What the parser did not understand, per file (table parse_notes)."""
    return read_frame(version, """
        SELECT n.incident_id, n.source_path, n.line, replace(n.kind, '_', ' ') AS what, n.detail
        FROM parse_notes n LEFT JOIN postmortems p USING (incident_id)
        WHERE $quarter IS NULL OR p.quarter = $quarter
        ORDER BY n.kind, n.source_path, n.line""", {"quarter": quarter})


@_cached
def sensitive_and_blame_findings(version: WarehouseVersion, quarter: str | None) -> pl.DataFrame:
    return read_frame(version, """
        SELECT f.incident_id, p.title, f.rule_id, f.rule, f.line, f.message, f.hint, f.source_path
        FROM lint_findings f LEFT JOIN postmortems p USING (incident_id)
        WHERE f.rule_id IN ('EL006', 'EL007') AND ($quarter IS NULL OR p.quarter = $quarter)
        ORDER BY f.rule_id, f.incident_id, f.line""", {"quarter": quarter})


@_cached
def missing_sections(version: WarehouseVersion, quarter: str | None) -> pl.DataFrame:
    return read_frame(version, """
        SELECT section, count(*) AS postmortems
        FROM (SELECT unnest(missing_sections) AS section FROM postmortems WHERE $quarter IS NULL OR quarter = $quarter)
        GROUP BY section ORDER BY postmortems DESC, section""", {"quarter": quarter})


@_cached
def incomplete_postmortems(version: WarehouseVersion, quarter: str | None) -> pl.DataFrame:
    return read_frame(version, """
        SELECT incident_id, title, team, status, round(completeness, 2) AS completeness, missing_sections,
               hours_to_postmortem
        FROM postmortems WHERE completeness < 1 AND ($quarter IS NULL OR quarter = $quarter)
        ORDER BY completeness, incident_id""", {"quarter": quarter})


@_cached
def late_postmortems(version: WarehouseVersion, quarter: str | None) -> pl.DataFrame:
    return read_frame(version, """
        SELECT l.incident_id, l.title, l.team, round(l.hours_to_postmortem, 1) AS hours_to_postmortem
        FROM late_postmortems l JOIN postmortems p USING (incident_id)
        WHERE $quarter IS NULL OR p.quarter = $quarter ORDER BY l.hours_to_postmortem DESC""", {"quarter": quarter})


@_cached
def incidents_without_eval_case(version: WarehouseVersion, quarter: str | None) -> pl.DataFrame:
    return read_frame(version, """
        SELECT incident_id, title, team, status, quarter FROM incidents_without_eval_case
        WHERE $quarter IS NULL OR quarter = $quarter ORDER BY quarter DESC NULLS LAST, incident_id""",
                      {"quarter": quarter})


# --------------------------------------------------------------------------------------
# SQL page


@_cached
def schema(version: WarehouseVersion) -> pl.DataFrame:
    """Every table and view with its columns, for the schema browser."""
    return read_frame(version, """
        SELECT t.table_name, t.table_type, c.column_name, c.data_type, c.ordinal_position
        FROM information_schema.tables t JOIN information_schema.columns c USING (table_catalog, table_schema, table_name)
        WHERE t.table_catalog = 'warehouse' AND t.table_schema = 'main'
        ORDER BY t.table_type, t.table_name, c.ordinal_position""")


class ExampleQuery(NamedTuple):
    title: str
    sql: str


def parse_example_queries(markdown: str) -> list[ExampleQuery]:
    """Statements inside ```sql blocks, each titled by the comment above it
    (`-- 1. Incidents per quarter…` or `-- Incidents per quarter…`)."""
    examples = []
    for block in re.findall(r"```sql\n(.*?)```", markdown, flags=re.S):
        for statement in re.findall(r".*?;", block, flags=re.S):
            lines = [line.strip() for line in statement.strip().splitlines()]
            comments = [line[2:].strip() for line in lines if line.startswith("--")]
            sql = "\n".join(line for line in lines if line and not line.startswith("--"))
            if comments and sql:
                examples.append(ExampleQuery(re.sub(r"^\d+\.\s*", "", comments[0]), sql))
    return examples


@st.cache_data(show_spinner=False)
def example_queries() -> list[ExampleQuery]:
    """The documented example queries: one source, the docs, so the two never disagree."""
    examples = []
    for name in EXAMPLE_QUERY_DOCS:
        path = PROJECT_ROOT / name
        if path.exists():
            examples += parse_example_queries(path.read_text(encoding="utf-8"))
    return examples


def run_sql(version: WarehouseVersion, sql: str, *, max_rows: int = SQL_ROW_CAP,
            timeout_s: float = SQL_TIMEOUT_SECONDS) -> QueryResult:
    """Run people's SQL read-only and sandboxed, at most `max_rows` rows, stopped after
    `timeout_s` seconds. Raises QueryRefused with a message fit to show inline."""
    limits = QueryLimits(max_rows=max(1, min(int(max_rows), SQL_ROW_CAP_MAX)), timeout_s=timeout_s)
    return run_on_connection(connection(version), sql, limits=limits)


# --------------------------------------------------------------------------------------
# The eval suite (pipelines/evals): is each incident a regression test, and does it pass?

EVAL_TABLES = ("eval_case_status", "eval_results", "eval_issues")


def has_eval_suite(version: WarehouseVersion) -> bool:
    return set(EVAL_TABLES) <= relations(version)


@_cached
def eval_gap_theme_coverage(version: WarehouseVersion) -> pl.DataFrame:
    if "eval_gap_theme_coverage" not in relations(version):
        return pl.DataFrame()
    return read_frame(version, """
        SELECT theme_id, name, incidents, cases_present, cases_missing, cases_not_named, passing, failing,
               coverage
        FROM eval_gap_theme_coverage ORDER BY coverage, incidents DESC, theme_id""")


@_cached
def eval_case_outcomes(version: WarehouseVersion, quarter: str | None) -> pl.DataFrame:
    """Per incident: its regression case's state, failing first, then missing."""
    return read_frame(version, """
        SELECT incident_id, outcome, status, promised_case, suite_file, owner,
               strftime(last_run_at, '%Y-%m-%d') AS last_run, ran_recently, quarter
        FROM eval_case_status
        WHERE $quarter IS NULL OR quarter = $quarter
        ORDER BY CASE outcome WHEN 'failing' THEN 0 WHEN 'missing' THEN 1 WHEN 'not_run' THEN 2
                              WHEN 'not_named' THEN 3 ELSE 4 END, incident_id""", {"quarter": quarter})


@_cached
def eval_outcome_counts(version: WarehouseVersion, quarter: str | None) -> dict[str, int]:
    return dict(read_rows(version, """
        SELECT outcome, count(*) FROM eval_case_status WHERE $quarter IS NULL OR quarter = $quarter
        GROUP BY ALL""", {"quarter": quarter}))


@_cached
def eval_issues(version: WarehouseVersion) -> pl.DataFrame:
    return read_frame(version, "SELECT severity, source_file, message FROM eval_issues ORDER BY severity, source_file")
