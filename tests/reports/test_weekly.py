from __future__ import annotations

import duckdb

from pipelines.reports.periods import Week
from pipelines.reports.render import to_markdown
from pipelines.reports.weekly import build_weekly_report
from pipelines.themes.stability import STABLE_JACCARD
from tests.conftest import postmortem, write
from tests.reports.conftest import ASSIGNMENTS, STALE, build_warehouse, plant_assignments, write_small_store

GOLDEN_WEEK = Week.parse("2026-W47")  # the sample corpus's busiest recent week


def sections(markdown: str) -> dict[str, str]:
    parts = markdown.split("\n## ")
    return {"glance": parts[0], **{p.split("\n", 1)[0]: p.split("\n", 1)[1] for p in parts[1:]}}


def ids(con, sql: str, params: list) -> list[str]:
    return [r[0] for r in con.execute(sql, params).fetchall()]


# --------------------------------------------------------------------------------------
# Golden content: a fixed week of the sample corpus, checked against the warehouse itself.


def test_golden_week_lists_what_the_warehouse_says_happened(sample_con):
    week = GOLDEN_WEEK
    md = sections(to_markdown(build_weekly_report(sample_con, week)))
    new = ids(sample_con, "SELECT incident_id FROM postmortems WHERE incident_date BETWEEN ? AND ?",
              [week.start, week.end])
    resolved = ids(sample_con, "SELECT incident_id FROM postmortems WHERE resolved_at::DATE BETWEEN ? AND ?",
                   [week.start, week.end])
    assert new and resolved, "the golden week must have incidents in the sample corpus"
    assert all(i in md["Incidents resolved this week"] for i in resolved)
    assert f"{len(new)} new incident" in md["glance"]
    for incident_id in new:
        themes = ids(sample_con, """
            SELECT DISTINCT t.name FROM theme_assignments a JOIN themes t USING (theme_set, theme_id)
            WHERE a.incident_id = ? AND a.theme_set = 'root_cause'""", [incident_id])
        line = next(x for x in md["New incidents and the themes they joined"].splitlines() if incident_id in x)
        assert themes and all(f"**{name}**" in line for name in themes)


def test_golden_week_counts_theme_recurrence_this_quarter(sample_con):
    week = GOLDEN_WEEK
    md = sections(to_markdown(build_weekly_report(sample_con, week)))["New incidents and the themes they joined"]
    rows = sample_con.execute("""
        SELECT n.incident_id, t.theme_id, t.name,
               (SELECT count(DISTINCT o.incident_id) FROM theme_assignments oa JOIN postmortems o USING (incident_id)
                WHERE oa.theme_set = 'root_cause' AND oa.theme_id = t.theme_id AND o.quarter = n.quarter
                  AND (o.incident_date, o.incident_id) <= (n.incident_date, n.incident_id)) AS nth
        FROM postmortems n
        JOIN theme_assignments a ON a.incident_id = n.incident_id AND a.theme_set = 'root_cause'
        JOIN themes t ON t.theme_set = a.theme_set AND t.theme_id = a.theme_id
        WHERE n.incident_date BETWEEN ? AND ?""", [week.start, week.end]).fetchall()
    from pipelines.reports.data import ordinal

    for incident_id, theme_id, name, nth in rows:
        line = next(x for x in md.splitlines() if x.startswith(f"- **{incident_id}**"))
        clause = line.split(f"**{name}** ({theme_id})")[1].split("; joined")[0]
        expected = "its first this quarter" if nth == 1 else f"the {ordinal(nth)} incident of this theme this quarter"
        assert expected in clause or "the first incident of this theme" in clause


def test_golden_week_overdue_postmortems_and_eval_cases(sample_con):
    week = GOLDEN_WEEK
    md = sections(to_markdown(build_weekly_report(sample_con, week)))
    # A free-form document is its own write-up: only a post-mortem with front matter can be due.
    unpublished = ids(sample_con, """
        SELECT incident_id FROM postmortems WHERE resolved_at < ? AND incident_date <= ? AND has_front_matter
          AND (postmortem_published_at IS NULL OR postmortem_published_at::DATE > ?)""",
                      [week.end, week.end, week.end])
    due_section = md["Post-mortems due or overdue (72-hour rule)"]
    assert unpublished and all(i in due_section for i in unpublished)
    free_form = ids(sample_con, "SELECT incident_id FROM postmortems WHERE NOT has_front_matter AND resolved_at < ?",
                    [week.end])
    assert not any(i in due_section for i in free_form)
    added = sample_con.execute("""
        SELECT incident_id, new_eval_case_id FROM postmortems
        WHERE postmortem_published_at::DATE BETWEEN ? AND ? AND new_eval_case_id IS NOT NULL""",
                               [week.start, week.end]).fetchall()
    for incident_id, case in added:
        assert f"**{incident_id}** `{case}`" in md["Eval cases added"]


def test_every_week_of_the_sample_renders_without_sensitive_data(sample_con):
    from pipelines.postmortems.sensitive import find_sensitive
    from pipelines.reports.render import to_html

    first = sample_con.execute("SELECT min(incident_date) FROM postmortems").fetchall()[0][0]
    week = Week.containing(first)
    while week <= GOLDEN_WEEK:
        report = build_weekly_report(sample_con, week)
        assert find_sensitive(to_markdown(report)) == [] and find_sensitive(to_html(report)) == []
        week = week.shift(4)  # a sample across the whole history keeps the test quick


# --------------------------------------------------------------------------------------
# A hand-made store: exact recurrence wording, rising themes, 72-hour states, as-of.

def test_new_incident_says_how_often_its_theme_occurred(small_warehouse):
    _, database = small_warehouse
    with duckdb.connect(str(database), read_only=True) as con:
        md = sections(to_markdown(build_weekly_report(con, Week.parse("2026-W19"))))
    new = md["New incidents and the themes they joined"]
    assert (f"joined **{STALE}** (RC-001): the third incident of this theme this quarter, fourth overall "
            "(earlier: PM-2026-050, PM-2026-001, PM-2026-002)") in new
    assert "joined **provider rate limits** (RC-002): the first incident of this theme" in new
    assert f"PM-2026-003 is the third *{STALE}* incident this quarter (fourth overall)." in md["glance"]
    # Two in the last four weeks against two in the thirteen before: rising.
    assert f"| RC-001 | {STALE} | 2 | 0.6 | PM-2026-002, PM-2026-003 |" in md[
        "Themes rising against the trailing baseline"]


def test_postmortem_states_are_judged_at_the_end_of_the_week(small_warehouse):
    _, database = small_warehouse
    with duckdb.connect(str(database), read_only=True) as con:
        md = sections(to_markdown(build_weekly_report(con, Week.parse("2026-W19"))))
    due = md["Post-mortems due or overdue (72-hour rule)"]
    # Resolved Wednesday 10:00, unpublished by Sunday night: 38 hours past its 72.
    assert "| PM-2026-003 |" in due and "overdue by 38.0 h" in due
    # Resolved Friday 18:00: still within its 72 hours at the end of the week.
    assert next(x for x in due.splitlines() if "PM-2026-004" in x).endswith("| due |")
    assert "PM-2026-002 (333 h)" in due  # published this week, 13 days 21 hours after resolution
    assert "**PM-2026-002** `evals/support/refund-policy-freshness.yaml`" in md["Eval cases added"]
    assert "PM-2026-001" not in due


def test_a_past_week_reads_the_same_after_later_incidents_arrive(small_warehouse, tmp_path):
    store, database = small_warehouse
    with duckdb.connect(str(database), read_only=True) as con:
        before = to_markdown(build_weekly_report(con, Week.parse("2026-W19")))
    write(store / "PM-2026-005.md", postmortem("PM-2026-005", started="2026-06-01T09:00:00+00:00",
                                               resolved="2026-06-01T12:00:00+00:00",
                                               published="2026-06-02T09:00:00+00:00"))
    later = build_warehouse(store, tmp_path / "later.duckdb", themes=False)
    with duckdb.connect(str(later)) as con:
        plant_assignments(con, {**ASSIGNMENTS, "PM-2026-005": ("RC-001", STALE)})
        assert to_markdown(build_weekly_report(con, Week.parse("2026-W19"))) == before
        assert "fifth overall" in to_markdown(build_weekly_report(con, Week.parse("2026-W23")))


def test_without_themes_the_report_says_so_and_still_has_the_rest(store, tmp_path):
    write_small_store(store)
    database = build_warehouse(store, tmp_path / "w.duckdb", themes=False)
    with duckdb.connect(str(database), read_only=True) as con:
        md = sections(to_markdown(build_weekly_report(con, Week.parse("2026-W19"))))
    assert "Themes have not been built yet" in md["New incidents and the themes they joined"]
    assert "PM-2026-003" in md["Post-mortems due or overdue (72-hour rule)"]


def test_an_empty_warehouse_still_gets_a_report_for_the_requested_week(store, tmp_path):
    from pipelines.reports.outputs import report_quarters, report_weeks
    from pipelines.reports.periods import Quarter
    from pipelines.reports.quarterly import build_quarterly_report

    with duckdb.connect(str(build_warehouse(store, tmp_path / "empty.duckdb", themes=False))) as con:
        assert report_weeks(con, GOLDEN_WEEK) == [GOLDEN_WEEK]
        assert report_quarters(con, Quarter.parse("2026-Q3")) == [Quarter.parse("2026-Q3")]
        weekly = sections(to_markdown(build_weekly_report(con, GOLDEN_WEEK)))
        assert "0 new incidents" in weekly["glance"] and "No incident was resolved" in weekly[
            "Incidents resolved this week"]
        quarterly = to_markdown(build_quarterly_report(con, Quarter.parse("2026-Q3")))
        assert "Themes have not been built yet" in quarterly


def test_a_joined_theme_that_is_unstable_says_so(sample_con):
    md = sections(to_markdown(build_weekly_report(sample_con, GOLDEN_WEEK)))["New incidents and the themes they joined"]
    joined = sample_con.execute("""
        SELECT DISTINCT t.theme_id, t.name, t.stability FROM postmortems n
        JOIN theme_assignments a ON a.incident_id = n.incident_id AND a.theme_set = 'root_cause'
        JOIN themes t ON t.theme_set = a.theme_set AND t.theme_id = a.theme_id
        WHERE n.incident_date BETWEEN ? AND ?""", [GOLDEN_WEEK.start, GOLDEN_WEEK.end]).fetchall()
    assert joined
    for theme_id, name, stability in joined:
        marked = f"**{name}** ({theme_id}), an unstable theme (stability {stability:.2f})" in md
        assert marked == (stability < STABLE_JACCARD), (theme_id, stability)
