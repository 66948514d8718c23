"""Find unredacted sensitive data: email addresses, phone numbers, API keys and tokens, card
numbers and IP addresses.

Lint reports every match; the external export and the reports refuse to publish a text with
one. Patterns favour precision over recall on the text post-mortems actually contain: ISO
dates, times, model versions ("2024-08-06") and version numbers must not read as phone
numbers or IP addresses, or the check would cry wolf on every file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_PHONE = re.compile(
    r"(?<![\w/.:-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])"
    r"|(?<![\w/.:-])\+\d{1,3}(?:[\s.-]\d{2,4}){2,4}(?![\w-])"
)
_API_KEY = re.compile(
    r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/-]{20,}=*"
    r"|(?i:\b(?:api[_-]?key|secret|access[_-]?token|auth[_-]?token|password)\s*[:=]\s*)['\"]?[A-Za-z0-9._~+/-]{12,}"
)
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])")

# Addresses that say nothing about anyone: loopback, unspecified.
_URL = re.compile(r"[a-z][a-z0-9+.-]{0,15}://[^\s)\]>]{1,2000}", re.I)
_HARMLESS_IPS = {"127.0.0.1", "0.0.0.0"}


@dataclass(frozen=True)
class SensitiveMatch:
    kind: str  # email, phone, api_key, card_number, ip_address
    value: str
    line: int  # 1-based, relative to the text scanned

    @property
    def masked(self) -> str:
        """Enough to find it in the file, not enough to leak it again in a report."""
        v = self.value
        return v[:3] + "…" + v[-2:] if len(v) > 6 else "…"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# Cheap tests that rule a pattern out before its regex runs: lint scans every line of every
# file, and the six regexes were most of ingest's lint time. Each test is a necessary
# condition of its pattern: an email has an "@", a phone number at least 5 digits, a card
# number 13, an IPv4 address 4 digits and 3 dots, an IPv6 address 7 colons, and a key one
# of _KEY_HINTS (the literal parts of _API_KEY) in the lower-cased line. Lower-casing finds
# every case variant IGNORECASE would, except "İ", "ı" and "ſ": lines with those skip the test.
_DIGIT_OR_AT = re.compile(r"[0-9@]")
_DIGIT = re.compile(r"\d")  # any script's decimal digits, as `\d` in the patterns
_KEY_HINTS = re.compile(r"sk-|akia|gh[pousr]_|xox[abprs]-|aiza|eyj|bearer|api[_-]?key|secret|access[_-]?token"
                        r"|auth[_-]?token|password")
_FOLDS_TO_ASCII = ("İ", "ı", "ſ")


def _digit_count(line: str, is_ascii: bool) -> int:
    return sum(map(line.count, "0123456789")) if is_ascii else len(_DIGIT.findall(line))


def find_sensitive(text: str, first_line: int = 1) -> list[SensitiveMatch]:
    found: list[SensitiveMatch] = []
    for offset, line in enumerate(text.splitlines()):
        is_ascii = line.isascii()
        lowered = line.lower()
        has_digit_or_at = _DIGIT_OR_AT.search(line) is not None or (
            not is_ascii and any(ch.isdigit() for ch in line))
        if not has_digit_or_at and "key" not in lowered:
            if "bearer" not in lowered and "sk-" not in line:
                continue  # fast path: most prose lines cannot hold any of these
        lineno = first_line + offset
        digit_count = _digit_count(line, is_ascii)
        if "@" in line:
            for m in _EMAIL.finditer(line):
                found.append(SensitiveMatch("email", m.group(0), lineno))
        if _KEY_HINTS.search(lowered) or (not is_ascii and any(ch in line for ch in _FOLDS_TO_ASCII)):
            for m in _API_KEY.finditer(line):
                found.append(SensitiveMatch("api_key", m.group(0), lineno))
        if digit_count >= 5:
            for m in _PHONE.finditer(line):
                if not _looks_like_date_or_time(m.group(0)):
                    found.append(SensitiveMatch("phone", m.group(0).strip(), lineno))
        if digit_count >= 13:
            # Long digit runs inside a URL are ids and timestamps (a tweet, a dashboard's
            # time range), never a card typed into a post-mortem.
            urls = [u.span() for u in _URL.finditer(line)] if "://" in line else []
            for m in _CARD.finditer(line):
                if any(start <= m.start() < end for start, end in urls):
                    continue
                digits = re.sub(r"\D", "", m.group(0))
                if 13 <= len(digits) <= 19 and _luhn_ok(digits) and len(set(digits)) > 1:
                    found.append(SensitiveMatch("card_number", m.group(0).strip(), lineno))
        if digit_count >= 4 and line.count(".") >= 3:
            for m in _IPV4.finditer(line):
                if m.group(0) not in _HARMLESS_IPS:
                    found.append(SensitiveMatch("ip_address", m.group(0), lineno))
        if line.count(":") >= 7:
            for m in _IPV6.finditer(line):
                found.append(SensitiveMatch("ip_address", m.group(0), lineno))
    return found


def _looks_like_date_or_time(value: str) -> bool:
    return bool(re.fullmatch(r"\s*\d{4}[-/.]\d{2}[-/.]\d{2}.*", value))
