"""The YAML front matter of a post-mortem, read so that no value costs more than itself.

A front matter is written by people and copied between files, so it is read defensively:
YAML aliases are refused (a 2 KB alias bomb expands into gigabytes once a value is turned
into text), every value is capped in length, a number the warehouse cannot hold or a value
that looks like an email or a key in a field that is exported as it is (id, severity, team,
tags...) becomes a Problem on its own line and only that field is left empty. The rest of
the post-mortem still loads.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timezone

import yaml

from pipelines.postmortems.model import ModelConfig, PostMortem, Problem
from pipelines.postmortems.sensitive import find_sensitive

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster where present
_BaseParser = getattr(yaml, "CParser", None)


class _YamlLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that leaves timestamps as text: YAML's own timestamp parsing raises on a
    date like 2026-13-45 and takes the whole front matter down with it; we parse dates
    ourselves and report a bad one on its own line."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}

_DATE_FIELDS = ("started_at", "detected_at", "mitigated_at", "resolved_at", "postmortem_published_at")

# A title or an impact summary is a sentence or a paragraph; anything longer is a paste
# accident, and every report would carry it.
MAX_FIELD_CHARS = 2_000
MAX_LIST_ITEMS = 100
# The warehouse stores counts as BIGINT and max_tokens as INTEGER.
_BIGINT = (-(2**63), 2**63 - 1)
_INTEGER = (-(2**31), 2**31 - 1)
# Fields written to reports and exports as they are, without masking: a sensitive value in
# one of them is dropped rather than published. Prose fields (title, impact summary) are
# masked on the way out and flagged by lint rule EL007 instead.
_VERBATIM_FIELDS = ("id", "severity", "status", "publication", "team", "owning_team", "owner", "services",
                    "products", "service", "tags")
_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:")
_NESTED_KEY_LINE = re.compile(r"^[ \t]*([A-Za-z_][\w-]*)[ \t]*:")
_SALVAGE_LINE = re.compile(r"^([A-Za-z_][\w-]*):[ \t]+(.*)$")
_SALVAGE_REFUSED_FIRST = set("[]{}&*!|>'\"%@`#")


def _split_front_matter(lines: list[str], problems: list[Problem]) -> tuple[dict | None, int, dict[str, int]]:
    if not lines or lines[0].strip() != "---":
        return None, 0, {}
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        problems.append(Problem("malformed_front_matter",
                                "front matter opened with '---' on line 1 is never closed; read as plain Markdown",
                                1, "warning"))
        return None, 0, {}
    block = "\n".join(lines[1:end])
    field_lines = {}
    for i, line in enumerate(lines[1:end], start=2):
        m = _KEY_LINE.match(line)
        if m:
            field_lines.setdefault(m.group(1), i)
    alias_line = _first_alias_line(block)
    if alias_line is not None:
        problems.append(Problem("yaml_alias",
                                "front matter uses a YAML alias (*name): aliases are not allowed here (a few of "
                                "them can expand into gigabytes); write the value out. Kept only its plain "
                                "'key: value' lines", alias_line + 2, "warning"))
        return _salvage(lines[1:end], skip_line=alias_line), end + 1, field_lines
    try:
        data = yaml.load(block, Loader=_YamlLoader)  # noqa: S506 - safe loader
    except (yaml.YAMLError, ValueError, RecursionError) as err:
        # ValueError: an integer literal over Python's 4,300-digit limit.
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        problems.append(Problem("malformed_yaml",
                                f"front matter is not valid YAML ({_short(str(problem))}); kept only its plain "
                                "'key: value' lines elsewhere",
                                line, "warning"))
        return _salvage(lines[1:end], skip_line=line - 2), end + 1, field_lines
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(Problem("malformed_yaml", "front matter is not a mapping of keys to values; ignored",
                                2, "warning"))
        return None, end + 1, field_lines
    return _capped(data, lines, field_lines, problems), end + 1, field_lines


def _first_alias_line(block: str) -> int | None:
    """0-based line of the first alias in the block, from the parser's events (no value is
    built, so an alias bomb costs only its own length). None when there is no alias or the
    block does not parse: the loader then reports the YAML error itself."""
    if "*" not in block:  # every alias starts with "*"; without one there is nothing to look for
        return None
    try:
        for event in yaml.parse(block, Loader=_YamlLoader):
            if isinstance(event, yaml.AliasEvent):
                return event.start_mark.line
    except yaml.YAMLError:
        return None
    return None


def _capped(data: dict, lines: list[str], field_lines: dict[str, int], problems: list[Problem]) -> dict:
    """Every string cut to MAX_FIELD_CHARS and every list to MAX_LIST_ITEMS, with a Problem
    on the field's line. Aliases are refused before this, so the data is a tree no larger
    than the text it came from."""

    def cap(value, key: str, line: int | None):
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            problems.append(Problem("field_too_long", f"{key} is {len(value):,} characters long, over the "
                                    f"{MAX_FIELD_CHARS:,} a front-matter value may have; cut to that length",
                                    line, "warning"))
            return value[:MAX_FIELD_CHARS]
        if isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                problems.append(Problem("field_too_long", f"{key} has {len(value):,} items, over the "
                                        f"{MAX_LIST_ITEMS} a front-matter list may have; the rest are ignored",
                                        line, "warning"))
                value = value[:MAX_LIST_ITEMS]
            return [cap(v, key, line) for v in value]
        if isinstance(value, dict):
            return {k: cap(v, f"{key}.{k}", _nested_line(lines, str(k), line) or line) for k, v in value.items()}
        return value

    return {k: cap(v, str(k), field_lines.get(str(k))) for k, v in data.items()}


def _nested_line(lines: list[str], key: str, after: int | None) -> int | None:
    """1-based line of the first `key:` at or after line `after` (nested keys have no entry
    in field_lines)."""
    start = after or 1
    for number in range(start, min(len(lines), start + 200) + 1):
        m = _NESTED_KEY_LINE.match(lines[number - 1])
        if m and m.group(1) == key:
            return number
    return None


def _salvage(block: list[str], skip_line: int) -> dict:
    """Plain top-level `key: value` lines of a broken front matter, minus the broken line:
    one bad line should not cost the incident its id, title and dates."""
    data = {}
    for i, line in enumerate(block):
        m = _SALVAGE_LINE.match(line)
        if not m or i == skip_line:
            continue
        value = m.group(2).split("#", 1)[0].strip()
        if value and value[0] not in _SALVAGE_REFUSED_FIRST:
            data[m.group(1)] = value[:MAX_FIELD_CHARS]
    return data


def _apply_front_matter(pm: PostMortem, fm: dict, field_lines: dict[str, int], problems: list[Problem]) -> None:
    fm = _without_sensitive_verbatim_fields(fm, field_lines, problems)

    def text(key: str) -> str | None:
        value = fm.get(key)
        if value is None or value == "":
            return None
        return str(value).strip()

    def bounded(key: str, value, limits: tuple[int, int], line: int | None) -> int | None:
        number = _as_int(value)
        if number is not None and not limits[0] <= number <= limits[1]:
            problems.append(Problem("out_of_range", f"{key} is a number too large to store (at most "
                                    f"{limits[1]:,}); left empty", line, "warning"))
            return None
        return number

    def finite(key: str, value, line: int | None) -> float | None:
        number = _as_float(value)
        if number is not None and not math.isfinite(number):
            problems.append(Problem("out_of_range", f"{key} is not a finite number; left empty", line, "warning"))
            return None
        return number

    if fm.get("id") is not None:
        pm.incident_id = str(fm["id"]).strip()
    pm.title = text("title") or ""
    pm.status = (text("status") or "").lower() or None
    pm.severity = _normalise_severity(fm.get("severity"))
    pm.team = text("team") or text("owning_team") or text("owner")
    pm.services = _as_list(fm.get("services", fm.get("products", fm.get("service"))))
    pm.tags = _as_list(fm.get("tags"))
    pm.publication = (text("publication") or "").lower() or None

    impact = fm.get("customer_impact")
    if isinstance(impact, dict):
        impact_line = field_lines.get("customer_impact")
        pm.customer_impact = str(impact.get("summary") or "").strip() or None
        for key in ("customers_affected", "requests_affected"):
            setattr(pm, key, bounded(key, impact.get(key), _BIGINT,
                                     _nested_key_line(pm.markdown, key, impact_line)))
    elif impact is not None:
        pm.customer_impact = str(impact).strip() or None

    for key in _DATE_FIELDS:
        if key not in fm or fm[key] in (None, ""):
            continue
        value = _as_datetime(fm[key])
        if value is None:
            problems.append(Problem("invalid_date",
                                    f"{key} {_quoted(fm[key])}is not an ISO 8601 date-time (e.g. "
                                    "2026-03-02T14:05:00+00:00); left empty",
                                    field_lines.get(key), "warning"))
        setattr(pm, key, value)

    ai = fm.get("ai")
    if isinstance(ai, dict):
        ai_line = field_lines.get("ai")
        line = lambda key: _nested_key_line(pm.markdown, key, ai_line)  # noqa: E731
        pm.model_config = ModelConfig(
            provider=_as_str(ai.get("provider")),
            model=_as_str(ai.get("model")),
            model_version=_as_str(ai.get("model_version")),
            temperature=finite("ai.temperature", ai.get("temperature"), line("temperature")),
            top_p=finite("ai.top_p", ai.get("top_p"), line("top_p")),
            max_tokens=bounded("ai.max_tokens", ai.get("max_tokens"), _INTEGER, line("max_tokens")),
            system_prompt_version=_as_str(ai.get("system_prompt_version")),
            retrieval_index_version=_as_str(ai.get("retrieval_index_version", ai.get("index_version"))),
        )


def _nested_key_line(markdown: str, key: str, after: int | None) -> int | None:
    """Line of a nested front-matter key, for a Problem about it."""
    if after is None:
        return None
    return _nested_line(markdown.split("\n", after + 200)[: after + 200], key, after)


def _without_sensitive_verbatim_fields(fm: dict, field_lines: dict[str, int], problems: list[Problem]) -> dict:
    """The front matter minus every exported-as-is field whose value holds sensitive data."""
    kept = dict(fm)
    # One scan of every such value, a line each (the scanner's cost is mostly per call).
    owners, lines = [], []
    for key in _VERBATIM_FIELDS:
        value = fm.get(key)
        for v in (value if isinstance(value, list) else [value]):
            if v is not None:
                owners.append(key)
                lines.append(" ".join(str(v).splitlines()))
    found_by_key: dict[str, set[str]] = {}
    for match in find_sensitive("\n".join(lines)) if lines else []:
        found_by_key.setdefault(owners[match.line - 1], set()).add(match.kind)
    for key in _VERBATIM_FIELDS:
        found = found_by_key.get(key)
        if found:
            kinds = ", ".join(sorted(kind.replace("_", " ") for kind in found))
            problems.append(Problem("sensitive_value", f"{key} holds sensitive data ({kinds}); the field is left "
                                    "empty, since it is published as it is: replace the value",
                                    field_lines.get(key), "warning"))
            del kept[key]
    return kept


def _quoted(value) -> str:
    """The value for a message, unless it is long or sensitive: a finding never repeats a secret."""
    text = str(value)
    if len(text) > 40 or "\n" in text or find_sensitive(text):
        return ""
    return f"'{text}' "


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _normalise_severity(value) -> str | None:
    if value is None:
        return None
    m = re.search(r"([1-4])", str(value))
    return f"SEV{m.group(1)}" if m else str(value).strip().upper()


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _as_str(value) -> str | None:
    return None if value is None or value == "" else str(value).strip()


def _as_int(value) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(str(value).replace(",", "").replace("_", "").strip())
    except ValueError:
        return None


def _as_float(value) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _as_datetime(value) -> datetime | None:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time(0, 0))
    else:
        try:
            dt = datetime.fromisoformat(str(value).strip().replace(" UTC", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)  # the format asks for an offset; UTC is the only sane guess
    return dt.astimezone(timezone.utc)
