"""One AppTest per page, built from the entrypoint: no exception, the key elements, and
filters and links that change what is shown. Expected values are computed with SQL on the
same warehouse, never copied from the dashboard's code."""

from __future__ import annotations

import numpy as np
import pytest

from dashboards import queries, ui
from pipelines.themes.stability import FEW_INCIDENTS, STABLE_JACCARD
from tests.conftest import SAMPLE_STORE
from tests.dashboards.conftest import frame_of, ids_in_links
from tests.dashboards.warehouses import CATEGORIES, build_warehouse, category_vector


def metric(at, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}: {[m.label for m in at.metric]}"
    return values[0]


def markdown_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


# --------------------------------------------------------------------------------------
# Quarterly retrospective (landing page)


def test_landing_page_answers_where_we_keep_getting_burned(page, sql):
    at = page()
    assert at.title[0].value == "Where do we keep getting burned?"
    expected = [r[0] for r in sql("SELECT theme_id FROM theme_burn WHERE theme_set = 'root_cause' "
                                  "ORDER BY burn_score DESC, incidents DESC, theme_id")]
    ranking = frame_of(at, "ranking")
    assert ids_in_links(ranking["theme_id"]) == expected
    top_name = sql("SELECT name FROM themes WHERE theme_id = ?", [expected[0]])[0][0]
    assert f"**Most burn: {expected[0]} · {top_name}**" in markdown_text(at)
    link = at.get("page_link")[0].proto
    assert (link.label, link.query_string) == (f"{expected[0]} · {top_name}", f"theme={expected[0]}")
    assert int(metric(at, "Incidents")) == sql("SELECT count(*) FROM postmortems")[0][0]
    subheaders = [s.value for s in at.subheader]
    for heading in ("Recurrence: incidents per quarter and theme", "Trend of the top five themes",
                    "Eval-gap themes: what our evals keep missing", "Did the fixes work?",
                    "Time to detect and to resolve, by quarter"):
        assert heading in subheaders
    assert len(at.get("vega_lite_chart")) >= 4


def test_quarter_link_and_selector_scope_the_ranking(page, sql):
    quarter = "2025-Q3"
    at = page(quarter=quarter)
    assert at.selectbox(key="quarter").value == quarter
    assert int(metric(at, "Incidents")) == sql("SELECT count(*) FROM postmortems WHERE quarter = ?", [quarter])[0][0]
    expected = [r[0] for r in sql("""
        SELECT ti.theme_id FROM theme_incidents ti JOIN incident_burn b USING (incident_id)
        WHERE ti.theme_set = 'root_cause' AND ti.quarter = ?
        GROUP BY ti.theme_id ORDER BY sum(b.burn) DESC, count(*) DESC, ti.theme_id""", [quarter])]
    assert ids_in_links(frame_of(at, "ranking")["theme_id"]) == expected

    # The browser test checks that the URL follows the selector (bind="query-params" is
    # carried out by the front end, which AppTest does not run).
    other = "2026-Q1"
    at.selectbox(key="quarter").set_value(other).run()
    assert int(metric(at, "Incidents")) == sql("SELECT count(*) FROM postmortems WHERE quarter = ?", [other])[0][0]


def test_fix_items_are_listed_on_demand(page, sql):
    at = page()
    with pytest.raises(KeyError):
        at.get_by_key("fix_items")
    at.toggle(key="fix_items_on").set_value(True).run()
    items = frame_of(at, "fix_items")
    done_and_back = sql("""SELECT count(*) FROM theme_fix_effectiveness
                           WHERE theme_set = 'root_cause' AND status = 'done' AND incidents_after > 0""")[0][0]
    assert len(items) == min(500, sql("SELECT count(*) FROM theme_fix_effectiveness WHERE theme_set = 'root_cause'")[0][0])
    assert list(items["incidents_after"][:done_and_back] > 0) == [True] * min(done_and_back, len(items))


def test_eval_gap_theme_set_from_the_url(page):
    at = page(set="eval_gap")
    assert at.radio(key="_url_set").value == "eval_gap"
    ids = ids_in_links(frame_of(at, "ranking")["theme_id"])
    assert ids and all(i.startswith("EG-") for i in ids)


# --------------------------------------------------------------------------------------
# Weekly review


def test_weekly_review_defaults_to_the_latest_week(page, sql):
    at = page(ui.WEEKLY)
    latest = sql("SELECT max(iso_week) FROM postmortems")[0][0]
    assert at.selectbox(key="week").value == latest
    expected = {r[0] for r in sql("SELECT incident_id FROM postmortems WHERE iso_week = ?", [latest])}
    assert set(ids_in_links(frame_of(at, "week_incidents")["incident_id"])) == expected
    themes = {r[0] for r in sql("""SELECT DISTINCT theme_id FROM theme_assignments JOIN postmortems USING (incident_id)
                                    WHERE theme_set = 'root_cause' AND theme_id IS NOT NULL AND iso_week = ?""", [latest])}
    for theme_id in themes:
        assert f"(./themes?theme={theme_id})" in markdown_text(at)
    due = {r[0] for r in sql("SELECT incident_id FROM postmortems_due")}
    assert set(ids_in_links(frame_of(at, "due")["incident_id"])) == due
    for heading in ("Post-mortems due or overdue", "Rising themes", "Action items due or overdue"):
        assert heading in [s.value for s in at.subheader]


def test_week_link_opens_that_week(page, sql):
    week = sql("SELECT iso_week FROM postmortems WHERE incident_id = 'PM-2025-001'")[0][0]
    at = page(ui.WEEKLY, week=week)
    assert at.selectbox(key="week").value == week
    shown = ids_in_links(frame_of(at, "week_incidents")["incident_id"])
    assert "PM-2025-001" in shown
    assert set(shown) == {r[0] for r in sql("SELECT incident_id FROM postmortems WHERE iso_week = ?", [week])}


# --------------------------------------------------------------------------------------
# Themes


def test_theme_link_opens_that_theme_in_full(page, sql):
    theme_id = "RC-003"
    name, n_incidents = sql("SELECT name, n_incidents FROM themes WHERE theme_id = ?", [theme_id])[0]
    at = page(ui.THEMES, theme=theme_id)
    assert at.header[0].value == f"{theme_id} · {name}"
    assert int(metric(at, "Incidents")) == n_incidents
    incidents = set(ids_in_links(frame_of(at, "theme_incidents")["incident_id"]))
    assert incidents == {r[0] for r in sql("SELECT DISTINCT incident_id FROM theme_assignments WHERE theme_id = ?",
                                           [theme_id])}
    representative = sql("SELECT representative_texts FROM themes WHERE theme_id = ?", [theme_id])[0][0]
    assert all(f"> {text}" in markdown_text(at) for text in representative)
    lineage = frame_of(at, "lineage")
    assert set(lineage["event"]) == {r[0] for r in sql("SELECT event FROM theme_lineage WHERE theme_id = ?", [theme_id])}
    related = frame_of(at, "related")
    assert theme_id not in ids_in_links(related["theme_id"])
    cooccurring = {r[0]: r[1] for r in sql("""
        SELECT CASE WHEN theme_a = ? THEN theme_b ELSE theme_a END, incidents FROM theme_cooccurrence
        WHERE theme_a = ? OR theme_b = ?""", [theme_id] * 3)}
    shown = dict(zip(ids_in_links(related["theme_id"]), related["shared_incidents"]))
    assert {k: v for k, v in shown.items() if v} == {k: v for k, v in cooccurring.items() if k in shown}
    for heading in ("Category mix", "Incidents per quarter", "Related themes", "Lineage across runs"):
        assert heading in [s.value for s in at.subheader]


def test_choosing_another_theme_updates_the_link(page, sql):
    at = page(ui.THEMES, theme="RC-003")
    at.selectbox(key="_url_theme").set_value("RC-001").run()
    assert at.query_params["theme"] == "RC-001"
    assert at.header[0].value.startswith("RC-001 · ")


def test_unknown_theme_in_the_url_falls_back_to_the_largest(page, sql):
    at = page(ui.THEMES, theme="RC-999")
    largest = sql("SELECT theme_id FROM themes WHERE theme_set = 'root_cause' ORDER BY n_incidents DESC, theme_id "
                  "LIMIT 1")[0][0]
    assert at.header[0].value.startswith(f"{largest} · ")


# --------------------------------------------------------------------------------------
# Incidents


def test_text_search_and_filters_narrow_the_list(page, sql):
    at = page(ui.INCIDENTS)
    everything = frame_of(at, "results")
    assert len(everything) == sql("SELECT count(*) FROM postmortems")[0][0]

    at = page(ui.INCIDENTS, q="index")
    expected = {r[0] for r in sql("""
        SELECT p.incident_id FROM postmortems p WHERE concat_ws(' ', p.title, p.summary,
            (SELECT string_agg(concat_ws(' ', r.title, r.description, r.evals_missed_why), ' ')
             FROM root_causes r WHERE r.incident_id = p.incident_id)) ILIKE '%index%'""")}
    found = set(ids_in_links(frame_of(at, "results")["incident_id"]))
    assert found == expected and 0 < len(found) < len(everything)

    at.multiselect(key="severity").set_value(["SEV1"]).run()
    narrowed = frame_of(at, "results")
    assert set(narrowed["severity"]) == {"SEV1"}
    assert set(ids_in_links(narrowed["incident_id"])) == expected & {
        r[0] for r in sql("SELECT incident_id FROM postmortems WHERE severity = 'SEV1'")}


def test_theme_and_category_filters(page, sql):
    at = page(ui.INCIDENTS, theme="RC-002", category="data")
    assert at.multiselect(key="_url_theme").value == ["RC-002"]
    shown = set(ids_in_links(frame_of(at, "results")["incident_id"]))
    assert shown == {r[0] for r in sql("""
        SELECT DISTINCT a.incident_id FROM theme_assignments a JOIN root_causes r USING (incident_id)
        WHERE a.theme_id = 'RC-002' AND r.category = 'data'""")}


class OneHotEmbedder:
    """Stands in for the sentence-transformers model: the fixture vectors are one-hot by
    category, so a query that names a category is nearest to that category's causes."""

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray([category_vector(next((c for c in CATEGORIES if c in t), None)) for t in texts],
                          dtype=np.float32)


def test_search_by_meaning_ranks_by_the_stored_vectors(page, sql, monkeypatch):
    monkeypatch.setattr(queries, "embedder", lambda: OneHotEmbedder())
    at = page(ui.INCIDENTS, q="upstream-provider", mode="meaning")
    results = frame_of(at, "results")
    assert list(results["score"]) == sorted(results["score"], reverse=True)
    top = ids_in_links(results["incident_id"][results["score"] == 1.0])
    with_provider_cause = {r[0] for r in sql("SELECT incident_id FROM root_causes WHERE category = 'upstream-provider'")}
    assert top and set(top) <= with_provider_cause


def test_search_by_meaning_without_a_model_falls_back_to_text(page, monkeypatch):
    def broken():
        raise OSError("model files missing")
    monkeypatch.setattr(queries, "embedder", broken)
    at = page(ui.INCIDENTS, q="index", mode="meaning")
    assert "model files missing" in at.warning[0].value
    assert len(frame_of(at, "results")) > 0


def test_incident_link_renders_the_postmortem(page, sql):
    incident_id = "PM-2025-001"
    at = page(ui.INCIDENTS, incident=incident_id)
    title = sql("SELECT title FROM postmortems WHERE incident_id = ?", [incident_id])[0][0]
    assert at.title[0].value == f"{incident_id} · {title}"
    diff = sql("SELECT diff_text FROM prompt_diffs WHERE incident_id = ? ORDER BY seq", [incident_id])[0][0]
    code = [c for c in at.code if c.language == "diff"]
    assert code and code[0].value == diff
    body = markdown_text(at)
    assert "id: PM-2025-001" not in body  # front matter is shown as facts, not as text
    assert f"### {title}" in body  # the post-mortem's own title, two levels down
    model = sql("SELECT model, model_version FROM model_configs WHERE incident_id = ?", [incident_id])[0]
    shown_config = at.table[0].value
    assert {"model": model[0], "model_version": model[1]}.items() <= dict(
        zip(shown_config["setting"], shown_config["value"])).items()
    similar = [r[0] for r in sql("SELECT similar_incident_id FROM similar_incidents WHERE incident_id = ? ORDER BY rank",
                                 [incident_id])]
    links = [link for link in at.get("page_link") if "incident" in link.proto.query_string]
    assert [link.proto.query_string.split("=", 1)[1] for link in links] == similar
    n_findings = sql("SELECT count(*) FROM lint_findings WHERE incident_id = ?", [incident_id])[0][0]
    assert f"Lint findings ({n_findings})" in [s.value for s in at.subheader]


def test_incident_with_lint_findings_lists_them(page, sql):
    incident_id, n = sql("""SELECT incident_id, count(*) FROM lint_findings WHERE rule_id = 'EL006'
                            GROUP BY ALL ORDER BY incident_id LIMIT 1""")[0]
    at = page(ui.INCIDENTS, incident=incident_id)
    assert "EL006 blame-language" in markdown_text(at)


def test_unknown_incident_says_so_and_shows_the_search(page):
    at = page(ui.INCIDENTS, incident="PM-1999-999")
    assert "PM-1999-999" in at.warning[0].value
    assert at.title[0].value == "Incidents"


def test_back_button_returns_to_the_search(page):
    at = page(ui.INCIDENTS, incident="PM-2025-001")
    at.button[0].click().run()
    assert "incident" not in at.query_params
    assert at.title[0].value == "Incidents"


# --------------------------------------------------------------------------------------
# Post-mortem health


def test_health_page_shows_completeness_compliance_and_findings(page, sql):
    at = page(ui.HEALTH)
    avg_completeness, within = sql("""
        SELECT avg(completeness), avg(CASE WHEN hours_to_postmortem IS NULL THEN NULL
                                           WHEN hours_to_postmortem <= 72 THEN 1 ELSE 0 END) FROM postmortems""")[0]
    assert metric(at, "Average completeness") == f"{avg_completeness:.0%}"
    assert metric(at, "Published within 72 h") == f"{within:.0%}"
    flagged = {r[0] for r in sql("SELECT DISTINCT incident_id FROM lint_findings WHERE rule_id IN ('EL006', 'EL007')")}
    assert flagged and set(ids_in_links(frame_of(at, "findings")["incident_id"])) == flagged
    without = {r[0] for r in sql("SELECT incident_id FROM incidents_without_eval_case")}
    assert set(ids_in_links(frame_of(at, "no_eval_case")["incident_id"])) == without
    assert int(metric(at, "Without an eval case")) == len(without)


def test_health_page_lists_what_the_parser_did_not_understand(page, sql):
    at = page(ui.HEALTH)
    expected = sql("SELECT count(*) FROM parse_notes")[0][0]
    assert expected, "the sample store has free-form files with headings no section takes"
    shown = frame_of(at, "parse_notes")
    assert len(shown) == expected
    assert set(shown["what"]) == {r[0].replace("_", " ") for r in sql("SELECT DISTINCT kind FROM parse_notes")}


def test_health_quarter_filter(page, sql):
    quarter = sql("SELECT quarter FROM postmortems WHERE completeness < 1 GROUP BY 1 ORDER BY 1 LIMIT 1")[0][0]
    at = page(ui.HEALTH, quarter=quarter)
    assert int(metric(at, "Post-mortems")) == sql("SELECT count(*) FROM postmortems WHERE quarter = ?", [quarter])[0][0]
    assert set(ids_in_links(frame_of(at, "incomplete")["incident_id"])) == {
        r[0] for r in sql("SELECT incident_id FROM postmortems WHERE completeness < 1 AND quarter = ?", [quarter])}


# --------------------------------------------------------------------------------------
# SQL


def test_sql_page_runs_an_example_query(page, sql):
    at = page(ui.SQL)
    examples = queries.example_queries()
    at.selectbox(key="example").set_value(0).run()
    assert at.text_area(key="sql").value == examples[0].sql
    at.button[0].click().run()  # the form's Run button
    shown = frame_of(at, "result")
    assert len(shown) == len(sql(examples[0].sql))
    assert at.get("download_button")


@pytest.mark.parametrize("statement, reason", [
    ("CREATE TABLE notes (t VARCHAR)", "read-only"),
    ("DELETE FROM postmortems", "read-only"),
    ("SELECT * FROM read_csv('/etc/passwd')", "disabled"),
    ("COPY postmortems TO '/tmp/emberline-leak.csv'", "disabled"),
    ("SELECT nonsense FROM nowhere", "nowhere"),
])
def test_sql_page_shows_refusals_and_errors_inline(page, statement, reason):
    at = page(ui.SQL)
    at.text_area(key="sql").input(statement)
    at.button[0].click().run()
    assert not at.exception
    assert reason in at.error[0].value


def test_sql_page_caps_rows(page):
    at = page(ui.SQL)
    at.text_area(key="sql").input("SELECT * FROM range(5000)")
    at.number_input(key="row_cap").set_value(100)
    at.button[0].click().run()
    assert len(frame_of(at, "result")) == 100
    assert "first 100 rows" in at.warning[0].value


def test_schema_browser_lists_tables_and_views(page, sql):
    at = page(ui.SQL)
    labels = {e.label for e in at.expander}
    assert {"postmortems", "root_causes", "themes", "incidents", "theme_burn"} <= labels


# --------------------------------------------------------------------------------------
# Without a warehouse, or without themes


def test_no_warehouse_says_how_to_build_one(open_page, tmp_path):
    at = open_page(warehouse=tmp_path / "missing.duckdb")
    assert at.title[0].value == "No warehouse yet"
    assert "make run" in at.info[0].value and str(tmp_path / "missing.duckdb") in at.info[0].value


@pytest.fixture(scope="module")
def ingest_only_warehouse(tmp_path_factory):
    return build_warehouse(SAMPLE_STORE, tmp_path_factory.mktemp("ingest_only") / "warehouse.duckdb", themes=False)


@pytest.mark.parametrize("page_file", [None, ui.WEEKLY, ui.THEMES, ui.INCIDENTS, ui.HEALTH, ui.SQL])
def test_every_page_works_before_themes_exist(open_page, ingest_only_warehouse, page_file):
    at = open_page(page_file, warehouse=ingest_only_warehouse)
    if page_file in (None, ui.THEMES):
        assert any("no themes yet" in i.value for i in at.info)
    assert at.title


def test_landing_page_marks_unstable_themes_and_figures_on_few_incidents(page, sql):
    at = page()
    ranking = frame_of(at, "ranking")
    stability = dict(sql("SELECT theme_id, stability FROM themes WHERE theme_set = 'root_cause'"))
    ids = ids_in_links(ranking["theme_id"])
    notes = dict(zip(ids, ranking["caution"]))
    assert {stability[t] < STABLE_JACCARD for t in ids} == {True, False}
    for theme_id, incidents in zip(ids, ranking["incidents"]):
        assert ("unstable theme" in notes[theme_id]) == (stability[theme_id] < STABLE_JACCARD)
        assert ("few incidents" in notes[theme_id]) == (incidents < FEW_INCIDENTS)
    times = frame_of(at, "detect_resolve")
    per_quarter = dict(sql("""SELECT quarter, least(count(minutes_to_detect), count(minutes_to_resolve))
                              FROM postmortems WHERE quarter IS NOT NULL GROUP BY quarter"""))
    assert {"p25_hours_to_detect", "p75_hours_to_resolve"} <= set(times.columns)
    for quarter, note in zip(ids_in_links(times["quarter"]), times["caution"]):
        assert (note == f"few incidents ({per_quarter[quarter]})") == (per_quarter[quarter] < FEW_INCIDENTS)
    assert len(at.get("vega_lite_chart")) >= 5  # the box plots of hours per quarter beside the medians


def test_a_small_quarter_says_its_medians_rest_on_few_incidents(page, sql):
    few = sql("SELECT quarter FROM postmortems WHERE quarter IS NOT NULL GROUP BY quarter HAVING count(*) < ?",
              [FEW_INCIDENTS])
    many = sql("SELECT quarter FROM postmortems WHERE quarter IS NOT NULL GROUP BY quarter HAVING count(*) >= ?",
               [FEW_INCIDENTS])
    assert many
    captions = " ".join(c.value for c in page(quarter=many[0][0]).caption)
    assert "fewer than" not in captions.split("Burn score")[0]
    if few:
        assert f"fewer than {FEW_INCIDENTS} incidents" in " ".join(c.value for c in page(quarter=few[0][0]).caption)


def test_theme_page_warns_about_an_unstable_theme(page, sql):
    unstable = sql(f"SELECT theme_id FROM themes WHERE stability < {STABLE_JACCARD} ORDER BY theme_id LIMIT 1")[0][0]
    stable = sql(f"SELECT theme_id FROM themes WHERE stability >= {STABLE_JACCARD} ORDER BY theme_id LIMIT 1")[0][0]
    at = page(ui.THEMES, theme=unstable)
    assert any("unstable theme" in w.value for w in at.warning)
    at = page(ui.THEMES, theme=stable)
    assert not at.warning and any("Stability 0.90" in c.value for c in at.caption)
