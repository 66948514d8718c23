"""The weekly report lists promised-but-missing cases with their owners and the failing ones;
the quarterly retrospective names the themes whose cases pass and that still come back.
Expected values come from the warehouse, not from the report's code."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from pipelines.reports.eval_sections import MISSING_SHOWN, SUITE_NOT_LINKED
from pipelines.reports.periods import Quarter, Week
from pipelines.reports.quarterly import build_quarterly_report
from pipelines.reports.render import to_markdown
from pipelines.reports.weekly import build_weekly_report

WEEKLY_TITLE = "Regression eval cases: missing and failing"
QUARTERLY_TITLE = "Regression cases pass, and the theme still comes back"


def section(report, title):
    [found] = [s for s in report.sections if s.title == title]
    return found


@pytest.fixture
def con(linked):
    with duckdb.connect(str(linked.warehouse), read_only=True) as connection:
        yield connection


def this_week() -> Week:
    year, week, _ = datetime.now(UTC).isocalendar()
    return Week.parse(f"{year}-W{week:02d}")


def test_weekly_report_lists_missing_cases_with_owners_and_the_failing_ones(con, linked):
    week = this_week()
    report = build_weekly_report(con, week)
    eval_section = section(report, WEEKLY_TITLE)
    missing_table, failing_table = (b for b in eval_section.blocks if hasattr(b, "rows"))
    expected = con.execute("""SELECT incident_id, promised_case, coalesce(owner, 'no owner') FROM eval_case_status
                              WHERE status = 'missing' AND incident_date <= ?
                              ORDER BY incident_date DESC, incident_id DESC""", [week.end]).fetchall()
    assert [(r[0], r[1].strip("`"), r[2]) for r in missing_table.rows] == expected[:MISSING_SHOWN]
    assert f"And {len(expected) - MISSING_SHOWN} older promised cases missing" in to_markdown(report)
    assert [r[0] for r in failing_table.rows] == [linked.by_file_name]
    markdown = to_markdown(report)
    started = con.execute("SELECT count(*) FROM postmortems WHERE incident_date <= ?", [week.end]).fetchall()[0][0]
    assert f"Of {started} incidents to date, 3 have their regression case" in markdown
    assert "2 passed and 1 failed their latest run" in markdown and "None" not in markdown


def test_a_past_week_counts_no_result_that_ran_after_it(con):
    report = build_weekly_report(con, Week.parse("2025-W30"))
    eval_section = section(report, WEEKLY_TITLE)
    assert "0 passed and 0 failed" in eval_section.blocks[0].text
    listed = [r[0] for r in eval_section.blocks[1].rows]
    expected = [r[0] for r in con.execute("""SELECT incident_id FROM eval_case_status
                                             WHERE status = 'missing' AND incident_date <= DATE '2025-07-27'
                                             ORDER BY incident_date DESC, incident_id DESC""").fetchall()]
    assert listed == expected[:MISSING_SHOWN] and expected


def test_quarterly_names_themes_whose_cases_pass_and_that_come_back(con, linked):
    quarter = Quarter.parse("2026-Q4")
    expected = {tuple(r) for r in con.execute("""
        SELECT DISTINCT later.theme_set, later.theme_id
        FROM theme_assignments passing
        JOIN postmortems pp ON pp.incident_id = passing.incident_id
        JOIN theme_assignments later ON later.theme_set = passing.theme_set AND later.theme_id = passing.theme_id
        JOIN postmortems lp ON lp.incident_id = later.incident_id
        WHERE passing.incident_id IN (?, ?) AND lp.quarter = '2026-Q4' AND lp.incident_date > pp.incident_date
        """, [linked.by_path, linked.by_case_id]).fetchall()}
    assert expected  # the sample store has later incidents in these themes
    report = build_quarterly_report(con, quarter)
    table = section(report, QUARTERLY_TITLE).blocks[1]
    sets = {"root cause": "root_cause", "eval gap": "eval_gap"}
    assert {(sets[r[1]], r[0]) for r in table.rows} == expected
    for row in table.rows:
        assert set(row[3].split(", ")) <= {linked.by_path, linked.by_case_id}
    assert linked.by_file_name not in " ".join(r[3] for r in table.rows)  # its case fails
    assert section(report, QUARTERLY_TITLE).headline.startswith(f"{len(expected)} themes came back")


def test_without_a_linked_suite_the_sections_say_how_to_link_one(sample_warehouse):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        weekly = build_weekly_report(con, Week.parse("2026-W10"))
        quarterly = build_quarterly_report(con, Quarter.parse("2026-Q1"))
    assert section(weekly, WEEKLY_TITLE).blocks[0].text == SUITE_NOT_LINKED
    assert section(quarterly, QUARTERLY_TITLE).blocks[0].text == SUITE_NOT_LINKED
