"""The report sections about the team's eval suite (pipelines/evals): which incidents are
regression tests, which promised cases are missing (and whose they are), which fail, and the
quarterly signal that a theme's cases pass while the theme keeps coming back.

Presence in the suite is today's (the suite has no history); pass or fail is read from
results that ran before the period's end, so a past period's report only changes when the
suite does.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from pipelines.reports.data import plural, records, relation_exists, short
from pipelines.reports.document import Paragraph, Section, Table

SUITE_NOT_LINKED = ("No eval suite is linked yet: set `eval_suite:` (and `eval_results:`) in the store's "
                    "emberline.yaml, or EMBERLINE_EVAL_SUITE, and re-run.")
_TABLES = ("eval_case_status", "eval_results")
MISSING_SHOWN = 15  # the newest; the rest are counted

# The latest run before `as_of` of each incident's regression case: passed when every scored
# result of that run passed.
_OUTCOMES_AS_OF = """
    latest AS (
        SELECT incident_id, arg_max(source_file, ran_at) AS source_file, arg_max(run_id, ran_at) AS run_id,
               max(ran_at) AS ran_at
        FROM eval_results WHERE incident_id IS NOT NULL AND ran_at < ? GROUP BY incident_id),
    outcomes AS (
        SELECT l.incident_id, l.ran_at, bool_and(r.passed) AS passed
        FROM latest l JOIN eval_results r
          ON r.incident_id = l.incident_id AND r.source_file = l.source_file
         AND r.run_id IS NOT DISTINCT FROM l.run_id
        WHERE r.passed IS NOT NULL GROUP BY ALL)"""


def _linked(con: duckdb.DuckDBPyConnection) -> bool:
    if not all(relation_exists(con, t) for t in _TABLES):
        return False
    return con.execute("""SELECT count(*) FILTER (WHERE status IN ('present', 'missing')) + (SELECT count(*)
                          FROM eval_results) FROM eval_case_status""").fetchall()[0][0] > 0


def weekly_eval_section(con: duckdb.DuckDBPyConnection, week_end, as_of: datetime) -> Section:
    """Incidents that started by the week's end: promised cases missing from the suite with
    their owners, and cases whose latest run before the week's end failed."""
    if not _linked(con):
        return Section("Regression eval cases: missing and failing", [Paragraph(SUITE_NOT_LINKED)])
    rows = records(con, f"""
        WITH {_OUTCOMES_AS_OF}
        SELECT s.incident_id, s.title, s.owner, s.promised_case, s.status, s.suite_file, s.incident_date,
               o.ran_at, o.passed
        FROM eval_case_status s LEFT JOIN outcomes o USING (incident_id)
        WHERE s.incident_date <= ?
        ORDER BY s.incident_date, s.incident_id""", [as_of, week_end])
    missing = [r for r in rows if r["status"] == "missing"]
    failing = [r for r in rows if r["passed"] is False]
    present = [r for r in rows if r["status"] == "present"]
    passing = [r for r in rows if r["passed"] is True]
    blocks: list = [Paragraph(
        f"Of {plural(len(rows), 'incident')} to date, {len(present)} have their regression case in the eval suite; "
        f"{len(passing)} passed and {len(failing)} failed their latest run before the week's end.")]
    newest = sorted(missing, key=lambda r: (r["incident_date"], r["incident_id"]), reverse=True)
    blocks.append(Table(["Incident", "Promised eval case", "Owner", "Title"],
                        [[r["incident_id"], f"`{r['promised_case']}`", r["owner"] or "no owner",
                          short(r["title"], 70)] for r in newest[:MISSING_SHOWN]],
                        empty="Every promised eval case is in the suite."))
    if len(missing) > MISSING_SHOWN:
        blocks.append(Paragraph(f"And {len(missing) - MISSING_SHOWN} older promised cases missing "
                                "(`SELECT * FROM eval_case_status WHERE status = 'missing'`)."))
    blocks.append(Paragraph("Failing in their latest run:" if failing else "No regression case failed its latest run."))
    if failing:
        blocks.append(Table(["Incident", "Eval case", "Last run", "Owner"],
                            [[r["incident_id"], f"`{r['suite_file'] or r['promised_case']}`",
                              f"{r['ran_at']:%Y-%m-%d}", r["owner"] or "no owner"] for r in failing]))
    return Section("Regression eval cases: missing and failing", blocks,
                   headline=f"{plural(len(missing), 'promised eval case')} missing from the suite, "
                            f"{len(failing)} failing.")


def passing_but_recurring(con: duckdb.DuckDBPyConnection, quarter: str, as_of: datetime) -> list[dict]:
    """Themes with an incident this quarter although an earlier incident's regression case
    passed its latest run before the quarter's end: the tests pin the old instances, not the
    failure class."""
    if not _linked(con) or not relation_exists(con, "theme_incidents") or not relation_exists(con, "themes"):
        return []
    return records(con, f"""
        WITH {_OUTCOMES_AS_OF},
        members AS (SELECT theme_set, theme_id, incident_id, incident_date, quarter FROM theme_incidents),
        passing AS (SELECT m.* FROM members m JOIN outcomes o USING (incident_id) WHERE o.passed)
        SELECT again.theme_set, again.theme_id, t.name,
               list(DISTINCT ps.incident_id ORDER BY ps.incident_id) AS passing_cases,
               list(DISTINCT again.incident_id ORDER BY again.incident_id) AS came_back
        FROM members again
        JOIN passing ps ON ps.theme_set = again.theme_set AND ps.theme_id = again.theme_id
                       AND ps.incident_date < again.incident_date
        JOIN themes t ON t.theme_set = again.theme_set AND t.theme_id = again.theme_id
        WHERE again.quarter = ?
        GROUP BY ALL ORDER BY again.theme_set DESC, len(came_back) DESC, again.theme_id""", [as_of, quarter])


def quarterly_eval_section(con: duckdb.DuckDBPyConnection, quarter: str, as_of: datetime) -> Section:
    if not _linked(con):
        return Section("Regression cases pass, and the theme still comes back", [Paragraph(SUITE_NOT_LINKED)])
    themes = passing_but_recurring(con, quarter, as_of)
    sets = {"root_cause": "root cause", "eval_gap": "eval gap"}
    blocks: list = [Paragraph(
        "A theme whose regression cases pass and that still comes back is the signal for a systemic investment: "
        "the cases pin the past incidents, not the class of failure.")]
    blocks.append(Table(
        ["Theme", "Set", "Name", "Cases passing", "Came back this quarter"],
        [[t["theme_id"], sets.get(t["theme_set"], t["theme_set"]), t["name"], ", ".join(t["passing_cases"]),
          ", ".join(t["came_back"])] for t in themes],
        empty="No theme came back this quarter after its regression cases passed."))
    whose = "its" if len(themes) == 1 else "their"
    headline = (f"{plural(len(themes), 'theme')} came back although {whose} regression cases pass: "
                + ", ".join(t["name"] for t in themes[:3]) + ".") if themes else None
    return Section("Regression cases pass, and the theme still comes back", blocks, headline=headline)
