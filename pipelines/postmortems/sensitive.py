"""Find unredacted sensitive data: email addresses, phone numbers, keys and tokens, passwords,
connection strings, private keys, card numbers and IP addresses.

Lint reports every match (EL007); reports mask them and every output path refuses a text
that still has one. Two layers see every line of the text, with no shortcut before them that
could lose a match (a rule passes over a line only when the line lacks something every match
of that rule contains, so it finds exactly what reading the line would: `_matches_near`):

- detect-secrets' plugins (a maintained rule set: AWS, GitHub, GitLab, Slack, Stripe, OpenAI,
  JWT, private keys, credentials in URLs, ...) for keys and tokens;
- our own rules for what detect-secrets does not cover or covers loosely: emails (also
  spelled out, "jane dot doe at example dot com"), phone numbers (also a bare 10-digit
  one), card numbers (Luhn), IPv4 and IPv6 (also compressed), connection strings with a
  password, Basic auth, `password: words` and `secret = words` assignments, and the common
  key shapes once more, whole.

Both run on the text after normalising it: Unicode NFKC (full-width letters, ligatures),
zero-width and bidirectional control characters removed. Positions map back to the original
text, so masking replaces exactly what the writer typed.

A match carries its kind and where it is, never the value: a finding, a log line or an error
message built from it cannot leak the secret again.

Every regular expression here runs in time linear in the line: no two adjacent or nested
unbounded quantifiers over the same characters, and an unbounded run is only started where
the character before cannot belong to it (the lookbehinds). detect-secrets' own patterns are
not all linear, so they run in RE2, a linear-time engine, to find candidates; the few RE2
cannot compile (lookaheads) see the text in windows of at most _WINDOW characters instead
(bench/run.py security prints the worst cases).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache

from pipelines.postmortems.linear import compile_linear

PLACEHOLDERS = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "api_key": "[API_KEY]",
    "password": "[PASSWORD]",
    "connection_string": "[CONNECTION_STRING]",
    "private_key": "[PRIVATE_KEY]",
    "basic_auth": "[BASIC_AUTH]",
    "card_number": "[CARD_NUMBER]",
    "ip_address": "[IP_ADDRESS]",
}

# A URL, for the card rule only: bounded, one pass.
_URL_SPAN = re.compile(r"[a-z][a-z0-9+.-]{0,15}://[^\s)\]>]{1,2000}", re.I)


@dataclass(frozen=True)
class SensitiveMatch:
    kind: str  # a key of PLACEHOLDERS
    line: int  # 1-based, relative to the text scanned
    start: int  # 0-based columns in that line of the original text, end exclusive
    end: int

    @property
    def masked(self) -> str:
        """What a message may show in place of the value: its placeholder, nothing of the value."""
        return PLACEHOLDERS.get(self.kind, "[REDACTED]")

    @property
    def where(self) -> str:
        return f"line {self.line}, column {self.start + 1}"


# --------------------------------------------------------------------------------------
# Normalising

# Zero-width characters, the soft hyphen and bidirectional controls: invisible, so they can
# split a value without the reader (or a pattern) seeing it.
_INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff")


def normalise(text: str) -> tuple[str, list[int] | None]:
    """NFKC, invisible characters removed; and for each character of the result, its index
    in `text` (None when nothing changed). Characters are normalised one by one, so every
    output character has exactly one source; a line break stays a line break."""
    if text.isascii():
        return text, None
    out: list[str] = []
    source: list[int] = []
    done = 0  # ASCII runs are copied whole: most of a post-mortem is ASCII around a few dashes
    for m in _NON_ASCII.finditer(text):
        index = m.start()
        if index > done:
            out.append(text[done:index])
            source.extend(range(done, index))
        done = index + 1
        ch = m.group(0)
        if ch in _INVISIBLE:
            continue
        folded = unicodedata.normalize("NFKC", ch)
        if "\n" in folded:
            folded = folded.replace("\n", " ")
        out.append(folded)
        source.extend([index] * len(folded))
    if done < len(text):
        out.append(text[done:])
        source.extend(range(done, len(text)))
    return "".join(out), source


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


# "jane dot doe at example dot com", "jane[at]example[dot]com", "jane (at) example.com".
# Bracketed forms anywhere; bare " at " and " dot " only between two words. The match
# itself is short and bounded; the words around it are checked in Python.
_SPELLED = re.compile(r"[\[({<][ \t]{0,3}(at|dot)[ \t]{0,3}[\])}>]|(?<![^ \t])(at|dot)(?![^ \t])", re.IGNORECASE)


def _respell(text: str) -> tuple[str, list[int], list[tuple[int, int, bool]]]:
    """`text` with spelled-out "at" and "dot" turned into "@" and "."; each output
    character's index in `text`; and the replaced spans (output positions, and whether the
    replacement is conclusive: a bracketed form or a bare "dot", not a bare "at", which is
    too common a word to make an address on its own)."""
    out: list[str] = []
    source: list[int] = []
    replaced: list[tuple[int, int, bool]] = []
    cursor = 0
    for m in _SPELLED.finditer(text):
        start, end = m.start(), m.end()
        word = (m.group(1) or m.group(2)).lower()
        bare = m.group(2) is not None
        if bare:
            # Only between two words on the same line: "jane dot doe", not "at 10:00".
            left = start
            while left > cursor and text[left - 1] in " \t":
                left -= 1
            right = end
            while right < len(text) and text[right] in " \t":
                right += 1
            if left == start or right == end or left == 0 or right >= len(text):
                continue
            if not (text[left - 1].isalnum() and text[right].isalnum()):
                continue
            start, end = left, right
        else:
            while start > cursor and text[start - 1] in " \t":
                start -= 1
            while end < len(text) and text[end] in " \t":
                end += 1
        out.append(text[cursor:start])
        source.extend(range(cursor, start))
        replaced.append((len(source), len(source) + 1, not (bare and word == "at")))
        out.append("@" if word == "at" else ".")
        source.append(start)
        cursor = end
    out.append(text[cursor:])
    source.extend(range(cursor, len(text)))
    return "".join(out), source, replaced


# --------------------------------------------------------------------------------------
# Our rules. Each is linear in the text (see the module docstring), and none crosses a line.

_LOCAL = r"A-Za-z0-9._%+-"
_EMAIL = re.compile(rf"(?<![{_LOCAL}])[{_LOCAL}]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{{2,24}}(?![A-Za-z0-9-])")
# scheme://user:password@host: the password is what matters; a host alone is not sensitive.
_CONNECTION = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s/:@]{0,256}:[^\s@/]{1,256}@"
                         r"[^\s/?#]{1,256}")
_PHONE = re.compile(
    r"(?<![\w/.:+-])(?:\+\d{1,3}[ \t.-]?)?(?:\(\d{3}\)[ \t]?|\d{3}[ \t.-])\d{3}[ \t.-]\d{4}(?![\w-])"
    r"|(?<![\w/.:+-])\+\d{1,3}(?:[ \t.-]\d{2,4}){2,4}(?![\w-])"
    # A bare North American number: area code and exchange never start with 0 or 1, so
    # Unix timestamps (1.7e9) and most ids are not read as one.
    r"|(?<![\w/.:+-])[2-9]\d{2}[2-9]\d{6}(?![\w-])"
)
_API_KEY = re.compile(
    r"(?<![A-Za-z0-9_-])(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,256}"
    r"|(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])"
    r"|gh[pousr]_[A-Za-z0-9_]{30,255}|github_pat_[A-Za-z0-9_]{30,255}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,255}|xapp-[A-Za-z0-9-]{10,255}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|eyJ[A-Za-z0-9_-]{5,4096}\.[A-Za-z0-9_-]{5,4096}\.[A-Za-z0-9_-]{0,4096})"
    r"|https://hooks\.slack\.com/services/[A-Za-z0-9_/]{10,256}"
    r"|(?<![A-Za-z0-9])(?i:bearer)[ \t]{1,10}[A-Za-z0-9._~+/-]{16,4096}=*"
)
# `password: correct horse battery staple`, `secret = s3cr3t`, `"api_key": "..."`: the
# value runs to the end of the line (or a closing quote). Placeholders are not secrets.
_ASSIGNMENT = re.compile(
    r"(?<![A-Za-z0-9])(?P<keyword>(?i:password|passwd|passphrase|pwd|secret|client[_-]?secret|api[_-]?key|apikey"
    r"|private[_-]?key|(?:access|auth|api|refresh|session)[_-]?token))(?:[_-][A-Za-z0-9]{1,20})?"
    r"\\?[\"']?[ \t]{0,10}(?P<sep>:=|=>|[:=])[ \t]{0,10}\\?[\"'`]?"
    r"(?P<value>[^\s\\\"'`,;][^\n\\\"'`]{0,255})")
_PLACEHOLDER_VALUE = re.compile(r"(?i)(?:\[[^\]\n]{0,40}\]|<[^>\n]{0,40}>|\$\{?\w{1,60}\}?|\{\{[^}\n]{0,60}\}\}"
                                r"|\*+|x{3,}|\.{3}|…|redacted|removed|masked|hidden|none|null|n/?a|not set|unset"
                                r"|rotated|placeholder|example|required|optional|true|false)\W{0,3}")
_LINE_MARKUP = " \t-*+>|#`'\"_0123456789.)"
_BASIC_AUTH = re.compile(r"(?<![A-Za-z0-9])(?i:basic)[ \t]{1,10}(?P<token>[A-Za-z0-9+/]{12,1024}={0,2})"
                         r"(?![A-Za-z0-9+/=])")
_PRIVATE_KEY = re.compile(r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----")
_PRIVATE_KEY_END = re.compile(r"-----END[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])")
# A candidate: hex digits, colons and dots (an embedded IPv4), at most 45 of them; the
# ipaddress module decides. The lookbehind keeps a long run from being tried at every start.
_IPV6 = re.compile(r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]{0,4}:)[0-9A-Fa-f:.]{3,45}(?![0-9A-Za-z:])")
_DATE_LIKE = re.compile(r"[ \t]*\d{4}[-/.]\d{2}[-/.]\d{2}")

# Addresses that say nothing about anyone: loopback, unspecified.
_HARMLESS_IPS = {"127.0.0.1", "0.0.0.0", "::", "::1"}


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _basic_auth_ok(token: str) -> bool:
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def _ipv6_ok(candidate: str) -> bool:
    groups = [g for g in candidate.split(":") if g]
    # "a::b" (C++ scopes, prose) parses as an address too: a real one has a long group or several.
    if candidate.count(":") < 2 or (len(groups) < 3 and max((len(g) for g in groups), default=0) < 3):
        return False
    try:
        address = ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return str(address) not in _HARMLESS_IPS


def _at_line_start(text: str, position: int) -> bool:
    """Only list markers, quotes or a number between the line's start and `position`
    (looked for at most 40 characters back, so a long line costs no more)."""
    low = max(0, position - 40)
    newline = text.rfind("\n", low, position)
    if newline < 0 and low > 0:
        return False
    return not text[newline + 1:position].strip(_LINE_MARKUP)


def _hint(pattern: str):
    """A hint compiled in RE2: a linear-time DFA that finds these alternations of literals and
    digit runs about five times faster than `re` (which tries them at every position). RE2's
    `\\d` is ASCII only while `re`'s is every Unicode decimal digit, so `\\d` is spelled
    `\\p{Nd}` here: a hint must match inside every match of its rule, and the rules use `re`.
    RE2's case folding (k with the Kelvin sign, s with the long s) covers `re`'s for these letters."""
    return compile_linear(pattern.replace(r"\d", r"\p{Nd}"))


# The rules are many passes over the whole text, and a pattern that starts with a lookbehind
# is tried at every position of it: that made them most of the cost of ingest. So each rule
# first looks for something every one of its matches contains (a literal such as "@", or the
# rule itself without its lookarounds, which the engine finds quickly) and reads only the lines
# where that is found. This is not a shortcut past the rule: a line without it cannot hold a
# match, so every rule finds exactly what it found reading every line (the tests compare).
_API_KEY_HINT = _hint(r"sk-|A(?:KIA|SIA|BIA|CCA|3T)|gh[pousr]_|github_pat_|xox[abposr]-|xapp-|AIza|eyJ"
                      r"|hooks\.slack\.com/services/|(?i:bearer)")
_ASSIGNMENT_HINT = _hint(r"(?i)pass|pwd|secret|key|token")
_BASIC_AUTH_HINT = re.compile(r"(?i:basic)[ \t]")
_PHONE_HINT = _hint(r"\+\d|\(\d{3}\)|\d{3}[ \t.-]\d{3}[ \t.-]\d{4}|[2-9]\d{2}[2-9]\d{6}")
_CARD_HINT = _hint(r"\d(?:[ -]?\d){12}")
_IPV4_HINT = _hint(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d")
_IPV6_HINT = re.compile(r":[0-9A-Fa-f.]{0,4}:")
# Only a bracketed "at"/"dot" or a bare "dot" makes a spelled-out address count (_respell).
_CONCLUSIVE_SPELLING_HINT = re.compile(r"(?i)dot|[\[({<][ \t]{0,3}at")
_NEAR = 256  # characters read past a hint's line at once: a text dense with hints costs few calls


def _matches_near(pattern: re.Pattern, hint: re.Pattern, text: str):
    """`pattern.finditer(text)`, reading only the lines around the places `hint` matches:
    `hint` must match inside every match of `pattern`, and `pattern` must not cross a line.
    Lines are read as `finditer(text, start, end)`, so a lookbehind sees the line break
    before them and a lookahead at their end sees the end of the text, as it would the break."""
    position, length = 0, len(text)
    # One pass of the hint (RE2 converts a str once per call, so a search per hit would read
    # a 1 MB text once per hit). No hint crosses a line, so each line holding a hint holds
    # one of these non-overlapping matches.
    for found in hint.finditer(text):
        if found.start() < position:
            continue  # on a line already read
        start = text.rfind("\n", position, found.start())
        start = position if start < 0 else start + 1
        end = text.find("\n", max(found.end(), start + _NEAR))
        end = length if end < 0 else end
        yield from pattern.finditer(text, start, end)
        position = end + 1
        if position >= length:
            return


def _own_rules(text: str, respelled: tuple[str, list[int], list[tuple[int, int, bool]]] | None):
    """(kind, start, end) spans in `text` (the normalised text)."""
    has_url = "://" in text
    if has_url:
        for m in _CONNECTION.finditer(text):
            yield "connection_string", m.start(), m.end()
    if "@" in text:
        for m in _EMAIL.finditer(text):
            yield "email", m.start(), m.end()
    if respelled is not None:
        spelled, source, replaced = respelled
        starts = [r[0] for r in replaced]
        for m in _EMAIL.finditer(spelled):
            # Only addresses that a spelled-out word made (the plain ones are found above),
            # and only when one of those words is conclusive.
            first = bisect_right(starts, m.start() - 1)
            inside = [r for r in replaced[first:] if r[0] < m.end()]
            if inside and any(conclusive for _, _, conclusive in inside):
                yield "email", source[m.start()], source[m.end() - 1] + 1
    for m in _matches_near(_API_KEY, _API_KEY_HINT, text):
        yield "api_key", m.start(), m.end()
    for m in _matches_near(_ASSIGNMENT, _ASSIGNMENT_HINT, text):
        value = m.group("value").rstrip()
        if not value or _PLACEHOLDER_VALUE.fullmatch(value.split()[0]):
            continue
        # "secret: API keys, passwords" in a sentence is prose; "secret: two words" at the start
        # of a line, a one-word value anywhere, or "password: ..." anywhere is a credential.
        keyword = m.group("keyword").lower()
        if (" " in value and m.group("sep") == ":" and not keyword.startswith("pass") and keyword != "pwd"
                and not _at_line_start(text, m.start())):
            continue
        kind = "api_key" if "key" in keyword or "token" in keyword else "password"
        yield kind, m.start("value"), m.start("value") + len(value)
    for m in _matches_near(_BASIC_AUTH, _BASIC_AUTH_HINT, text):
        if _basic_auth_ok(m.group("token")):
            yield "basic_auth", m.start("token"), m.end("token")
    covered = 0  # a BEGIN inside a key already found starts nothing new (and costs no search)
    for m in _PRIVATE_KEY.finditer(text):
        if m.start() < covered:
            continue
        end = _PRIVATE_KEY_END.search(text, m.end())
        if end is not None:
            covered = end.end()
        else:  # no END line: the key runs to the next blank line
            blank = text.find("\n\n", m.end())
            covered = len(text) if blank < 0 else blank
        yield "private_key", m.start(), covered
    for m in _matches_near(_PHONE, _PHONE_HINT, text):
        if not _DATE_LIKE.match(m.group(0)):
            yield "phone", m.start(), m.end()
    # Long digit runs inside a URL are ids and timestamps (a tweet, a dashboard's time range),
    # never a card typed into a post-mortem.
    urls = None  # found once, and only for a text with a card-like number
    for m in _matches_near(_CARD, _CARD_HINT, text):
        digits = "".join(ch for ch in m.group(0) if ch.isdigit())
        if 13 <= len(digits) <= 19 and _luhn_ok(digits) and len(set(digits)) > 1:
            if urls is None:
                urls = [u.span() for u in _URL_SPAN.finditer(text)] if has_url else []
            if not any(start <= m.start() < end for start, end in urls):
                yield "card_number", m.start(), m.end()
    for m in _matches_near(_IPV4, _IPV4_HINT, text):
        if m.group(0) not in _HARMLESS_IPS:
            yield "ip_address", m.start(), m.end()
    for m in _matches_near(_IPV6, _IPV6_HINT, text):
        if _ipv6_ok(m.group(0)):
            yield "ip_address", m.start(), m.end()


# --------------------------------------------------------------------------------------
# detect-secrets

_WINDOW = 512  # characters a detect-secrets pattern sees at once; windows overlap by half
_PLUGIN_KINDS = {"Private Key": "private_key", "Basic Auth Credentials": "connection_string"}


@cache
def _plugins():
    """detect-secrets' plugins, minus the entropy ones (every commit hash and eval id would
    match), the IP one (ours also knows IPv6 and which addresses are harmless) and the
    keyword one: its patterns backtrack (10 s on 100 KB of "password" repeated, even in
    512-character windows), and _ASSIGNMENT covers the same keywords, quoted or not. The
    Cloudant, IBM and SoftLayer ones too: a vendor name followed by a password-like word,
    which _ASSIGNMENT covers, in patterns RE2 cannot run (lookarounds), so they would need
    the slow windows."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    skipped = {"Base64 High Entropy String", "Hex High Entropy String", "Public IP (ipv4)", "Secret Keyword",
               "Cloudant Credentials", "IBM COS HMAC Credentials", "IBM Cloud IAM Key", "SoftLayer Credentials"}
    return tuple(cls() for secret_type, cls in sorted(get_mapping_from_secret_type_to_class().items())
                 if secret_type not in skipped)


def _windows(text: str):
    """(offset, piece) covering `text` in whole lines, at most _WINDOW characters each; a
    longer line is cut into overlapping pieces, so any value up to _WINDOW / 2 characters
    long lies whole inside one piece."""
    position, length = 0, len(text)
    while position < length:
        newline = text.find("\n", position)
        line_end = length if newline < 0 else newline
        if line_end - position > _WINDOW:
            step = _WINDOW // 2
            start = position
            while True:
                yield start, text[start:min(start + _WINDOW, line_end)]
                if start + _WINDOW >= line_end:
                    break
                start += step
            position = line_end + 1
            continue
        # Gather whole lines while they fit.
        end = line_end
        while end < length:
            following = text.find("\n", end + 1)
            following_end = length if following < 0 else following
            if following_end - position > _WINDOW:
                break
            end = following_end
        yield position, text[position:end]
        position = end + 1


@cache
def _linear_scanners() -> tuple[tuple, tuple]:
    """The plugins split in two: those whose every pattern compiles in RE2 (a linear-time
    engine), each with its compiled patterns; and the rest, which see the text in windows."""
    import re2

    linear, windowed = [], []
    for plugin in _plugins():
        patterns = getattr(plugin, "denylist", None)
        try:
            compiled = tuple(compile_linear(("(?i)" if p.flags & re.IGNORECASE else "") + p.pattern)
                             for p in patterns) if patterns else None
        except re2.error:
            compiled = None
        (linear if compiled else windowed).append((plugin, compiled))
    return tuple(linear), tuple(windowed)


@cache
def _linear_gate():
    """All of the linear plugins' patterns as one RE2 alternation: one pass over a text tells
    whether any of them matches anywhere, instead of one pass per pattern (about thirty). A
    text it finds nothing in has no candidate for any of them."""
    return compile_linear("|".join(f"(?:{pattern.pattern})" for _, patterns in _linear_scanners()[0]
                                   for pattern in patterns))


_CANDIDATE_CHARS = 4096  # a longer RE2 match is masked whole, without asking the plugin to re-read it


_TOKEN_TAIL = re.compile(r"[A-Za-z0-9_\-]*")


def _whole_token(text: str, start: int, end: int) -> int:
    """End of the token a finding starts: some plugins report only a prefix of what they
    matched (GitLab's "glpat" of "glpat-..."), and masking the prefix would leave the secret."""
    return _TOKEN_TAIL.match(text, end).end() if end < len(text) else end


def _detect_secrets_spans(text: str):
    """detect-secrets' findings as spans. RE2 finds each candidate in one linear pass over the
    whole text; the plugin's own `analyze_string` then reads only that candidate, so its
    checks (a JWT must decode, which group is the secret) still decide."""
    linear, windowed = _linear_scanners()
    for plugin, patterns in linear if _linear_gate().search(text) else ():
        kind = _PLUGIN_KINDS.get(plugin.secret_type, "api_key")
        for pattern in patterns:
            for m in pattern.finditer(text):
                start, end = m.start(), m.end()
                if end <= start:
                    continue
                if end - start > _CANDIDATE_CHARS:
                    yield kind, start, end
                    continue
                candidate = text[start:end]
                for secret in plugin.analyze_string(candidate):
                    at = candidate.find(secret) if secret else -1
                    if at >= 0:
                        yield kind, start + at, _whole_token(text, start + at, start + at + len(secret))
    for offset, piece in _windows(text):
        for plugin, _ in windowed:
            for secret in plugin.analyze_string(piece):
                if not secret:
                    continue
                at = piece.find(secret)
                if at >= 0:
                    yield (_PLUGIN_KINDS.get(plugin.secret_type, "api_key"), offset + at,
                           _whole_token(text, offset + at, offset + at + len(secret)))


# --------------------------------------------------------------------------------------
# Entry point


def find_sensitive(text: str, first_line: int = 1) -> list[SensitiveMatch]:
    """Every sensitive value in `text`, by kind and position (lines split at "\\n" only, as
    the parser and the masking split them), in reading order."""
    if not text:
        return []
    normal, source = normalise(text)
    respelled = _respell(normal) if _CONCLUSIVE_SPELLING_HINT.search(normal) and _SPELLED.search(normal) else None
    spans = sorted({*_own_rules(normal, respelled), *_detect_secrets_spans(normal)},
                   key=lambda s: (s[1], -(s[2] - s[1])))
    kept: list[tuple[str, int, int]] = []
    reach = -1  # the furthest end of a kept span; spans are sorted by start, longest first
    for kind, start, end in spans:
        if end <= reach:
            continue  # inside a value already found (an email in a connection string)
        kept.append((kind, start, end))
        reach = max(reach, end)

    line_starts = [0]
    index = text.find("\n")
    while index >= 0:
        line_starts.append(index + 1)
        index = text.find("\n", index + 1)

    found: list[SensitiveMatch] = []
    for kind, start, end in kept:
        original_start = source[start] if source is not None else start
        original_end = (source[end - 1] + 1) if source is not None else end
        line = bisect_right(line_starts, original_start) - 1
        while True:  # a private key or a quoted value can span lines: one match per line
            line_end = line_starts[line + 1] - 1 if line + 1 < len(line_starts) else len(text)
            piece_end = min(original_end, line_end)
            if piece_end > original_start:
                found.append(SensitiveMatch(kind, first_line + line, original_start - line_starts[line],
                                            piece_end - line_starts[line]))
            if original_end <= line_end or line + 1 >= len(line_starts):
                break
            line += 1
            original_start = line_starts[line]
    return sorted(set(found), key=lambda m: (m.line, m.start, m.end, m.kind))
