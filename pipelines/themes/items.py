"""What gets clustered: one item per root cause and one per eval gap, with the exact text
that is embedded.

Root cause text: "<title>. <description>" (the description alone when it already starts with
the title), because the title names the weakness and the description says how it played out.
Eval gap text: the gap statement as written. Both are whitespace-normalised.
"""

from __future__ import annotations

import re

import duckdb
import polars as pl

from pipelines.themes.embed import text_hash

THEME_SETS = ("root_cause", "eval_gap")
ID_PREFIX = {"root_cause": "RC", "eval_gap": "EG"}


def root_cause_text(title: str | None, description: str | None) -> str:
    title = (title or "").strip().rstrip(".…")
    description = (description or "").strip()
    if not title:
        text = description
    elif not description or description.lower().startswith(title.lower()):
        text = description or title
    else:
        text = f"{title}. {description}"
    return re.sub(r"\s+", " ", text).strip()


def load_items(con: duckdb.DuckDBPyConnection, theme_set: str) -> pl.DataFrame:
    """Items of one theme set, in a deterministic order (incident, then sequence)."""
    if theme_set == "root_cause":
        rows = con.execute("""
            SELECT r.cause_id, r.incident_id, r.title, r.description, r.category, p.incident_date
            FROM root_causes r JOIN postmortems p USING (incident_id)
            ORDER BY r.incident_id, r.seq""").fetchall()
        records = [(cid, iid, root_cause_text(t, d), cat, day) for cid, iid, t, d, cat, day in rows]
    elif theme_set == "eval_gap":
        rows = con.execute("""
            SELECT g.gap_id, g.incident_id, g.text, p.incident_date
            FROM eval_gaps g JOIN postmortems p USING (incident_id)
            ORDER BY g.incident_id, g.seq""").fetchall()
        records = [(gid, iid, re.sub(r"\s+", " ", text or "").strip(), None, day) for gid, iid, text, day in rows]
    else:
        raise ValueError(f"unknown theme set {theme_set!r}; expected one of {THEME_SETS}")
    records = [r for r in records if r[2]]
    frame = pl.DataFrame(records, schema={"item_id": pl.String, "incident_id": pl.String, "text": pl.String,
                                          "category": pl.String, "incident_date": pl.Date}, orient="row")
    return frame.with_columns(
        pl.col("text").map_elements(text_hash, return_dtype=pl.String).alias("text_hash"),
        pl.lit(theme_set).alias("theme_set"),
    )
