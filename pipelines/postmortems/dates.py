"""Dates and times as people write them in post-mortems, converted to UTC correctly.

"March 26th, 2019", "26th Mar 2019", "12/17/2024 14:17 UTC", "5:32 PM PDT", "2026-03-02T14:05Z",
a time alone carried over from the previous timeline entry's date: candidates are found with
bounded regular expressions and parsed by python-dateutil with explicit time-zone tables, so a
12-hour clock in a US zone is not read as the same clock time in UTC.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser
from dateutil import tz as dateutil_tz

_H = 3600
# Abbreviations dateutil cannot know (they are ambiguous worldwide); these are the readings
# post-mortems mean. Zone names ("PT", "Pacific") follow daylight saving by date.
TZINFOS: dict[str, object] = {
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0,
    "PST": -8 * _H, "PDT": -7 * _H, "MST": -7 * _H, "MDT": -6 * _H, "CST": -6 * _H, "CDT": -5 * _H,
    "EST": -5 * _H, "EDT": -4 * _H, "AKST": -9 * _H, "AKDT": -8 * _H, "HST": -10 * _H,
    "WET": 0, "WEST": _H, "BST": _H, "CET": _H, "CEST": 2 * _H, "EET": 2 * _H, "EEST": 3 * _H,
    "MSK": 3 * _H, "IST": 5 * _H + 1800, "SGT": 8 * _H, "HKT": 8 * _H, "JST": 9 * _H, "KST": 9 * _H,
    "AEST": 10 * _H, "AEDT": 11 * _H, "NZST": 12 * _H, "NZDT": 13 * _H,
}
_ZONE_NAMES = {
    "PT": "America/Los_Angeles", "PACIFIC": "America/Los_Angeles", "MT": "America/Denver",
    "CT": "America/Chicago", "ET": "America/New_York", "EASTERN": "America/New_York",
    "CENTRAL": "America/Chicago",
}
for _abbr, _zone in _ZONE_NAMES.items():
    TZINFOS[_abbr] = ZoneInfo(_zone)

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"(?:[012]?\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d\d"
_TIME = (r"(?:[01]?\d|2[0-3])(?::[0-5]\d){1,2}(?:\.\d{1,6})?(?:\s?[ap]\.?m\.?)?"
         r"|(?:1[0-2]|0?[1-9])\s?[ap]\.?m\.?")
# Zone abbreviations are upper case even in a case-blind pattern: "first" is not a zone.
_ZONE = (r"(?-i:Z|UTC|GMT|[+-](?:0\d|1[0-4]):?[0-5]\d|\(?(?:UTC|GMT)\s?[+-]\d{1,2}(?::?\d\d)?\)?|"
         r"US/(?:Pacific|Eastern|Central|Mountain)|[A-Z]{2,4}T|PT|ET|CT|MT)")
_DATE_FORMS = (
    rf"{_YEAR}-[01]\d-[0-3]\d",
    rf"{_YEAR}/[01]?\d/[0-3]?\d",
    rf"[01]?\d/[0-3]?\d/{_YEAR}",
    rf"[0-3]?\d\.[01]?\d\.{_YEAR}",  # "10.12.2021": day first, as everywhere dots are written
    rf"{_DAY}[-.]{_MONTH}[-.]?{_YEAR}",  # "10-December-2021", "10-Dec-2021"
    r"[01]\d-[0-3]\d(?=\s(?:[01]?\d|2[0-3]):)",  # "[03-26 17:40]": month-day, only before a time
    rf"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{{0,6}},?\s)?{_MONTH}\s{_DAY}(?:,?\s(?:of\s)?{_YEAR})?",
    rf"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{{0,6}},?\s)?{_DAY}\s(?:of\s)?{_MONTH},?(?:\s{_YEAR})?",
)
# A date, then optionally a time (", 14:05", " at 5:32 PM", "T14:05:00Z") and a zone.
DATE_TIME = re.compile(
    rf"\b(?P<date>{'|'.join(_DATE_FORMS)})"
    rf"(?:(?:,?\s(?:at\s|@\s|[-–—]\s)?|T)(?P<time>{_TIME}))?"  # "Mar 12, 2025 - 15:02 UTC": a status page's
    rf"(?:\s?(?P<zone>{_ZONE}))?(?![\w/-])",
    re.I,
)
# A time alone at the start of a timeline entry: "14:05", "5:32 PM PDT", "14:05 UTC -".
TIME_ONLY = re.compile(rf"^(?P<time>{_TIME})(?:\s?(?P<zone>{_ZONE}))?(?!\w)", re.I)
# A clock time anywhere in a sentence ("around 9:30 UTC", "at 4:40pm GMT"): narrative events.
CLOCK_TIME = re.compile(rf"\b(?P<time>{_TIME})(?:\s?(?P<zone>{_ZONE}))?(?!\w)", re.I)
# "All times UTC", "All times are in PDT", "(times in CET)"
_TIMES_IN = re.compile(rf"\b(?:all\s)?times?\s(?:are\s)?(?:(?:shown|given|listed)\s)?(?:in\s)?(?P<zone>{_ZONE}|"
                       r"pacific|eastern|central)\b", re.I)
_YEAR_ALONE = re.compile(rf"\b({_YEAR})\b")
_FILE_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)[-_.]?([01]\d)[-_.]?([0-3]\d)(?!\d)")


@dataclass(frozen=True)
class Found:
    at: datetime  # UTC
    has_time: bool
    has_year: bool
    start: int  # span in the text
    end: int


def zone_of(name: str | None, default=timezone.utc):
    """tzinfo for a zone abbreviation, name or offset; `default` when unknown or absent."""
    if not name:
        return default
    if name.strip().upper().startswith("US/"):
        return ZoneInfo("US/" + name.strip()[3:].capitalize())
    key = name.strip("() ").upper().replace(" ", "")
    value = TZINFOS.get(key)
    if isinstance(value, int):
        return timezone(timedelta(seconds=value))
    if value is not None:
        return value
    m = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{1,2}):?(\d\d)?", key)
    if m:
        sign = 1 if m.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0)))
    found = dateutil_tz.gettz(name.strip())
    return found or default


def stated_zone(text: str):
    """The zone a timeline says its times are in ("All times UTC"), or None."""
    m = _TIMES_IN.search(text[:5000])
    if not m:
        return None
    return zone_of(m.group("zone"), default=None)


def first_named_zone(text: str):
    """The zone of the first clock time that names one ("from 09:42 to 11:53 US/Pacific"), or
    None: a text that says its zone once means it for the bare times that follow, as a reader
    takes it."""
    for m in CLOCK_TIME.finditer(text[:20000]):
        if m.group("zone"):
            return zone_of(m.group("zone"), default=None)
    return None


_ISO_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)$")
_DOTTED_DATE = re.compile(r"([0-3]?\d)\.([01]?\d)\.(\d{4})$")
_PLAIN_TIME = re.compile(r"(\d{1,2}):(\d\d)(?::(\d\d))?$")


# A timeline repeats its day on every entry, and dateutil costs ~0.2 ms a call: parsed once.
@functools.lru_cache(maxsize=4096)
def _parse(date_text: str, time_text: str | None, zone, default: datetime) -> tuple[datetime, bool] | None:
    # The common case, "2026-03-02" with "14:05", needs no general parser (ingest parses
    # thousands of timeline entries; dateutil costs ~0.2 ms each).
    iso = _ISO_DATE.match(date_text)
    plain = _PLAIN_TIME.match(time_text) if time_text else None
    if iso and (time_text is None or plain):
        try:
            parsed = datetime(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)),
                              int(plain.group(1)) if plain else 0, int(plain.group(2)) if plain else 0,
                              int(plain.group(3) or 0) if plain else 0, tzinfo=zone)
        except ValueError:
            return None
        return parsed.astimezone(timezone.utc), bool(time_text)
    dotted = _DOTTED_DATE.match(date_text)
    if dotted:
        date_text = f"{dotted.group(3)}-{int(dotted.group(2)):02d}-{int(dotted.group(1)):02d}"
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", date_text, flags=re.I).replace(" of ", " ")
    cleaned = re.sub(r"(?<=[A-Za-z.])-|-(?=[A-Za-z])", " ", cleaned)  # "10-Dec-2021" -> "10 Dec 2021"
    text = cleaned + (" " + time_text.replace(".", "") if time_text else "")
    try:
        parsed = dateutil_parser.parse(text, default=default.replace(tzinfo=None), fuzzy=False)
    except (ValueError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(timezone.utc), bool(time_text)


def find_datetimes(text: str, *, default_year: int | None = None, zone=None, limit: int = 50) -> list[Found]:
    """Every date (with its time and zone, when given) in `text`, in order, as UTC."""
    out: list[Found] = []
    zone = zone or timezone.utc
    for m in DATE_TIME.finditer(text):
        has_year = bool(re.search(_YEAR, m.group("date")))
        if not has_year and default_year is None:
            continue
        default = datetime(default_year or 2000, 1, 1)
        parsed = _parse(m.group("date"), m.group("time"), zone_of(m.group("zone"), zone), default)
        if parsed is None:
            continue
        out.append(Found(parsed[0], parsed[1], has_year, m.start(), m.end()))
        if len(out) >= limit:
            break
    return out


def leading_timestamp(text: str, last: datetime | None, *, default_year: int | None = None,
                      zone=None, rollover: timedelta = timedelta(hours=23)) -> tuple[datetime | None, str, bool]:
    """The timestamp a timeline entry starts with, the rest of the entry, and whether the
    entry gave a clock time. A time alone takes its date from the previous entry (`last`, in
    the entry's zone), or the next day's when it is earlier and that lands it less than
    `rollover` after `last`; a date alone on the previous entry's day keeps its time."""
    zone = zone or timezone.utc
    m = DATE_TIME.match(text)
    if m:
        has_year = bool(re.search(_YEAR, m.group("date")))
        year = default_year if not has_year else None
        if has_year or year or last is not None:
            default = datetime(year or (last.year if last else 2000), 1, 1)
            parsed = _parse(m.group("date"), m.group("time"), zone_of(m.group("zone"), zone), default)
            if parsed is not None:
                at, has_time = parsed
                if not has_time and last is not None and last.astimezone(zone).date() == at.astimezone(zone).date():
                    return last, text[m.end():], False
                if not has_time:
                    # A date alone is that day in the stated zone, not UTC midnight.
                    local = datetime.combine(at.date(), time(0, 0), tzinfo=zone)
                    at = local.astimezone(timezone.utc)
                return at, text[m.end():], has_time
    m = TIME_ONLY.match(text)
    if m and last is not None:
        entry_zone = zone_of(m.group("zone"), zone)
        day = last.astimezone(entry_zone).date()
        parsed = _parse(day.isoformat(), m.group("time"), entry_zone, datetime(day.year, 1, 1))
        if parsed is not None:
            at = parsed[0]
            if at < last - timedelta(hours=1) and at + timedelta(days=1) - last < rollover:
                at += timedelta(days=1)  # past midnight: the clock went round
            return at, text[m.end():], True
    return None, text, False


def year_in(text: str) -> int | None:
    """A year written anywhere in a short text ("Availability Report: December 2024")."""
    m = _YEAR_ALONE.search(text[:500])
    return int(m.group(1)) if m else None


def date_in_file_name(name: str) -> date | None:
    m = _FILE_DATE.search(name)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
