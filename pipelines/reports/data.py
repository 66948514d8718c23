"""Reading the warehouse for reports: rows as dicts, and whether the theme tables are there.

Reports run against the pipeline's working copy (Dagster assets) or the published file (CLI),
and must still say something useful before the theme pipeline has produced anything.
"""

from __future__ import annotations

import re

import duckdb

from pipelines.postmortems.markdown import readable
from pipelines.warehouse.db import scalar

# The theme views the reports read (pipelines/themes/views.sql), besides the theme tables.
THEME_RELATIONS = ("themes", "theme_assignments", "theme_incidents", "incident_burn")


def records(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def relation_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]) > 0


def themes_available(con: duckdb.DuckDBPyConnection) -> bool:
    """True once the theme pipeline has written themes and their views."""
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name IN ?", [list(THEME_RELATIONS)]).fetchall()}
    return present == set(THEME_RELATIONS) and scalar(con, "SELECT count(*) FROM themes") > 0


def undated_note(con: duckdb.DuckDBPyConnection) -> str | None:
    """What a report on weeks or quarters must say about incidents with no date: they fall in
    no period, so its sections would be empty or short for a reason the reader cannot see."""
    total, undated = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE incident_date IS NULL) FROM postmortems").fetchone()
    if not undated:
        return None
    where = ("see Post-mortem health on the dashboard, or `emberline lint`, for what the post-mortems are missing "
             "(a `Started:` line, a dated timeline or front matter)")
    if undated == total:
        return f"No incident has a date, so none falls in any week or quarter: {where}."
    return (f"{plural(undated, 'incident')} of {total} {'has' if undated == 1 else 'have'} no date and "
            f"{'is' if undated == 1 else 'are'} in no week or quarter: {where}.")


THEMES_MISSING = ("Themes have not been built yet (the theme assets `themes` and `theme_trends` have not run on "
                  "this warehouse), so this section is empty.")


def ordinal(n: int) -> str:
    words = ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
    if 0 <= n < len(words):
        return words[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def hours(minutes: float | None) -> str:
    if minutes is None:
        return "–"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d" if minutes < 10 * 1440 else f"{minutes / 1440:.0f} d"


# Linear: the leading spaces are tried only from the start of their run, and the keyword is
# looked for once per "(" by a lookahead that cannot pass the next parenthesis.
OWNER_NOTE = re.compile(r"(?<!\s)\s*\((?=[^()]*\b(?:owner|due|deadline)\b)[^()]*\)", re.IGNORECASE)


def short(text: str | None, limit: int = 110) -> str:
    """One line, at most `limit` characters; an "(owner: …, due …)" note is dropped, as reports
    show owner and deadline in their own columns."""
    text = readable(OWNER_NOTE.sub("", text or ""))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
