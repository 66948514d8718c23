"""The dashboard's eval-suite section (Post-mortem health page) in Streamlit's AppTest, over
the sample warehouse with the linked suite: coverage per eval-gap theme, pass or fail per
incident, and the problems found."""

from __future__ import annotations

import duckdb
from streamlit.testing.v1 import AppTest

from dashboards import queries
from tests.dashboards.conftest import APP, APP_TIMEOUT, frame_of, ids_in_links


def open_health(monkeypatch, warehouse, **params) -> AppTest:
    monkeypatch.setenv("EMBERLINE_DB", str(warehouse))
    queries.clear_caches()
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.switch_page("views/health.py")
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_health_page_shows_coverage_per_eval_gap_theme_and_pass_fail_per_incident(monkeypatch, linked):
    at = open_health(monkeypatch, linked.warehouse)
    assert "Regression eval cases in the eval suite" in [s.value for s in at.subheader]
    with duckdb.connect(str(linked.warehouse), read_only=True) as con:
        coverage = con.execute("SELECT theme_id, cases_present FROM eval_gap_theme_coverage "
                               "ORDER BY coverage, incidents DESC, theme_id").fetchall()
        counts = dict(con.execute("SELECT outcome, count(*) FROM eval_case_status GROUP BY ALL").fetchall())
    shown = frame_of(at, "eval_gap_coverage")
    assert ids_in_links(shown["theme_id"]) == [t for t, _ in coverage]
    assert list(shown["cases_present"]) == [n for _, n in coverage]
    outcomes = frame_of(at, "eval_case_outcomes")
    assert ids_in_links(outcomes["incident_id"])[0] == linked.by_file_name  # failing first
    by_incident = dict(zip(ids_in_links(outcomes["incident_id"]), outcomes["outcome"]))
    assert (by_incident[linked.by_path], by_incident[linked.missing]) == ("passing", "missing")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Failing"] == str(counts["failing"]) and metrics["Promised, missing"] == str(counts["missing"])
    assert any("Problems reading the eval suite or results (5)" in e.label for e in at.expander)


def test_quarter_filter_and_a_warehouse_without_the_eval_tables(monkeypatch, linked, sample_warehouse):
    at = open_health(monkeypatch, linked.warehouse, quarter="2025-Q2")
    quarters = set(frame_of(at, "eval_case_outcomes")["quarter"].map(lambda v: str(v).rsplit("=", 1)[-1]))
    assert quarters == {"2025-Q2"}
    at = open_health(monkeypatch, sample_warehouse)
    assert any("has not been linked on this warehouse" in c.value for c in at.caption)
