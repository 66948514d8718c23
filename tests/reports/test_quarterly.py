from __future__ import annotations

import re

import duckdb
import pytest

from pipelines.reports.periods import Quarter
from pipelines.reports.quarterly import _median_chart, build_quarterly_report, load_quarter
from pipelines.reports.render import to_markdown
from pipelines.themes.stability import FEW_INCIDENTS, STABLE_JACCARD
from tests.reports.conftest import STALE
from tests.reports.test_weekly import sections

GOLDEN_QUARTER = Quarter.parse("2026-Q2")


def table_rows(section: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| Rank") and not line.startswith("| Theme")
            and not line.startswith("| Quarter")]


def test_golden_quarter_ranks_themes_by_burn_as_the_views_compute_it(sample_con):
    q = GOLDEN_QUARTER
    md = sections(to_markdown(build_quarterly_report(sample_con, q)))
    expected = sample_con.execute("""
        SELECT ti.theme_id, round(sum(b.burn), 1) AS burn, count(*) AS incidents
        FROM theme_incidents ti JOIN incident_burn b USING (incident_id)
        WHERE ti.theme_set = 'root_cause' AND ti.incident_date <= ?
        GROUP BY ALL ORDER BY burn DESC, ti.theme_id LIMIT 8""", [q.end]).fetchall()
    rows = table_rows(md["Where we keep getting burned"])
    assert [(r[1], float(r[3].replace(",", "")), int(r[5])) for r in rows] == [
        (t, pytest.approx(b, abs=0.051), n) for t, b, n in expected]
    # The incidents behind the top theme are listed, heaviest first.
    top_ids = sample_con.execute("""
        SELECT ti.incident_id FROM theme_incidents ti JOIN incident_burn b USING (incident_id)
        WHERE ti.theme_set = 'root_cause' AND ti.theme_id = ? AND ti.incident_date <= ?
        ORDER BY b.burn DESC, ti.incident_id LIMIT 3""", [expected[0][0], q.end]).fetchall()
    assert rows[0][7].startswith(", ".join(i for (i,) in top_ids))
    assert f"({expected[0][0]})" in md["glance"]


def test_golden_quarter_repeating_themes_and_investments(sample_con):
    q = GOLDEN_QUARTER
    md = sections(to_markdown(build_quarterly_report(sample_con, q)))
    repeating = sample_con.execute("""
        SELECT theme_id FROM theme_incidents WHERE theme_set = 'root_cause' AND incident_date <= ?
        GROUP BY theme_id HAVING count(DISTINCT quarter) > 1 AND count(*) FILTER (WHERE quarter = ?) > 0""",
                                   [q.end, q.label]).fetchall()
    listed = {r[0] for r in table_rows(md["Themes that repeat across quarters"])}
    assert listed == {t for (t,) in repeating} and listed
    top = table_rows(md["Where we keep getting burned"])[0]
    assert f"**Invest in {top[2]}** ({top[1]})" in md["Candidate systemic investments"]


def test_golden_quarter_health_matches_the_warehouse_view(sample_con):
    q = GOLDEN_QUARTER
    md = sections(to_markdown(build_quarterly_report(sample_con, q)))
    n, within, blame, sensitive, missing = sample_con.execute("""
        SELECT postmortems, share_within_72h, with_blame_language, with_sensitive_data, without_eval_case
        FROM postmortem_health WHERE quarter = ?""", [q.label]).fetchall()[0]
    row = next(r for r in table_rows(md["Post-mortem health"]) if r[0] == q.label)
    assert row[1] == str(n) and row[3] == f"{within:.0%}" and row[4:] == [str(blame), str(sensitive), str(missing)]
    times = sample_con.execute("""
        SELECT median(minutes_to_detect) / 60 FROM postmortems WHERE quarter = ?""", [q.label]).fetchall()[0][0]
    assert f"| {q.label} | {n} | {times:.1f} h |" in md["Time to detect and to resolve, by quarter"]


def test_only_incidents_up_to_the_quarter_end_count(sample_con):
    q = Quarter.parse("2025-Q4")
    data = load_quarter(sample_con, q)
    all_ids = {i for t in data.burn for i in t["incident_ids"]}
    later = {r[0] for r in sample_con.execute(
        "SELECT incident_id FROM postmortems WHERE incident_date > ?", [q.end]).fetchall()}
    assert all_ids and not all_ids & later
    assert max(r["quarter"] for r in data.response_times) == q.label


def test_a_theme_that_came_back_after_its_fix_closed(small_warehouse):
    # Every post-mortem of the small store closes "Fail the re-index job on an empty export" by
    # 2026-03-20. PM-2026-050 (February) closed it; three stale-index incidents followed.
    _, database = small_warehouse
    with duckdb.connect(str(database), read_only=True) as con:
        q2 = sections(to_markdown(build_quarterly_report(con, Quarter.parse("2026-Q2"))))
        q1 = sections(to_markdown(build_quarterly_report(con, Quarter.parse("2026-Q1"))))
    fixes = q2["Systemic action items by theme: did the fix work?"]
    stale = next(line for line in fixes.splitlines() if "| RC-001 |" in line)
    assert re.search(r"\| 4 \| 4 \| 4 \| yes: 3 incidents after a fix closed \(first fix closed 20 Mar 2026; "
                     r"latest PM-2026-003, PM-2026-002, PM-2026-001\) \|$", stale), stale
    assert next(line for line in fixes.splitlines() if "| RC-002 |" in line).endswith("| no |")
    # As of the end of Q1 only the February incident had happened: nothing came back yet.
    assert next(line for line in q1["Systemic action items by theme: did the fix work?"].splitlines()
                if "| RC-001 |" in line).endswith("| no |")
    assert f"**Invest in {STALE}** (RC-001)" in q2["Candidate systemic investments"]
    assert "came back 3 times" in q2["Candidate systemic investments"]


def test_response_times_show_the_spread_and_mark_quarters_with_few_incidents(sample_con):
    md = sections(to_markdown(build_quarterly_report(sample_con, GOLDEN_QUARTER)))
    rows = table_rows(md["Time to detect and to resolve, by quarter"])
    known = dict(sample_con.execute("""
        SELECT quarter, least(count(minutes_to_detect), count(minutes_to_resolve)) FROM postmortems
        WHERE quarter IS NOT NULL AND incident_date <= ? GROUP BY quarter""", [GOLDEN_QUARTER.end]).fetchall())
    assert [r[0] for r in rows] == sorted(known)
    for row in rows:
        assert (row[-1] == f"few incidents ({known[row[0]]})") == (known[row[0]] < FEW_INCIDENTS), row
    low, high = sample_con.execute("""
        SELECT quantile_cont(minutes_to_resolve, 0.25) / 60, quantile_cont(minutes_to_resolve, 0.75) / 60
        FROM postmortems WHERE quarter = ?""", [GOLDEN_QUARTER.label]).fetchall()[0]
    golden = next(r for r in rows if r[0] == GOLDEN_QUARTER.label)
    assert golden[6] == f"{low:.1f}–{high:.1f} h"
    assert f"fewer than {FEW_INCIDENTS} incidents" in md["Time to detect and to resolve, by quarter"]


def test_burn_ranking_marks_unstable_themes_and_few_incidents(sample_con):
    md = sections(to_markdown(build_quarterly_report(sample_con, GOLDEN_QUARTER)))
    stability = dict(sample_con.execute("SELECT theme_id, stability FROM themes").fetchall())
    rows = table_rows(md["Where we keep getting burned"])
    assert {stability[r[1]] < STABLE_JACCARD for r in rows} == {True, False}
    for row in rows:
        theme_id, incidents, note = row[1], int(row[5]), row[-1]
        assert ("unstable theme" in note) == (stability[theme_id] < STABLE_JACCARD), row
        assert ("few incidents" in note) == (incidents < FEW_INCIDENTS), row
        assert "None" not in note and "nan" not in note


def test_reports_read_the_warehouse_definitions(sample_warehouse, tmp_path):
    """Stand-ins for two macros, planted in a copy: the quarterly's "did the fix work?" and the
    weekly's rising themes change with them, so the reports carry no copy of that SQL."""
    from pipelines.reports.periods import Week
    from pipelines.reports.weekly import WeeklyWindow, rising_themes
    from tests.dashboards.test_queries import PLANTED_DEFINITIONS

    planted = tmp_path / "warehouse.duckdb"
    planted.write_bytes(sample_warehouse.read_bytes())
    with duckdb.connect(str(planted)) as con:
        for statement in PLANTED_DEFINITIONS:
            con.execute(statement)
        fixes = load_quarter(con, GOLDEN_QUARTER).fixes
        done = {r[0] for r in con.execute("SELECT DISTINCT theme_id FROM theme_fixes WHERE theme_set = 'root_cause' "
                                          "AND status = 'done' AND fixed_incident_date <= ?", [GOLDEN_QUARTER.end])
                .fetchall()}
        assert done and {t for t, f in fixes.items() if f["came_back_ids"]} == done
        week = Week.containing(GOLDEN_QUARTER.end)
        rising = rising_themes(con, [WeeklyWindow(week, "UTC")])[week.label]
        assert rising and {r["recent"] for r in rising} == {9}


def test_a_quarter_without_a_median_gets_no_bar_rather_than_a_bar_of_zero():
    rows = [{"quarter": "2025-Q3", "resolve_h": 25.55}, {"quarter": "2025-Q4", "resolve_h": 3.2}]
    chart = _median_chart("Median hours to resolve", rows, "resolve_h", "2025-Q4")
    assert (chart.labels, chart.values, chart.highlight) == (["2025-Q3", "2025-Q4"], [25.6, 3.2], {1})
    # The report's own quarter had no median: nothing is highlighted, and no 0 h bar stands in for it.
    assert _median_chart("Median hours to resolve", rows[:1], "resolve_h", "2025-Q4").highlight == set()
