"""Dates as people write them, converted to UTC correctly."""

from datetime import date, datetime, timezone

import pytest

from pipelines.postmortems import dates


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("On March 26th, 2019 the job stopped", utc(2019, 3, 26)),
    ("26th Mar 2019", utc(2019, 3, 26)),
    ("Friday, 27 February 2026 at 04:37 US/Pacific", utc(2026, 2, 27, 12, 37)),
    ("12/17/2024 14:17 UTC", utc(2024, 12, 17, 14, 17)),
    ("2026-03-02T14:05Z", utc(2026, 3, 2, 14, 5)),
    ("July 8th, 2025 at 5:32 PM PDT", utc(2025, 7, 9, 0, 32)),  # not 17:32 UTC: 7 hours behind
    ("Jan 5, 2026 9:00 am EST", utc(2026, 1, 5, 14, 0)),
    ("3 June 2025 10:00 CEST", utc(2025, 6, 3, 8, 0)),
    ("Start: 10-December-2021 14:33 UTC", utc(2021, 12, 10, 14, 33)),
    ("10-Dec-2021 14:33", utc(2021, 12, 10, 14, 33)),
    ("04.03.2025 14:33 CET", utc(2025, 3, 4, 13, 33)),  # dots: day first, 4 March
])
def test_dates_in_prose(text, expected):
    found = dates.find_datetimes(text)
    assert found and found[0].at == expected


def test_a_date_without_a_year_takes_the_documents_year():
    assert dates.find_datetimes("December 17 14:17 UTC", default_year=2024)[0].at == utc(2024, 12, 17, 14, 17)
    assert dates.find_datetimes("December 17 14:17 UTC") == []  # no year known: no guess


def test_a_time_alone_takes_the_previous_entrys_date_and_wraps_past_midnight():
    at, rest, has_time = dates.leading_timestamp("00:15 — recovered", utc(2024, 3, 1, 23, 30))
    assert at == utc(2024, 3, 2, 0, 15) and has_time and "recovered" in rest
    at, _, _ = dates.leading_timestamp("5:32 PM PDT: alert fired", utc(2024, 7, 8, 20, 0))
    assert at == utc(2024, 7, 9, 0, 32)


def test_words_that_end_in_t_are_not_time_zones():
    at, rest, _ = dates.leading_timestamp("13:05 first errors", utc(2026, 9, 8, 13, 0))
    assert at == utc(2026, 9, 8, 13, 5) and rest.strip() == "first errors"


def test_stated_zone_and_file_name_date():
    assert dates.stated_zone("All times are in PDT.").utcoffset(None).total_seconds() == -7 * 3600
    assert dates.stated_zone("nothing here") is None
    assert dates.date_in_file_name("2019-03-25-boskos.md") == date(2019, 3, 25)
    assert dates.date_in_file_name("2019-13-45-x.md") is None


def test_an_impossible_date_is_no_date_not_a_crash():
    assert dates.find_datetimes("2026-13-45 and February 30, 2026") == []
