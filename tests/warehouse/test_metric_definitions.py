"""The metric definitions in the warehouse (views and "as of a date" table macros) on small
hand-made fixtures: each count below follows from the rows planted, not from a second copy
of the SQL."""

from __future__ import annotations

import math
from datetime import date, timedelta

import duckdb
import pytest

from pipelines.postmortems.policy import (
    POSTMORTEM_DEADLINE_HOURS,
    RISING_BASELINE_WEEKS,
    RISING_MIN_RECENT,
    RISING_RECENT_WEEKS,
)
from pipelines.themes.build import create_theme_views, ensure_theme_schema
from pipelines.warehouse.db import create_views, ensure_schema

SUNDAY = date(2026, 6, 28)  # the last day of ISO week 2026-W26


def _quarter(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


class Fixture:
    """A warehouse with only the rows a test plants: incidents, their theme, fixes."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def incident(self, incident_id: str, day: date | None, *, theme: str | None = "RC-001", severity: str = "SEV3",
                 customers: int | None = None, minutes: float | None = None, hours_to_postmortem: float | None = None):
        self.con.execute("""
            INSERT INTO postmortems (incident_id, title, severity, incident_date, quarter, customers_affected,
                                     minutes_to_resolve, hours_to_postmortem)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                         [incident_id, f"Incident {incident_id}", severity, day, _quarter(day) if day else None,
                          customers, minutes, hours_to_postmortem])
        if theme:
            self.con.execute("INSERT INTO theme_assignments (theme_set, item_id, incident_id, theme_id) "
                             "VALUES ('root_cause', ?, ?, ?)", [f"{incident_id}#1", incident_id, theme])
        return self

    def fix(self, incident_id: str, deadline: date | None, status: str | None = "done", n: int = 1):
        action_id = f"{incident_id}#a{n}"
        self.con.execute("INSERT INTO action_items (action_id, incident_id, seq, kind, text, deadline, status) "
                         "VALUES (?, ?, ?, 'systemic', 'Fix the class of problem', ?, ?)",
                         [action_id, incident_id, n, deadline, status])
        self.con.execute("INSERT INTO action_item_links (theme_set, action_id, incident_id, item_id) "
                         "VALUES ('root_cause', ?, ?, ?)", [action_id, incident_id, f"{incident_id}#1"])
        return self

    def views(self):
        for theme_id in {r[0] for r in self.con.execute(
                "SELECT DISTINCT theme_id FROM theme_assignments").fetchall()}:
            self.con.execute("INSERT INTO themes (theme_set, theme_id, name, first_seen) VALUES "
                             "('root_cause', ?, ?, DATE '2025-01-01')", [theme_id, f"Theme {theme_id}"])
        create_views(self.con)
        create_theme_views(self.con)
        return self

    def rows(self, sql: str, params: list | None = None) -> list[dict]:
        cursor = self.con.execute(sql, params or [])
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, r)) for r in cursor.fetchall()]


@pytest.fixture
def fixture(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_schema(con)
    ensure_theme_schema(con)
    yield Fixture(con)
    con.close()


def test_fix_counts_only_incidents_after_both_its_deadline_and_its_incident(fixture):
    fixture.incident("PM-1", date(2026, 1, 10)).fix("PM-1", date(2026, 2, 1))
    fixture.incident("PM-2", date(2026, 1, 20))   # before the deadline: the fix was not closed yet
    fixture.incident("PM-3", date(2026, 2, 1))    # on the deadline day: not after it
    fixture.incident("PM-4", date(2026, 3, 5))    # after: the theme came back
    fixture.incident("PM-5", date(2026, 4, 9))
    fixture.incident("PM-6", None)                # undated: never "after" anything
    fixture.incident("PM-7", date(2026, 3, 1), theme="RC-002")  # another theme
    fixture.views()

    (now,) = fixture.rows("SELECT * FROM theme_fix_effectiveness")
    assert (now["action_id"], now["incidents_after"], now["fixed_after"]) == ("PM-1#a1", 2, date(2026, 2, 1))
    (q1,) = fixture.rows("SELECT * FROM theme_fix_effectiveness_as_of(DATE '2026-03-31')")
    assert q1["incidents_after"] == 1
    (before,) = fixture.rows("SELECT * FROM theme_fix_effectiveness_as_of(DATE '2026-02-28')")
    assert before["incidents_after"] == 0

    (came_back,) = fixture.rows("SELECT * FROM theme_came_back")
    assert came_back["came_back_after_fix"] and came_back["came_back_incident_ids"] == ["PM-5", "PM-4"]
    assert (came_back["fixes_done"], came_back["fixes_open"], came_back["first_fix_closed_before_return"]) == (
        1, 0, date(2026, 2, 1))
    (not_yet,) = fixture.rows("SELECT * FROM theme_came_back_as_of(DATE '2026-02-28')")
    assert not not_yet["came_back_after_fix"] and not_yet["came_back_incident_ids"] == []
    # As of a day before the fixed incident, the fix does not exist yet.
    assert fixture.rows("SELECT * FROM theme_came_back_as_of(DATE '2026-01-09')") == []


def test_deadline_written_before_the_incident_counts_from_the_incident(fixture):
    fixture.incident("PM-1", date(2026, 3, 10)).fix("PM-1", date(2026, 1, 1))
    fixture.incident("PM-2", date(2026, 3, 5))   # after the deadline but before the fixed incident
    fixture.incident("PM-3", date(2026, 3, 11))
    fixture.views()
    (row,) = fixture.rows("SELECT incidents_after FROM theme_fix_effectiveness")
    assert row["incidents_after"] == 1


def test_open_fixes_and_fixes_without_deadline_never_make_a_theme_come_back(fixture):
    fixture.incident("PM-1", date(2026, 1, 10)).fix("PM-1", None, "done").fix("PM-1", date(2026, 1, 15), None, n=2)
    fixture.incident("PM-2", date(2026, 3, 1))
    fixture.views()
    fixes = {r["action_id"]: (r["status"], r["incidents_after"]) for r in fixture.rows(
        "SELECT * FROM theme_fix_effectiveness")}
    assert fixes == {"PM-1#a1": ("done", 0), "PM-1#a2": ("open", 1)}
    (row,) = fixture.rows("SELECT * FROM theme_came_back_as_of(DATE '2026-01-15')")
    assert (row["came_back_after_fix"], row["fixes_open"], row["fixes_overdue"]) == (False, 1, 1)
    (earlier,) = fixture.rows("SELECT fixes_overdue FROM theme_came_back_as_of(DATE '2026-01-14')")
    assert earlier["fixes_overdue"] == 0


def test_recurrence_counts_quarters_and_runs_as_of_a_date(fixture):
    for n, day in enumerate([date(2025, 2, 1), date(2025, 5, 1), date(2025, 5, 2), date(2025, 11, 1)]):
        fixture.incident(f"PM-{n}", day)
    fixture.incident("PM-other", date(2026, 1, 5), theme="RC-002")  # the latest quarter of the data
    fixture.views()
    now = {r["theme_id"]: r for r in fixture.rows("SELECT * FROM theme_recurrence")}
    assert (now["RC-001"]["quarters_present"], now["RC-001"]["longest_streak"], now["RC-001"]["current_streak"]) == (
        3, 2, 0)
    assert now["RC-001"]["quarters"] == ["2025-Q1", "2025-Q2", "2025-Q4"]
    (mid,) = fixture.rows("SELECT * FROM theme_recurrence_as_of(DATE '2025-06-30')")
    assert (mid["quarters_present"], mid["current_streak"], mid["quarters"]) == (2, 2, ["2025-Q1", "2025-Q2"])


def test_burn_weighs_severity_impact_and_duration(fixture):
    fixture.incident("PM-1", date(2026, 1, 5), severity="SEV1", customers=999, minutes=6 * 60)
    fixture.incident("PM-2", date(2026, 4, 5), severity="SEV4")
    fixture.incident("PM-3", date(2026, 4, 6), severity=None, customers=None, minutes=None)
    fixture.views()
    first = 8 * (1 + math.log10(1 + 999)) * (1 + math.log10(1 + 6))
    (total,) = fixture.rows("SELECT * FROM theme_burn")
    assert total["incidents"] == 3 and total["sev1_sev2"] == 1
    assert total["burn"] == pytest.approx(first + 1 + 1) and total["burn_score"] == round(first + 2, 2)
    assert total["incident_ids"] == ["PM-1", "PM-2", "PM-3"]
    (q1,) = fixture.rows("SELECT * FROM theme_burn_as_of(DATE '2026-06-30', '2026-Q1')")
    assert (q1["incidents"], q1["burn"]) == (1, pytest.approx(first))
    (to_q1,) = fixture.rows("SELECT * FROM theme_burn_as_of(DATE '2026-03-31')")
    assert to_q1["incident_ids"] == ["PM-1"]


def _weekly(fixture, theme: str, prefix: str, days: list[date]):
    for n, day in enumerate(days):
        fixture.incident(f"{prefix}-{n}", day, theme=theme)


def test_rising_themes_against_the_trailing_baseline(fixture):
    recent = [SUNDAY - timedelta(days=7 * k) for k in range(RISING_RECENT_WEEKS)]
    baseline = [SUNDAY - timedelta(days=7 * (RISING_RECENT_WEEKS + k)) for k in range(RISING_BASELINE_WEEKS)]
    _weekly(fixture, "RC-001", "QUIET", recent[:RISING_MIN_RECENT])          # new and busy enough: rising
    _weekly(fixture, "RC-002", "ONE", recent[: RISING_MIN_RECENT - 1])         # too few to call
    _weekly(fixture, "RC-003", "STEADY", recent[:RISING_MIN_RECENT] + baseline)  # its usual rate: not rising
    _weekly(fixture, "RC-004", "OLD", recent[:RISING_MIN_RECENT])
    fixture.incident("OLD-too-early", SUNDAY - timedelta(days=7 * (RISING_RECENT_WEEKS + RISING_BASELINE_WEEKS)),
                     theme="RC-004")  # before the baseline window: ignored
    fixture.views()
    rising = {r["theme_id"]: r for r in fixture.rows("SELECT * FROM rising_themes([DATE '2026-06-28'])")}
    assert set(rising) == {"RC-001", "RC-004"}
    assert (rising["RC-004"]["recent"], rising["RC-004"]["baseline"], rising["RC-004"]["expected"]) == (
        RISING_MIN_RECENT, 0, 0)
    # A week later the oldest recent incident has left the recent window.
    later = fixture.rows("SELECT week_end, theme_id FROM rising_themes([DATE '2026-06-28', DATE '2026-07-26'])")
    assert {r["theme_id"] for r in later if r["week_end"] == date(2026, 7, 26)} == set()


def test_the_deadline_reaches_sql_from_the_policy(fixture):
    fixture.incident("PM-on-time", date(2026, 1, 5), hours_to_postmortem=POSTMORTEM_DEADLINE_HOURS)
    fixture.incident("PM-late", date(2026, 1, 6), hours_to_postmortem=POSTMORTEM_DEADLINE_HOURS + 0.5)
    fixture.incident("PM-unpublished", date(2026, 1, 7))
    fixture.views()
    assert fixture.rows("SELECT postmortem_deadline_hours() AS h") == [{"h": POSTMORTEM_DEADLINE_HOURS}]
    assert [r["incident_id"] for r in fixture.rows("SELECT incident_id FROM late_postmortems")] == ["PM-late"]
    (health,) = fixture.rows("SELECT share_within_72h FROM postmortem_health")
    assert health["share_within_72h"] == 0.5


def test_every_documented_theme_view_and_macro_is_created(fixture):
    import re

    from pipelines.settings import PROJECT_ROOT

    fixture.incident("PM-1", date(2026, 1, 5)).views()
    table = (PROJECT_ROOT / "docs" / "themes.md").read_text(encoding="utf-8").split("## Tables and views")[1]
    documented = {name for row in table.splitlines() if "(view" in row or "(macro" in row
                  for name in re.findall(r"`(\w+)[`(]", row.split("|")[1])}
    created = {r[0] for r in fixture.con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    created |= {r[0] for r in fixture.con.execute(
        "SELECT function_name FROM duckdb_functions() WHERE function_type = 'table_macro'").fetchall()}
    assert {"theme_cooccurrence", "rising_themes", "theme_fix_effectiveness"} <= documented
    assert documented <= created
