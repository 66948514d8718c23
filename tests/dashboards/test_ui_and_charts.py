"""Deep links, post-mortem rendering and the chart builders."""

from __future__ import annotations

import polars as pl
import pytest

from dashboards import charts, ui
from tests.conftest import postmortem


def test_deep_links_are_relative_and_open_the_right_page():
    assert ui.link_to("incident", "PM-2026-014") == "./incidents?incident=PM-2026-014"
    assert ui.link_to("theme", "RC-003") == "./themes?theme=RC-003"
    assert ui.link_to("week", "2026-W14") == "./weekly?week=2026-W14"
    assert ui.link_to("quarter", "2026-Q2") == "./?quarter=2026-Q2"  # the landing page is the root
    assert ui.link_to("incident", "file:2025/notes & more.md") == "./incidents?incident=file%3A2025%2Fnotes+%26+more.md"


def test_linked_turns_id_columns_into_links_and_nulls_into_empty_cells():
    frame = pl.DataFrame({"incident_id": ["PM-1", None], "title": ["a", "b"]})
    linked, config = ui.linked(frame, {"incident_id": "incident", "missing_column": "theme"})
    assert linked["incident_id"].to_list() == ["./incidents?incident=PM-1", ""]  # not a cell saying "None"
    assert linked["title"].to_list() == ["a", "b"]
    assert set(config) == {"incident_id"}


def test_postmortem_body_drops_front_matter_demotes_headings_and_escapes_dollars():
    markdown = postmortem(extra="""
        ## Cost
        The retry storm cost $4,200 in tokens and $300 in compute.

        ```python
        # a comment in code stays as it is, and so does $HOME
        ```
        """)
    body = ui.postmortem_body(markdown)
    assert not body.startswith("---") and "severity: SEV2" not in body
    assert "### Support bot quoted a retired refund policy" in body.splitlines()
    assert "#### Summary" in body.splitlines()
    assert "cost \\$4,200 in tokens and \\$300" in body
    assert "# a comment in code stays as it is, and so does $HOME" in body.splitlines()


def test_postmortem_body_without_front_matter_keeps_everything():
    assert ui.postmortem_body("# Title\n\ntext") == "### Title\n\ntext"


@pytest.fixture
def ranking():
    return pl.DataFrame({"theme_id": ["RC-001", "RC-002"], "name": ["Stale index", "Prompt shipped untested"],
                         "burn_score": [120.5, 80.0], "incidents": [6, 4], "sev1_sev2": [2, 1],
                         "quarters_present": [3, 2]})


@pytest.fixture
def quarter_counts():
    return pl.DataFrame({"theme_id": ["RC-001", "RC-001", "RC-002", "RC-002"], "name": ["a", "a", "b", "b"],
                         "burn_score": [9.0, 9.0, 5.0, 5.0], "quarter": ["2026-Q1", "2026-Q2"] * 2,
                         "incidents": [1, 3, 0, 2]})


def test_charts_build_valid_vega_lite(ranking, quarter_counts):
    built = [
        charts.burn_ranking_bars(ranking),
        charts.quarter_theme_heatmap(quarter_counts),
        charts.theme_trend_lines(quarter_counts, top=1),
        charts.detection_resolution_lines(pl.DataFrame({"quarter": ["2026-Q1"], "median_hours_to_detect": [1.5],
                                                        "median_hours_to_resolve": [6.0]})),
        charts.category_mix_bars(pl.DataFrame({"category": ["retrieval", "data"], "share": [0.75, 0.25]})),
        charts.quarterly_bars(pl.DataFrame({"quarter": ["2026-Q1"], "incidents": [3]})),
        charts.categories_by_quarter(pl.DataFrame({"quarter": ["2026-Q1"], "category": ["data"], "incidents": [2]})),
        charts.health_lines(pl.DataFrame({"quarter": ["2026-Q1"], "avg_completeness": [0.9],
                                          "share_within_72h": [0.5]})),
        charts.missing_section_bars(pl.DataFrame({"section": ["timeline"], "postmortems": [2]})),
    ]
    for chart in built:
        spec = chart.to_dict()  # validates against the Vega-Lite schema
        assert "config" not in spec or "background" not in spec["config"]  # the app's theme decides


def test_trend_lines_keep_only_the_top_themes(quarter_counts):
    spec = charts.theme_trend_lines(quarter_counts, top=1).to_dict()
    values = next(iter(spec["datasets"].values()))
    assert {row["theme_id"] for row in values} == {"RC-001"}


def test_no_chart_hard_codes_a_colour(ranking, quarter_counts):
    """Fixed colours vanish on one of the two themes: marks use schemes, text uses the theme."""
    for chart in (charts.burn_ranking_bars(ranking), charts.quarter_theme_heatmap(quarter_counts)):
        spec = str(chart.to_dict())
        assert "'color': '#" not in spec and "'fill': '#" not in spec and "labelColor" not in spec


def test_long_tables_are_cut_and_say_so():
    from streamlit.testing.v1 import AppTest

    def app():
        import polars as pl

        from dashboards import ui

        ui.table(pl.DataFrame({"incident_id": [f"PM-{i}" for i in range(30)]}), links={"incident_id": "incident"},
                 key="long", max_rows=10)
        ui.table(pl.DataFrame({"incident_id": []}, schema={"incident_id": pl.String}), empty="None at all.", key="none")

    at = AppTest.from_function(app).run()
    shown = at.get_by_key("long").dataframe[0].value
    assert len(shown) == 10 and shown["incident_id"][0] == "./incidents?incident=PM-0"
    assert [c.value for c in at.caption] == ["The first 10 of 30 rows; the SQL page has them all.", "None at all."]
