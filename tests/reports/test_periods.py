from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from pipelines.reports.periods import (
    Quarter,
    Week,
    latest_complete_quarter,
    latest_complete_week,
    period_bounds,
    quarters_between,
    weeks_between,
)


def test_iso_weeks_parse_and_span_monday_to_sunday():
    week = Week.parse("2026-W14")
    assert (week.start, week.end) == (date(2026, 3, 30), date(2026, 4, 5))
    assert Week.containing(date(2026, 4, 5)) == week and week.shift(1).label == "2026-W15"
    # ISO years: 2026 has a week 53, and 1 January 2027 still belongs to it.
    assert Week.containing(date(2027, 1, 1)).label == "2026-W53"
    assert Week.parse("2026-W53").shift(1).label == "2027-W01"


@pytest.mark.parametrize("text", ["2026-14", "2026-W54", "W14", "2025-W53"])
def test_invalid_weeks_are_refused_with_the_reason(text):
    with pytest.raises(ValueError, match="ISO week|no ISO week"):
        Week.parse(text)


def test_quarters_parse_shift_across_years_and_end_on_the_last_day():
    q = Quarter.parse("2026-q4")
    assert q.label == "2026-Q4" and (q.start, q.end) == (date(2026, 10, 1), date(2026, 12, 31))
    assert q.shift(1).label == "2027-Q1" and q.shift(-4).label == "2025-Q4"
    assert Quarter.parse("2024-Q1").end == date(2024, 3, 31)
    with pytest.raises(ValueError):
        Quarter.parse("2026-Q5")


def test_latest_complete_period_is_the_one_that_just_ended():
    monday_morning = datetime(2026, 4, 6, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert latest_complete_week(monday_morning).label == "2026-W14"
    assert latest_complete_quarter(datetime(2026, 4, 1, 9, 0, tzinfo=ZoneInfo("UTC"))).label == "2026-Q1"


def test_bounds_are_midnight_in_the_team_time_zone():
    start, end = period_bounds(Week.parse("2026-W14"), "America/New_York")
    assert start.isoformat() == "2026-03-30T00:00:00-04:00" and end.isoformat() == "2026-04-06T00:00:00-04:00"


def test_ranges_include_both_ends():
    assert [w.label for w in weeks_between(Week.parse("2025-W52"), Week.parse("2026-W02"))] == [
        "2025-W52", "2026-W01", "2026-W02"]
    assert len(quarters_between(Quarter.parse("2025-Q2"), Quarter.parse("2026-Q3"))) == 6
