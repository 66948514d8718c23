"""ISO weeks and calendar quarters: the periods reports are computed "as of".

A report for a period only sees what had happened by the period's end, so the weekly report
for 2026-W14 reads the same whenever it is generated (as long as the post-mortems about that
time are unchanged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True, order=True)
class Week:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> Week:
        match = _WEEK.match(text.strip().upper())
        if not match:
            raise ValueError(f"not an ISO week: {text!r} (expected e.g. 2026-W14)")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{text!r}: {year} has no ISO week {week}") from None
        return cls(year, week)

    @classmethod
    def containing(cls, day: date) -> Week:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def start(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    def shift(self, weeks: int) -> Week:
        return Week.containing(self.start + timedelta(weeks=weeks))

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    quarter: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER.match(text.strip().upper())
        if not match:
            raise ValueError(f"not a quarter: {text!r} (expected e.g. 2026-Q2)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.quarter}"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end(self) -> date:
        return self.shift(1).start - timedelta(days=1)

    def shift(self, quarters: int) -> Quarter:
        index = self.year * 4 + self.quarter - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)

    def __str__(self) -> str:
        return self.label


Period = Week | Quarter


def period_bounds(period: Period, tz: str = "UTC") -> tuple[datetime, datetime]:
    """[start, end) of the period as aware datetimes in the team's time zone."""
    zone = ZoneInfo(tz)
    return (datetime.combine(period.start, time(0), zone),
            datetime.combine(period.end + timedelta(days=1), time(0), zone))


def latest_complete_week(now: datetime) -> Week:
    """The last week that has fully ended at `now` (a Monday-morning run reports last week)."""
    return Week.containing(now.date()).shift(-1)


def latest_complete_quarter(now: datetime) -> Quarter:
    return Quarter.containing(now.date()).shift(-1)


def weeks_between(first: Week, last: Week) -> list[Week]:
    weeks, current = [], first
    while current <= last:
        weeks.append(current)
        current = current.shift(1)
    return weeks


def quarters_between(first: Quarter, last: Quarter) -> list[Quarter]:
    quarters, current = [], first
    while current <= last:
        quarters.append(current)
        current = current.shift(1)
    return quarters
