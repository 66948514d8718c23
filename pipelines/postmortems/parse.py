"""Parse one post-mortem Markdown file into a `PostMortem`, tolerantly.

The format (README, data/templates/postmortem.md) is YAML front matter plus sections, but
real post-mortems drift from any template: no front matter, other headings, causes as
bullets, action items as checkboxes, dates only in the prose. The parser reads what it can,
leaves the rest null, and reports what it could not read as `Problem`s with a line number,
so one odd file never stops a run.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timezone
from pathlib import Path

from pipelines.postmortems.front_matter import (
    _apply_front_matter,
    _as_datetime,
    _as_float,
    _as_int,
    _split_front_matter,
)
from pipelines.postmortems.model import (
    ACTION_STATUSES,
    CATEGORIES,
    REQUIRED_SECTIONS,
    ActionItem,
    EvalGap,
    ModelConfig,
    ParsedFile,
    PostMortem,
    Problem,
    PromptDiff,
    RootCause,
    SampleOutput,
    Section,
    TimelineEvent,
)
from pipelines.postmortems.sections import find_headings, split_sections

ID_PATTERN = re.compile(r"\bPM-\d{4}-\d{3,}\b")
_LIST_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")
_PLACEHOLDER = re.compile(r"^(?:todo|tbd|tba|n/?a|none|-+|\.\.\.|…|\?+|\(?todo[^)]*\)?|<[^>]*>)$", re.I)


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


# --------------------------------------------------------------------------------------
# Entry points


def parse_bytes(raw: bytes, source_path: str, max_bytes: int | None = None) -> ParsedFile:
    """Decode and parse; every way the bytes can be unusable becomes a Problem."""
    digest = content_hash(raw)
    if max_bytes is not None and len(raw) > max_bytes:
        return ParsedFile(source_path, digest, None, [Problem(
            "too_large",
            f"file is {len(raw) / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit for a post-mortem "
            "(EMBERLINE_MAX_FILE_BYTES raises it); not loaded")])
    if not raw.strip():
        return ParsedFile(source_path, digest, None, [Problem("empty_file", "file is empty; not loaded")])
    if b"\x00" in raw[:8192]:
        return ParsedFile(source_path, digest, None, [Problem(
            "binary_file", "file holds binary data (NUL bytes), not Markdown text; not loaded")])
    problems: list[Problem] = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        problems.append(Problem(
            "not_utf8",
            f"byte 0x{raw[err.start]:02x} at offset {err.start} is not valid UTF-8; loaded with "
            "undecodable bytes replaced by U+FFFD: re-save the file as UTF-8",
            line, "warning"))
        text = raw.decode("utf-8", errors="replace")
    parsed = parse_text(text, source_path, digest)
    parsed.problems[:0] = problems
    return parsed


def parse_text(text: str, source_path: str, digest: str | None = None) -> ParsedFile:
    digest = digest or content_hash(text.encode("utf-8"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    problems: list[Problem] = []

    front, body_start, field_lines = _split_front_matter(lines, problems)
    body_lines = lines[body_start:]
    title, sections, _ = split_sections(body_lines, first_line=body_start + 1)

    pm = PostMortem(
        incident_id="",
        title="",
        source_path=source_path,
        content_hash=digest,
        has_front_matter=front is not None,
        sections=sections,
        markdown=text,
        field_lines=field_lines,
    )
    _apply_front_matter(pm, front or {}, field_lines, problems)

    pm.incident_id = pm.incident_id or _id_from_path(source_path)
    pm.title = pm.title or title or Path(source_path).stem
    pm.summary = _clean_block(sections["summary"].text) if "summary" in sections else None
    if pm.customer_impact is None and "impact" in sections:
        pm.customer_impact = _clean_block(sections["impact"].text) or None

    pm.timeline = parse_timeline(sections.get("timeline"), pm.started_at)
    pm.root_causes = parse_root_causes(sections.get("root_causes"))
    pm.eval_gaps = parse_eval_gaps(sections.get("eval_gap"), pm.root_causes)
    pm.new_eval_case_id, pm.new_eval_case_checks = parse_new_eval_case(sections)
    pm.action_items = parse_action_items(sections, pm.new_eval_case_id, pm.new_eval_case_checks)
    pm.prompt_diffs = parse_prompt_diffs(sections.get("prompt_diff"))
    pm.sample_outputs = parse_sample_outputs(sections.get("sample_outputs"))
    if _config_is_empty(pm.model_config) and "model_config" in sections:
        pm.model_config = parse_model_config_section(sections["model_config"].text)

    if front is None:
        _dates_from_text(pm, body_lines)
        severity = re.search(r"\bsev(?:erity)?[\s:-]*([1-4])\b", text, re.I)
        pm.severity = pm.severity or (f"SEV{severity.group(1)}" if severity else None)

    pm.missing_sections = missing_sections(pm)
    pm.completeness = round(1 - len(pm.missing_sections) / len(REQUIRED_SECTIONS), 3)
    return ParsedFile(source_path, digest, pm, problems)


def _id_from_path(source_path: str) -> str:
    match = ID_PATTERN.search(Path(source_path).name)
    if match:
        return match.group(0)
    # No id anywhere: the path is the only stable identity a file has.
    return "file:" + str(Path(source_path).with_suffix(""))


# --------------------------------------------------------------------------------------
# Text helpers


_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HEADING_LINE = re.compile(r"^#+ .*$", re.M)
_WORDLIKE = re.compile(r"[A-Za-z0-9]{2,}")
_EMPHASIS = re.compile(r"\*\*|__|`")
_BOLD_MARKS = re.compile(r"\*\*|__")
_WHITESPACE = re.compile(r"\s+")


def _clean_block(text: str) -> str:
    """Markdown block to readable text: drop HTML comments and placeholder lines."""
    text = _HTML_COMMENT.sub("", text)
    kept = [ln.rstrip() for ln in text.split("\n") if not _PLACEHOLDER.match(ln.strip().strip("*_`"))]
    return "\n".join(kept).strip()


def is_empty_text(text: str) -> bool:
    cleaned = _clean_block(text)
    cleaned = _HEADING_LINE.sub("", cleaned)
    return not _WORDLIKE.search(cleaned)


def _strip_md(text: str) -> str:
    text = _EMPHASIS.sub("", text)
    text = _WHITESPACE.sub(" ", text)
    return text.strip()


def _top_level_items(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Split lines into top-level list items: (line offset, item lines incl. nested ones)."""
    items: list[tuple[int, list[str]]] = []
    indents = [len(m.group(1)) for m in (_LIST_ITEM.match(ln) for ln in lines) if m]
    if not indents:
        return items
    top = min(indents)
    current: list[str] | None = None
    in_fence = False
    for offset, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _LIST_ITEM.match(line)
        if m and len(m.group(1)) == top:
            current = [m.group(2)]
            items.append((offset, current))
        elif current is not None:
            if line.strip() == "" or len(line) - len(line.lstrip()) > top or in_fence:
                current.append(line.strip())
            elif line.strip():
                current.append(line.strip())  # lazy continuation line
    return items


# --------------------------------------------------------------------------------------
# Timeline

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_TS_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[T ,]+(?P<time>\d{1,2}:\d{2}(?::\d{2})?)(?P<tz>Z|[+-]\d{2}:?\d{2}|\s*UTC)?)?")
_TS_MONTH = re.compile(
    r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?"
    r"(?:\s+(?P<year>\d{4}))?,?\s*(?P<time>\d{1,2}:\d{2})?", re.I)
_TS_MONTH_DAY = re.compile(r"(?P<mon>\d{2})[-/](?P<day>\d{2})\s+(?P<time>\d{1,2}:\d{2})")
_TS_TIME = re.compile(r"^(?P<time>\d{1,2}:\d{2}(?::\d{2})?)(?:\s*(?P<tz>UTC|Z))?\b")
_KIND_WORDS = (
    ("resolution", ("resolved", "resolution", "all clear", "closed the incident", "incident closed", "back to normal",
                    "fully recovered", "recovered")),
    ("mitigation", ("rolled back", "rollback", "roll back", "reverted", "revert", "mitigat", "disabled", "failover",
                    "failed over", "hotfix", "pinned", "turned off", "switched", "flag off", "purged", "flushed",
                    "re-ran", "rebuilt", "restored", "deployed fix", "shipped fix", "back to the", "pin ")),
    ("detection", ("alert", "paged", "page ", "detected", "noticed", "reported", "ticket", "fired", "spike",
                   "complain", "escalat", "flagged", "dashboard")),
    ("diagnosis", ("investigat", "identified", "found", "diagnos", "root cause", "confirmed", "traced", "bisect",
                   "correlat", "narrowed", "suspect", "showed", "trace", "inspect", "reproduc")),
    ("change", ("deploy", "released", "merged", "shipped", "rolled out", "rollout", "changed", "updated", "upgrade",
                "migrat", "started", "began", "finished", "completed", "ran ")),
)


# One alternation per kind: a single search instead of a substring test per word.
_KIND_PATTERNS = tuple((kind, re.compile("|".join(map(re.escape, words)))) for kind, words in _KIND_WORDS)


def classify_event(text: str) -> str:
    lowered = text.lower()
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(lowered):
            return kind
    return "other"


_LEADING_MARKUP = re.compile(r"^[\s|*_`]+")
_LEADING_SEPARATORS = re.compile(r"^[\s*_`|:—–-]+")


def _parse_timestamp(text: str, last: datetime | None, default_year: int | None) -> tuple[datetime | None, str]:
    """Leading timestamp of a timeline entry and the rest of the text."""
    s = _LEADING_MARKUP.sub("", text)
    m = _TS_ISO.match(s)
    if m:
        d = date.fromisoformat(m.group("date"))
        if not m.group("time") and last is not None and last.date() == d:
            return last, s[m.end():]  # a date without a time on the same day: "later that day"
        t = time.fromisoformat(_pad_time(m.group("time"))) if m.group("time") else time(0, 0)
        dt = datetime.combine(d, t)
        tz = (m.group("tz") or "").strip()
        if tz and tz not in ("Z", "UTC"):
            dt = datetime.fromisoformat(dt.isoformat() + (tz if ":" in tz else tz[:3] + ":" + tz[3:]))
        return _utc(dt), s[m.end():]
    m = _TS_MONTH.match(s)
    if m:
        year = int(m.group("year")) if m.group("year") else (last.year if last else default_year)
        if year:
            try:
                d = date(year, _MONTHS[m.group("mon")[:3].lower()], int(m.group("day")))
            except ValueError:
                return None, text
            t = time.fromisoformat(_pad_time(m.group("time"))) if m.group("time") else time(0, 0)
            return _utc(datetime.combine(d, t)), s[m.end():]
    m = _TS_MONTH_DAY.match(s)
    year = last.year if last else default_year
    if m and year:
        try:
            d = date(year, int(m.group("mon")), int(m.group("day")))
        except ValueError:
            return None, text
        return _utc(datetime.combine(d, time.fromisoformat(_pad_time(m.group("time"))))), s[m.end():]
    m = _TS_TIME.match(s)
    if m and last is not None:
        t = time.fromisoformat(_pad_time(m.group("time")))
        dt = datetime.combine(last.date(), t, tzinfo=timezone.utc)
        return dt, s[m.end():]
    return None, text


def _pad_time(value: str) -> str:
    return value if len(value.split(":")[0]) == 2 else "0" + value


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def parse_timeline(section: Section | None, started_at: datetime | None) -> list[TimelineEvent]:
    if section is None:
        return []
    events: list[TimelineEvent] = []
    last = started_at
    default_year = started_at.year if started_at else None
    lines = section.text.split("\n")
    for offset, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or set(stripped) <= set("|-: "):
            continue
        item = _LIST_ITEM.match(line)
        content = item.group(2) if item else stripped
        if content.startswith("|"):
            cells = [c.strip() for c in content.strip("|").split("|")]
            if cells and cells[0].lower() in ("time", "timestamp", "when", "date", "time (utc)"):
                continue  # table header
            content = " — ".join(c for c in cells if c)
        at, rest = _parse_timestamp(content, last, default_year)
        if at is None and not item and events:
            events[-1].text += " " + stripped  # continuation of the previous entry
            continue
        if at is None and not item and not events:
            continue  # intro prose ("All times UTC.")
        rest = _LEADING_SEPARATORS.sub("", rest).strip()
        text = _strip_md(rest or content)
        if at is not None:
            last = at
        events.append(TimelineEvent(len(events) + 1, at, text, classify_event(text), section.body_line + offset))
    return events


# --------------------------------------------------------------------------------------
# Root causes

_FIELD = re.compile(
    r"^\s*(?:[-*+]\s+)?(?P<key>category|type|kind|area|description|details|what happened|why (?:the )?evals? "
    r"(?:missed|did ?n[o']t catch|didn't catch)(?: it| this)?|why evals? missed(?: it)?|evals? missed(?: it)?"
    r"|eval gap|why (?:our )?tests? (?:missed|didn't catch)(?: it)?|eval coverage)\s*[:：]\s*(?P<value>.*)$",
    re.I,
)
_CATEGORY_SYNONYMS = {
    "prompt": "prompt", "prompts": "prompt", "prompting": "prompt", "prompt change": "prompt",
    "retrieval": "retrieval", "rag": "retrieval", "index": "retrieval", "search": "retrieval",
    "model": "model", "model behaviour": "model", "model behavior": "model",
    "config": "config", "configuration": "config", "settings": "config",
    "upstream-provider": "upstream-provider", "upstream provider": "upstream-provider", "upstream": "upstream-provider",
    "provider": "upstream-provider", "vendor": "upstream-provider", "third party": "upstream-provider",
    "data": "data", "data quality": "data", "dataset": "data",
    "infrastructure": "infrastructure", "infra": "infrastructure", "platform": "infrastructure",
    "process": "process", "human process": "process", "review process": "process",
    "other": "other",
}
_CATEGORY_KEYWORDS = (
    ("upstream-provider", ("provider", "upstream", "429", "rate limit", "rate-limit", "api degradation", "outage",
                           "deprecat", "alias", "snapshot", "vendor", "openai", "anthropic", "gemini")),
    ("retrieval", ("index", "retriev", "embedding", "rag", "vector", "chunk", "re-index", "reindex", "corpus")),
    ("prompt", ("prompt", "system message", "few-shot", "instruction")),
    ("config", ("config", "temperature", "top_p", "max_tokens", "feature flag", "setting", "environment variable",
                "override", "parameter")),
    ("data", ("dataset", "label", "contamina", "training data", "fine-tun", "pii", "personal data")),
    ("infrastructure", ("gpu", "cache", "latency", "kubernetes", "timeout", "queue", "capacity", "memory", "node",
                        "deploy", "database", "network")),
    ("model", ("model", "hallucinat", "tokenizer", "weights", "refus")),
    ("process", ("review", "process", "runbook", "on-call", "oncall", "approval", "checklist", "skipped")),
)


def normalise_category(value: str | None) -> str | None:
    if not value:
        return None
    v = re.sub(r"[`*_\[\]()]", "", value).strip().lower()
    v = re.split(r"[,;/|(]| - | — ", v)[0].strip()
    if v in CATEGORIES:
        return v
    if v in _CATEGORY_SYNONYMS:
        return _CATEGORY_SYNONYMS[v]
    for word, cat in _CATEGORY_SYNONYMS.items():
        if v.startswith(word):
            return cat
    return "other"


def infer_category(text: str) -> str | None:
    lowered = text.lower()
    best, best_score = None, 0
    for cat, words in _CATEGORY_KEYWORDS:
        score = sum(lowered.count(w) for w in words)
        if score > best_score:
            best, best_score = cat, score
    return best


def _cause_from_block(seq: int, title: str, lines: list[str], line: int) -> RootCause | None:
    fields: dict[str, str] = {}
    rest: list[str] = []
    current_key = None
    for raw in lines:
        plain = _BOLD_MARKS.sub("", raw)
        m = _FIELD.match(plain)
        if m:
            key = m.group("key").lower()
            key = ("category" if key in ("category", "type", "kind", "area") else
                   "description" if key in ("description", "details", "what happened") else "why")
            fields[key] = (fields.get(key, "") + " " + m.group("value")).strip()
            current_key = key
        elif current_key and raw.strip() and not _LIST_ITEM.match(raw) and raw.startswith((" ", "\t")):
            fields[current_key] += " " + raw.strip()
        else:
            current_key = None
            rest.append(raw)
    # Inline tag: "[retrieval] Nightly index..." or "Retrieval: nightly index..."
    title = _strip_md(re.sub(r"^(?:cause|root cause)?\s*\d*[.):]?\s*", "", title, flags=re.I))
    tag = re.match(r"^\[([\w -]+)\]\s*(.*)$", title) or re.match(r"^\(([\w -]+)\)\s*(.*)$", title)
    if tag and normalise_category(tag.group(1)) != "other":
        fields.setdefault("category", tag.group(1))
        title = tag.group(2)
    elif tag:
        title = tag.group(2)
    lead = re.match(r"^([A-Za-z -]{3,20}):\s+(.*)$", title)
    if lead and lead.group(1).lower().strip() in _CATEGORY_SYNONYMS and "category" not in fields:
        fields["category"] = lead.group(1)
        title = lead.group(2)

    rest_text = _strip_md(" ".join(r.strip() for r in rest if r.strip() and not r.strip().startswith("#")))
    description = _strip_md(fields.get("description", "")) or rest_text
    if not description and not title:
        return None
    if not title:
        title = _first_sentence(description)
    why = fields.get("why")
    if not why:
        why = " ".join(s for s in re.split(r"(?<=[.!?])\s+", description)
                       if re.search(r"\bevals?\b|\beval suite\b|\btests?\b", s, re.I)
                       and re.search(r"miss|did ?n[o']t|never|no (?:eval|test)|not cover|lack|gap|without", s, re.I))
    category = normalise_category(fields.get("category"))
    source = "explicit" if category else None
    if category is None:
        category = infer_category(f"{title} {description}")
        source = "inferred" if category else None
    return RootCause(seq, title, category, source, description or title, _strip_md(why) or None, line)


def _first_sentence(text: str, limit: int = 120) -> str:
    sentence = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rsplit(" ", 1)[0] + "…"


def parse_root_causes(section: Section | None) -> list[RootCause]:
    if section is None or is_empty_text(section.text):
        return []
    lines = section.text.split("\n")
    causes: list[RootCause] = []
    headings = find_headings(lines, first_line=section.body_line)
    if headings:
        for i, h in enumerate(headings):
            start = h.line - section.body_line + 1
            end = headings[i + 1].line - section.body_line if i + 1 < len(headings) else len(lines)
            cause = _cause_from_block(len(causes) + 1, h.text, lines[start:end], h.line)
            if cause:
                causes.append(cause)
        return causes

    items = _top_level_items(lines)
    field_only = [bool(_FIELD.match(re.sub(r"\*\*|__", "", it[1][0]))) for it in items]
    if items and not all(field_only):
        pending: list[tuple[int, list[str]]] = []
        for (offset, item_lines), is_field in zip(items, field_only):
            if is_field and pending:
                pending[-1][1].extend(["- " + item_lines[0]] + item_lines[1:])
            else:
                pending.append((offset, list(item_lines)))
        for offset, item_lines in pending:
            head = item_lines[0]
            bold = re.match(r"^\*\*(.+?)\*\*[:.]?\s*(.*)$", head)
            tag = re.match(r"^(\[[\w -]+\])\s*(.*)$", head)
            title, first = (bold.group(1), bold.group(2)) if bold else (tag.group(1), tag.group(2)) if tag else ("", head)
            cause = _cause_from_block(len(causes) + 1, title, [first] + item_lines[1:], section.body_line + offset)
            if cause:
                causes.append(cause)
        return causes

    # Prose: paragraphs led by a bold phrase are separate causes; otherwise one cause.
    paragraphs = _paragraphs(lines, section.body_line)
    bold_led = [p for p in paragraphs if re.match(r"^\*\*.+?\*\*", p[1])]
    if len(bold_led) >= 2:
        for line, para in bold_led:
            m = re.match(r"^\*\*(.+?)\*\*[:.]?\s*(.*)$", para, re.S)
            cause = _cause_from_block(len(causes) + 1, m.group(1), m.group(2).split("\n"), line)
            if cause:
                causes.append(cause)
        return causes
    cause = _cause_from_block(1, "", lines, section.body_line)
    return [cause] if cause else []


def _paragraphs(lines: list[str], first_line: int) -> list[tuple[int, str]]:
    paragraphs: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = first_line
    for offset, line in enumerate(lines + [""]):
        if line.strip():
            if not buffer:
                start = first_line + offset
            buffer.append(line.strip())
        elif buffer:
            paragraphs.append((start, "\n".join(buffer)))
            buffer = []
    return paragraphs


# --------------------------------------------------------------------------------------
# Eval gaps and the new eval case

_EVAL_CASE_REF = re.compile(
    r"`?((?:evals?|tests?|regression)/[\w./-]+\.(?:ya?ml|jsonl?|py|md|txt)|EVAL-[\w-]+|eval[_-]case[_-][\w-]+)`?", re.I)


def parse_eval_gaps(section: Section | None, causes: list[RootCause]) -> list[EvalGap]:
    gaps: list[EvalGap] = []
    if section is not None and not is_empty_text(section.text):
        lines = section.text.split("\n")
        items = _top_level_items(lines)
        if len(items) >= 2:
            for offset, item_lines in items:
                text = _strip_md(" ".join(item_lines))
                if text:
                    gaps.append(EvalGap(len(gaps) + 1, text, "analysis", section.body_line + offset))
        else:
            text = _strip_md(_clean_block(section.text).replace("\n", " "))
            if text:
                gaps.append(EvalGap(1, text, "analysis", section.body_line))
    if not gaps:
        for cause in causes:
            if cause.evals_missed_why:
                gaps.append(EvalGap(len(gaps) + 1, cause.evals_missed_why, "root_cause", cause.line))
    return gaps


def parse_new_eval_case(sections: dict[str, Section]) -> tuple[str | None, str | None]:
    section = sections.get("new_eval_case")
    if section is not None and not is_empty_text(section.text):
        case_id, checks = None, None
        rest: list[str] = []
        for line in section.text.split("\n"):
            plain = re.sub(r"\*\*|__", "", line)
            m = re.match(r"^\s*(?:[-*+]\s+)?(eval case|case|id|path|file|eval)\s*(?:id)?\s*[:：]\s*(.+)$", plain, re.I)
            c = re.match(r"^\s*(?:[-*+]\s+)?(checks|asserts|what it checks|expected)\s*[:：]\s*(.+)$", plain, re.I)
            if m and case_id is None:
                case_id = m.group(2).strip().strip("`")
            elif c:
                checks = _strip_md(c.group(2))
            elif line.strip():
                rest.append(line.strip())
        if case_id is None:
            ref = _EVAL_CASE_REF.search(section.text)
            case_id = ref.group(1) if ref else None
        checks = checks or (_strip_md(" ".join(rest)) or None)
        if case_id or checks:
            return case_id, checks
    # No section: an eval case named among the action items or the mitigation still counts.
    for key in ("action_items", "mitigation", "eval_gap"):
        if key in sections:
            ref = _EVAL_CASE_REF.search(sections[key].text)
            if ref:
                return ref.group(1), None
    return None, None


# --------------------------------------------------------------------------------------
# Action items

_OWNER = re.compile(r"(?:owner|owned by|assignee|assigned to|who)\s*[:=]\s*([^,;)\]|]+)|(?<![\w.])@([\w.-]+)", re.I)
_DEADLINE = re.compile(r"(?:due|deadline|by|eta|target)\s*[:=]?\s*(\d{4}-\d{2}-\d{2})|(\d{4}-\d{2}-\d{2})", re.I)
_STATUS = re.compile(r"(?:status\s*[:=]\s*)([\w -]+)|\b(done|completed|complete|closed|in[ -]progress|open|todo|not started|blocked|wip)\b", re.I)


def normalise_status(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip().lower().replace("_", "-")
    if v in ACTION_STATUSES:
        return v
    if v in ("completed", "complete", "closed", "fixed", "shipped", "x", "✅", "resolved"):
        return "done"
    if v in ("in progress", "wip", "started", "ongoing", "doing"):
        return "in-progress"
    if v in ("todo", "to do", "not started", "blocked", "pending", "planned", "new"):
        return "open"
    return None


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _table_rows(lines: list[str], first_line: int) -> list[tuple[int, dict[str, str]]]:
    rows: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    for offset, line in enumerate(lines):
        s = line.strip()
        if not s.startswith("|"):
            header = None if not s else header
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if all(set(c) <= set("-: ") for c in cells):
            continue
        rows.append((first_line + offset, dict(zip(header, cells))))
    return rows


def _column(row: dict[str, str], *names: str) -> str | None:
    for key, value in row.items():
        if any(n in key for n in names):
            return value.strip() or None
    return None


def _item_from_text(seq: int, kind: str, text: str, line: int) -> ActionItem:
    status = None
    box = re.match(r"^\[([ xX✓])\]\s*(.*)$", text)
    if box:
        status = "open" if box.group(1) == " " else "done"
        text = box.group(2)
    owner_m = _OWNER.search(text)
    owner = (owner_m.group(1) or owner_m.group(2)).strip() if owner_m else None
    dl = _DEADLINE.search(text)
    deadline = _parse_date((dl.group(1) or dl.group(2)) if dl else None)
    st = _STATUS.search(re.sub(r"\(.*?owner.*?\)", "", text)) if status is None else None
    if st:
        status = normalise_status(st.group(1) or st.group(2))
    return ActionItem(seq, kind, _strip_md(text), owner, deadline, status, line)


def parse_action_items(sections: dict[str, Section], eval_case_id: str | None, eval_case_checks: str | None) -> list[ActionItem]:
    items: list[ActionItem] = []
    mitigation = sections.get("mitigation")
    if mitigation is not None and not is_empty_text(mitigation.text):
        lines = mitigation.text.split("\n")
        bullets = _top_level_items(lines)
        if bullets:
            for offset, item_lines in bullets:
                item = _item_from_text(len(items) + 1, "immediate", " ".join(item_lines), mitigation.body_line + offset)
                item.status = item.status or "done"  # an immediate fix is what was done
                items.append(item)
        else:
            items.append(ActionItem(len(items) + 1, "immediate", _strip_md(_clean_block(mitigation.text)), None, None,
                                    "done", mitigation.body_line))
    if eval_case_id or eval_case_checks:
        section = sections.get("new_eval_case")
        text = f"Add eval case {eval_case_id}" + (f": {eval_case_checks}" if eval_case_checks else "") if eval_case_id \
            else eval_case_checks
        items.append(ActionItem(len(items) + 1, "eval_case", text or "", None, None, None,
                                section.body_line if section else None))
    section = sections.get("action_items")
    if section is not None:
        lines = section.text.split("\n")
        for line, row in _table_rows(lines, section.body_line):
            text = _column(row, "action", "item", "task", "what", "description", "follow")
            if not text:
                text = next(iter(row.values()), "")
            items.append(ActionItem(
                len(items) + 1, "systemic", _strip_md(text), _column(row, "owner", "who", "assignee", "team"),
                _parse_date(_column(row, "deadline", "due", "date", "eta", "by")),
                normalise_status(_column(row, "status", "state", "done")), line))
        for offset, item_lines in _top_level_items(lines):
            head = item_lines[0]
            if re.match(r"^(eval case|checks)\s*:", re.sub(r"\*\*", "", head), re.I):
                continue  # a new-eval-case field nested in the container, already counted
            items.append(_item_from_text(len(items) + 1, "systemic", " ".join(x for x in item_lines if x),
                                         section.body_line + offset))
    return items


# --------------------------------------------------------------------------------------
# Prompt diffs, sample outputs, model configuration


def _code_blocks(lines: list[str], first_line: int) -> list[tuple[int, str, str]]:
    """(line, info string, content) of each fenced block."""
    blocks = []
    inside = False
    info, start, buf = "", 0, []
    for offset, line in enumerate(lines):
        m = _FENCE.match(line)
        if m and not inside:
            inside, info, start, buf = True, m.group(2).lower(), first_line + offset, []
        elif m and inside:
            blocks.append((start, info, "\n".join(buf)))
            inside = False
        elif inside:
            buf.append(line)
    if inside:
        blocks.append((start, info, "\n".join(buf)))
    return blocks


def parse_prompt_diffs(section: Section | None) -> list[PromptDiff]:
    if section is None or is_empty_text(section.text):
        return []
    blocks = _code_blocks(section.text.split("\n"), section.body_line)
    diffs: list[PromptDiff] = []
    plain: list[tuple[int, str]] = []
    for line, info, content in blocks:
        body = content.split("\n")
        is_diff = info == "diff" or sum(1 for b in body if b[:1] in "+-") >= max(1, len(body) // 3)
        if is_diff:
            before = [b[1:] if b[:1] in "- " else b for b in body
                      if not b.startswith(("+", "---", "@@")) and b[:1] in "- "]
            after = [b[1:] if b[:1] in "+ " else b for b in body
                     if not b.startswith(("-", "+++", "@@")) and b[:1] in "+ "]
            diffs.append(PromptDiff(len(diffs) + 1, "\n".join(before).strip(), "\n".join(after).strip(), content, line))
        else:
            plain.append((line, content))
    # "Before:" / "After:" as two plain blocks
    for i in range(0, len(plain) - 1, 2):
        (line, before), (_, after) = plain[i], plain[i + 1]
        diff = "\n".join(["- " + b for b in before.split("\n")] + ["+ " + a for a in after.split("\n")])
        diffs.append(PromptDiff(len(diffs) + 1, before.strip(), after.strip(), diff, line))
    if not diffs:
        text = _clean_block(section.text)
        diffs.append(PromptDiff(1, "", "", text, section.body_line))
    return diffs


def parse_sample_outputs(section: Section | None) -> list[SampleOutput]:
    if section is None or is_empty_text(section.text):
        return []
    lines = section.text.split("\n")
    outputs: list[SampleOutput] = []
    quote: list[str] = []
    quote_line = 0
    in_fence = False
    for offset, line in enumerate(lines + [""]):
        if _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and line.lstrip().startswith(">"):
            if not quote:
                quote_line = section.body_line + offset
            quote.append(re.sub(r"^\s*>\s?", "", line))
        elif quote:
            outputs.append(SampleOutput(len(outputs) + 1, "\n".join(quote).strip(), quote_line))
            quote = []
    for line, _, content in _code_blocks(lines, section.body_line):
        outputs.append(SampleOutput(len(outputs) + 1, content.strip(), line))
    if not outputs:
        for offset, item_lines in _top_level_items(lines):
            outputs.append(SampleOutput(len(outputs) + 1, "\n".join(item_lines).strip(), section.body_line + offset))
    outputs = [o for o in outputs if o.text]
    for i, o in enumerate(outputs, start=1):
        o.seq = i
    return outputs


_CONFIG_KEYS = {
    "provider": "provider", "vendor": "provider", "model": "model", "model name": "model",
    "model version": "model_version", "model_version": "model_version", "version": "model_version",
    "snapshot": "model_version", "temperature": "temperature", "temp": "temperature", "top_p": "top_p",
    "top p": "top_p", "max_tokens": "max_tokens", "max tokens": "max_tokens", "max output tokens": "max_tokens",
    "system prompt version": "system_prompt_version", "system_prompt_version": "system_prompt_version",
    "prompt version": "system_prompt_version", "retrieval index version": "retrieval_index_version",
    "index version": "retrieval_index_version", "retrieval_index_version": "retrieval_index_version",
}


def parse_model_config_section(text: str) -> ModelConfig:
    values: dict[str, str] = {}
    for line in text.split("\n"):
        plain = re.sub(r"\*\*|__|`", "", line).strip().lstrip("-*+ ").strip()
        if plain.startswith("|"):
            cells = [c.strip() for c in plain.strip("|").split("|")]
            if len(cells) >= 2:
                key, value = cells[0].lower(), cells[-1]
            else:
                continue
        else:
            m = re.match(r"^([\w ]+?)\s*[:=]\s*(.+)$", plain)
            if not m:
                continue
            key, value = m.group(1).lower().strip(), m.group(2).strip()
        field = _CONFIG_KEYS.get(key)
        if field and field not in values:
            values[field] = re.split(r"\s+[(—-]\s*", value)[0].strip()
    return ModelConfig(
        provider=values.get("provider"),
        model=values.get("model"),
        model_version=values.get("model_version"),
        temperature=_as_float(_leading_number(values.get("temperature"))),
        top_p=_as_float(_leading_number(values.get("top_p"))),
        max_tokens=_as_int(_leading_number(values.get("max_tokens"))),
        system_prompt_version=values.get("system_prompt_version"),
        retrieval_index_version=values.get("retrieval_index_version"),
    )


def _leading_number(value: str | None) -> str | None:
    if not value:
        return None
    m = re.match(r"^[\d.,_]+", value.strip())
    return m.group(0).rstrip(".,") if m else None


def _config_is_empty(config: ModelConfig) -> bool:
    return all(v is None for v in vars(config).values())


# --------------------------------------------------------------------------------------
# Files without front matter: dates from the prose

_PROSE_DATE = re.compile(
    r"(?P<key>started|start|began|detected|mitigated|resolved|published|post-?mortem published)\b[^:\n]{0,20}[:：]\s*"
    r"(?P<value>\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?(?:Z|[+-]\d{2}:\d{2}|\s*UTC)?)",
    re.I,
)


def _dates_from_text(pm: PostMortem, lines: list[str]) -> None:
    for line in lines:
        m = _PROSE_DATE.search(line.replace("**", ""))
        if not m:
            continue
        key = m.group("key").lower()
        field = ("started_at" if key.startswith(("start", "began")) else
                 "detected_at" if key.startswith("detect") else
                 "mitigated_at" if key.startswith("mitigat") else
                 "resolved_at" if key.startswith("resolv") else "postmortem_published_at")
        if getattr(pm, field) is None:
            setattr(pm, field, _as_datetime(m.group("value")))
    dated = [e for e in pm.timeline if e.at is not None]
    if dated:
        pm.started_at = pm.started_at or dated[0].at
        detection = next((e.at for e in dated if e.kind == "detection"), None)
        mitigation = next((e.at for e in dated if e.kind == "mitigation"), None)
        resolution = next((e.at for e in reversed(dated) if e.kind == "resolution"), None)
        pm.detected_at = pm.detected_at or detection
        pm.mitigated_at = pm.mitigated_at or mitigation
        pm.resolved_at = pm.resolved_at or resolution or dated[-1].at


# --------------------------------------------------------------------------------------
# Completeness


def missing_sections(pm: PostMortem) -> list[str]:
    present = {
        "summary": bool(pm.summary),
        "timeline": bool(pm.timeline),
        "root_causes": bool(pm.root_causes),
        "mitigation": "mitigation" in pm.sections and not is_empty_text(pm.sections["mitigation"].text),
        "new_eval_case": bool(pm.new_eval_case_id or pm.new_eval_case_checks),
        "action_items": any(a.kind == "systemic" for a in pm.action_items),
        "prompt_diff": bool(pm.prompt_diffs),
        "model_config": not _config_is_empty(pm.model_config)
        or ("model_config" in pm.sections and not is_empty_text(pm.sections["model_config"].text)),
        "sample_outputs": bool(pm.sample_outputs),
        "eval_gap": any(g.source == "analysis" for g in pm.eval_gaps),
    }
    return [key for key in REQUIRED_SECTIONS if not present[key]]
