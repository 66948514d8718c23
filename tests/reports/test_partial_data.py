"""Weekly and quarterly reports on free-form post-mortems (tests/freeform.py): incidents
without dates, severities or teams are explained at a glance, sections say why they are
empty, and nothing reads "None", "nan" or "NaT"."""

from __future__ import annotations

import re

import duckdb
import pytest

from pipelines.reports.data import THEMES_MISSING
from pipelines.reports.periods import Quarter, Week
from pipelines.reports.quarterly import build_quarterly_report
from pipelines.reports.render import to_html, to_markdown
from pipelines.reports.weekly import build_weekly_report
from tests.dashboards.warehouses import build_warehouse
from tests.freeform import write_freeform_store

LEAKS = re.compile(r"\bNone\b|\b[Nn]a[Nn]\b|\bNaT\b|0\.000000")


@pytest.fixture(scope="module", params=["partly dated", "undated"])
def warehouse(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("partial")
    store = write_freeform_store(root / "store", undated_only=request.param == "undated")
    return build_warehouse(store, root / "warehouse.duckdb")  # with the fixture themes


def _reports(path):
    with duckdb.connect(str(path), read_only=True) as con:
        first = con.execute("SELECT min(incident_date) FROM postmortems").fetchone()[0]
        quarter = Quarter.containing(first) if first else Quarter.parse("2026-Q3")
        week = Week.parse(con.execute("SELECT min(iso_week) FROM postmortems").fetchone()[0] or "2026-W10")
        undated, total = con.execute("SELECT count(*) FILTER (WHERE incident_date IS NULL), count(*) "
                                     "FROM postmortems").fetchone()
        return [build_weekly_report(con, week), build_quarterly_report(con, quarter)], undated, total


def test_reports_say_how_many_incidents_have_no_date(warehouse):
    reports, undated, total = _reports(warehouse)
    assert undated
    for report in reports:
        [note] = [h for h in report.highlights if "Post-mortem health" in h]
        assert (note.startswith("No incident has a date") if undated == total
                else note.startswith(f"{undated} incidents of {total} have no date"))


def test_reports_on_partial_data_never_show_none_or_claim_themes_are_missing(warehouse):
    reports, _, _ = _reports(warehouse)
    for report in reports:
        for text in (to_markdown(report), to_html(report)):
            assert not LEAKS.search(text), LEAKS.search(text).group(0)
            assert THEMES_MISSING not in text  # the themes exist: the reason is the dates
    quarterly = to_markdown(reports[1])
    assert "```\n\n```" not in quarterly  # no empty chart of medians nobody recorded
