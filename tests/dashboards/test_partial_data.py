"""Every page on warehouses of free-form post-mortems (tests/freeform.py): no front matter, no
severities or teams, some or all without a date, with and without themes. Each page says why
something is empty and where to look, and no rendered text says "None", "nan", "NaT" or shows
a 0.000000 axis."""

from __future__ import annotations

import json
import re

import pytest

from dashboards import ui
from tests.dashboards.warehouses import build_warehouse
from tests.freeform import write_freeform_store

PAGES = [None, ui.WEEKLY, ui.THEMES, ui.INCIDENTS, ui.HEALTH, ui.SQL]
# Words a reader should never see for a missing value; 0.000000 is an axis of nothing.
LEAKS = re.compile(r"\bNone\b|\b[Nn]a[Nn]\b|\bNaT\b|\bnull\b|0\.000000")


def rendered_text(at) -> list[str]:
    """Every string an AppTest run shows: element values, labels, captions, table cells, and
    the data and axis titles of the charts (their specs' JSON `null`s are not text)."""
    texts: list[str] = []

    def walk(node) -> None:
        kind = getattr(node, "type", "")
        if kind == "dataframe":
            frame = node.value
            texts.extend(str(c) for c in frame.columns)
            texts.extend(frame.astype(str).to_numpy().ravel().tolist())
        elif "vega" in kind:
            spec = json.loads(node.proto.spec)
            texts.extend(re.findall(r'"(?:title|format|text)": "([^"]*)"', node.proto.spec))
            for dataset in node.proto.datasets:
                texts.append(str(dataset))
            texts.append(json.dumps(spec.get("encoding", {})).replace(": null", ""))
        for attr in ("value", "label", "body", "help", "caption", "placeholder"):
            try:
                value = getattr(node, attr)
            except Exception:  # noqa: BLE001 - not every element has every attribute
                continue
            if isinstance(value, str):
                texts.append(value)
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)
    return texts


def assert_no_leaks(at) -> None:
    texts = rendered_text(at)
    assert len(texts) > 10
    leaks = [t for t in texts if LEAKS.search(t)]
    assert not leaks, leaks[:5]


@pytest.fixture(scope="module")
def freeform_warehouse(tmp_path_factory):
    """Free-form post-mortems, two of five dated, with the fixture themes."""
    root = tmp_path_factory.mktemp("freeform")
    return build_warehouse(write_freeform_store(root / "store"), root / "warehouse.duckdb")


@pytest.fixture(scope="module")
def undated_warehouse(tmp_path_factory):
    """Free-form post-mortems none of which has a date, ingested only (no themes)."""
    root = tmp_path_factory.mktemp("undated")
    return build_warehouse(write_freeform_store(root / "store", undated_only=True), root / "warehouse.duckdb",
                           themes=False)


@pytest.fixture(scope="module")
def undated_themed_warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("undated_themed")
    return build_warehouse(write_freeform_store(root / "store", undated_only=True), root / "warehouse.duckdb")


@pytest.mark.parametrize("page_file", PAGES)
@pytest.mark.parametrize("which", ["freeform_warehouse", "undated_warehouse", "undated_themed_warehouse"])
def test_every_page_reads_well_on_partial_data(open_page, request, which, page_file):
    at = open_page(page_file, warehouse=request.getfixturevalue(which))
    assert at.title
    assert_no_leaks(at)


def test_an_undated_store_says_why_weeks_and_quarters_are_empty(open_page, undated_themed_warehouse):
    landing = open_page(None, warehouse=undated_themed_warehouse)
    assert any(ui.NO_DATES == i.value for i in landing.info)
    assert any("none with a date" in c.value for c in landing.sidebar.caption)
    weekly = open_page(ui.WEEKLY, warehouse=undated_themed_warehouse)
    assert [i.value for i in weekly.info] == [ui.NO_DATES]
    themes = open_page(ui.THEMES, warehouse=undated_themed_warehouse)
    assert any("none of its incidents has a date" in c.value for c in themes.caption)


def test_a_partly_dated_store_says_how_many_have_no_date(open_page, freeform_warehouse):
    import duckdb

    with duckdb.connect(str(freeform_warehouse), read_only=True) as con:
        n, dated, first, last = con.execute("SELECT count(*), count(incident_date), min(incident_date), "
                                            "max(incident_date) FROM postmortems").fetchone()
    assert 0 < dated < n  # the fixture is partly dated
    at = open_page(None, warehouse=freeform_warehouse)
    [caption] = [c.value for c in at.sidebar.caption if "incidents" in c.value]
    assert caption.startswith(f"{n} incidents, {first} to {last} ({n - dated} without a date)")
    # no severity anywhere: the metric says so instead of a count of nothing
    assert [m.value for m in at.metric if m.label == "SEV1 / SEV2"] == ["–"]


def test_an_incident_without_dates_or_front_matter_opens_cleanly(open_page, freeform_warehouse):
    import duckdb

    with duckdb.connect(str(freeform_warehouse), read_only=True) as con:
        [(incident,)] = con.execute("SELECT incident_id FROM postmortems WHERE source_path = "
                                    "'notes/translation-drift.md'").fetchall()
    at = open_page(ui.INCIDENTS, warehouse=freeform_warehouse, incident=incident)
    assert "Translations drifted" in at.title[0].value
    assert_no_leaks(at)


def test_cells_without_a_value_say_not_recorded():
    import polars as pl

    frame = pl.DataFrame({"team": ["search", None], "hours": [1.5, None], "when": [None, None],
                          "ok": [True, None]}, schema={"team": pl.String, "hours": pl.Float64,
                                                       "when": pl.Datetime("us", "UTC"), "ok": pl.Boolean})
    shown = ui.readable(frame)
    assert shown.rows() == [("search", "1.5", "not recorded", "yes"), ("not recorded", "–", "not recorded",
                                                                      "not recorded")]
    complete = pl.DataFrame({"n": [1, 2]})
    assert ui.readable(complete).schema == complete.schema  # columns without gaps keep their type


def test_the_burn_chart_has_no_severity_scale_when_no_incident_has_a_severity():
    import polars as pl

    from dashboards import charts

    ranking = pl.DataFrame({"theme_id": ["RC-001"], "name": ["Stale index"], "burn_score": [3.0], "incidents": [3],
                            "sev1_sev2": [0], "quarters_present": [0]})
    encoding = charts.burn_ranking_bars(ranking).to_dict()["encoding"]
    assert "field" not in encoding["color"]  # a constant colour: no legend over [0, 0]
    severe = charts.burn_ranking_bars(ranking.with_columns(pl.lit(2).alias("sev1_sev2"))).to_dict()["encoding"]
    assert severe["color"]["field"] == "sev1_sev2" and severe["color"]["legend"]["format"] == "d"
