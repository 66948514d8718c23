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
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from pipelines.postmortems.front_matter import (
    _DATE_FIELDS,
    _apply_front_matter,
    _as_float,
    _as_int,
    _split_front_matter,
)
from pipelines.postmortems.model import (
    ACTION_STATUSES,
    DAY_ONLY_TEXT,
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
from pipelines.postmortems import dates as datefind
from pipelines.postmortems import markdown, prose
from pipelines.postmortems.classify import CATEGORY_SYNONYMS, classify_event, infer_category, normalise_category
from pipelines.postmortems.sections import promote_plain_headings, section_key, split_sections

ID_PATTERN = re.compile(r"\bPM-\d{4}-\d{3,}\b")
_LIST_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(.*)$")
_PLACEHOLDER = re.compile(r"^(?:todo|tbd|tba|n/?a|none|-+|\.\.\.|…|\?+|\(?todo[^)]*\)?|<[^>]*>)$", re.I)


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


# --------------------------------------------------------------------------------------
# Entry points


def parse_bytes(raw: bytes, source_path: str, max_bytes: int | None = None,
                heading_aliases: dict[str, str] | None = None, semantic_headings: bool = False) -> ParsedFile:
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
    parsed = parse_text(text, source_path, digest, heading_aliases, semantic_headings)
    parsed.problems[:0] = problems
    return parsed


def parse_text(text: str, source_path: str, digest: str | None = None,
               heading_aliases: dict[str, str] | None = None, semantic_headings: bool = False) -> ParsedFile:
    digest = digest or content_hash(text.encode("utf-8"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    problems: list[Problem] = []

    front, body_start, field_lines = _split_front_matter(lines, problems)
    body_lines = lines[body_start:]
    doc = promote_plain_headings(markdown.parse("\n".join(body_lines), first_line=body_start + 1))
    semantic = None
    if semantic_headings:
        from pipelines.postmortems.meaning import semantic_section_key
        semantic = semantic_section_key
    title, sections, headings = split_sections(doc, heading_aliases, semantic)

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
    pm.date_sources = {key: "front matter" for key in _DATE_FIELDS if getattr(pm, key) is not None}

    pm.incident_id = pm.incident_id or _id_from_path(source_path)
    pm.title = pm.title or title or Path(source_path).stem
    pm.summary = _clean_block(sections["summary"].text) if "summary" in sections else None
    if pm.customer_impact is None and "impact" in sections:
        pm.customer_impact = _clean_block(sections["impact"].text) or None

    zone = datefind.stated_zone(text) or (datefind.first_named_zone(text) if front is None else None) or timezone.utc
    published = _publication_block(doc)  # (block, date) of the date line under the title, or None
    reference_year = _reference_year(pm, doc, source_path, published)
    first_day = None if front is not None else _day_before_timeline(
        doc, sections.get("timeline"), zone, reference_year, published, source_path)
    pm.timeline = parse_timeline(sections.get("timeline"), pm.started_at, zone=zone, default_year=reference_year,
                                 first_day=first_day)
    _no_events_after_publication(pm.timeline, published)
    updates: set[int] = set()  # lines of a status page's updates: narration, not commitments
    if not pm.timeline and front is None:
        pm.timeline = prose.status_updates(doc, zone=zone, default_year=reference_year)
        updates = {e.line for e in pm.timeline}
    if not pm.timeline and front is None:
        pm.timeline = prose.narrative_events(doc, sections, zone=zone, default_year=reference_year)
    pm.root_causes = parse_root_causes(sections.get("root_causes"), free_form=front is None)
    if not pm.root_causes:
        pm.root_causes = prose.causes_from_text(doc, sections)
    if front is None:
        # Free-form reviews list contributing factors under "What went wrong" in their lessons.
        pm.root_causes = prose.add_contributing_factors(pm.root_causes,
                                                        prose.contributing_factors(sections.get("lessons")))
    pm.eval_gaps = parse_eval_gaps(sections.get("eval_gap"), pm.root_causes)
    if front is None:
        # Free-form texts explain what checks missed wherever they happen to: a gap section
        # and the narrative both count (the same line once).
        pm.eval_gaps = prose.merge_gaps(pm.eval_gaps, prose.gaps_from_text(doc, sections))
    pm.new_eval_case_id, pm.new_eval_case_checks = parse_new_eval_case(sections)
    pm.action_items = parse_action_items(sections, pm.new_eval_case_id, pm.new_eval_case_checks)
    if front is None:
        taken = {a.line for a in pm.action_items if a.line}
        if not any(a.kind == "systemic" for a in pm.action_items):
            # A sentence already read as an action (under "Mitigation") is not a second one.
            found = [a for a in prose.actions_from_text(doc, sections) if a.line not in taken | updates]
            for seq, action in enumerate(found, start=len(pm.action_items) + 1):
                action.seq = seq
            pm.action_items += found
            taken |= {a.line for a in pm.action_items if a.line}
        pm.action_items += prose.actions_after_lead_ins(doc, taken, start_seq=len(pm.action_items) + 1)
    pm.prompt_diffs = parse_prompt_diffs(sections.get("prompt_diff"))
    pm.sample_outputs = parse_sample_outputs(sections.get("sample_outputs"))
    if _config_is_empty(pm.model_config) and "model_config" in sections:
        pm.model_config = parse_model_config_section(sections["model_config"].text)

    if front is None:
        _dates_from_text(pm, doc, zone, reference_year, published)
        severity = re.search(r"\bsev(?:erity)?[\s:-]{0,3}([1-4])\b", text, re.I)
        pm.severity = pm.severity or (f"SEV{severity.group(1)}" if severity else None)

    pm.headings = [(h.line, h.text, h.key, h.how) for h in headings]
    dropped = _dates_after_today(pm, datetime.now(timezone.utc)) if front is None else []
    pm.notes = parse_notes(pm) + dropped
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


def _without_html_comments(text: str) -> str:
    """Text with <!-- ... --> removed (an unclosed one runs to the end). A scan with find:
    the lazy regex `<!--.*?-->` is quadratic on many unclosed openers."""
    out, start = [], 0
    while (opening := text.find("<!--", start)) >= 0:
        out.append(text[start:opening])
        closing = text.find("-->", opening + 4)
        if closing < 0:
            return "".join(out)
        start = closing + 3
    out.append(text[start:])
    return "".join(out)


_HEADING_LINE = re.compile(r"^#+ .*$", re.M)
_WORDLIKE = re.compile(r"[A-Za-z0-9]{2,}")
_EMPHASIS = re.compile(r"\*\*|__|`")
_BOLD_MARKS = re.compile(r"\*\*|__")
_WHITESPACE = re.compile(r"\s+")


def _clean_block(text: str) -> str:
    """Markdown block to readable text: drop HTML comments and placeholder lines."""
    text = _without_html_comments(text)
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


def _top_level_items(section: Section) -> list[tuple[int, list[str]]]:
    """Top-level list items of a section: (file line, item lines incl. nested ones)."""
    items = [b for b in section.blocks if b.kind == "item" and not b.quoted]
    if not items:
        return []
    top = min(b.level for b in items)
    out = []
    for b in items:
        if b.level == top:
            text = b.text if b.checked is None else f"[{'x' if b.checked else ' '}] " + b.text
            out.append((b.line, text.split("\n")))
    return out


# --------------------------------------------------------------------------------------
# Timeline

_LEADING_MARKUP = re.compile(r"^[\s|*_`\[(]{1,20}")
_LEADING_SEPARATORS = re.compile(r"^[\s*_`|:\])—–-]{1,20}")


def _timeline_entries(section: Section) -> list[tuple[int, str, bool]]:
    """(file line, text, starts a new entry for sure) of each candidate entry, in order:
    list items, table rows, the lines of paragraphs, and date sub-headings."""
    entries: list[tuple[int, str, bool]] = []
    items = [b for b in section.blocks if b.kind == "item" and not b.quoted]
    top = min((b.level for b in items), default=1)
    for block in section.blocks:
        if block.quoted:
            continue
        if block.kind == "item" and block.level == top:
            entries.append((block.line, " ".join(block.text.split("\n")), True))
        elif block.kind == "table":
            for i, row in enumerate(block.rows):
                if i == 0:
                    continue  # a table's first row is its header
                entries.append((block.line + i + (1 if i else 0), " — ".join(c for c in row if c), True))
        elif block.kind == "paragraph":
            for offset, line in enumerate(block.text.split("\n")):
                if line.strip():
                    entries.append((block.line + offset, line.strip(), False))
        elif block.kind == "heading":
            entries.append((block.line, block.text, False))
    return entries


def parse_timeline(section: Section | None, started_at: datetime | None, *, zone=None,
                   default_year: int | None = None, first_day: datetime | None = None) -> list[TimelineEvent]:
    """The timeline's entries; an entry with only a clock time takes the day of the entry
    before it, and the first ones that of `started_at`, else `first_day`."""
    if section is None:
        return []
    zone = zone or timezone.utc
    events: list[TimelineEvent] = []
    last = started_at or first_day
    default_year = started_at.year if started_at else default_year
    # Date sub-headings; an inline label's line is its body's too.
    heading_lines = {b.line for b in section.blocks if b.kind == "heading" and b.end_line > b.line}
    for line, content, is_entry in _timeline_entries(section):
        stripped = _LEADING_MARKUP.sub("", content)
        try:
            at, rest, has_time = datefind.leading_timestamp(stripped, last, default_year=default_year, zone=zone)
        except (ValueError, OverflowError):  # an impossible date costs that entry's time only
            at, rest, has_time = None, content, False
        if at is not None and not has_time and not is_entry and len(rest.strip()) < 30:
            last = at  # a date line ("2026-03-12 (all times UTC)"): the day of the entries below
            continue
        if line in heading_lines:
            if at is not None:
                last = at  # "### 2023-07-19": the day the entries below happened
            continue
        if at is None and not is_entry and events:
            events[-1].text += " " + content  # continuation of the previous entry
            continue
        if at is None and not is_entry and not events:
            continue  # intro prose ("All times UTC.")
        rest = _LEADING_SEPARATORS.sub("", rest).strip()
        text = _strip_md(rest or content)
        if at is not None:
            last = at
        events.append(TimelineEvent(len(events) + 1, at, text, classify_event(text), line))
    return events


# --------------------------------------------------------------------------------------
# Root causes

_FIELD = re.compile(
    r"^\s*(?:[-*+]\s+)?(?P<key>category|type|kind|area|description|details|what happened|why (?:the )?evals? "
    r"(?:missed|did ?n[o']t catch|didn't catch)(?: it| this)?|why evals? missed(?: it)?|evals? missed(?: it)?"
    r"|eval gap|why (?:our )?tests? (?:missed|didn't catch)(?: it)?|eval coverage)\s*[:：]\s*(?P<value>.*)$",
    re.I,
)
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
    if lead and lead.group(1).lower().strip() in CATEGORY_SYNONYMS and "category" not in fields:
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


def _block_lines(blocks: list) -> list[str]:
    """Blocks back to lines that the field readers understand ("- Category: prompt")."""
    lines: list[str] = []
    for block in blocks:
        if block.quoted:
            continue
        if block.kind == "item":
            first, *rest = block.text.split("\n")
            lines += ["- " + first] + rest
        elif block.kind in ("paragraph", "table"):
            lines += block.text.split("\n")
        elif block.kind == "heading":
            lines.append("#" * block.level + " " + block.text)
    return lines


def _causes_under_subheading(seq: int, heading, body: list) -> list[RootCause]:
    """A free-form sub-heading of the causes section: often background ("How the sensor
    loads content") before the part that tells what failed. Its causal sentences are the
    causes; a body without any counts only when the heading itself names a cause."""
    found = prose.causes_in_blocks(body, kinds=("paragraph", "item"), start_seq=seq)
    if found:
        return found
    if prose.is_causal(heading.text + ".") or section_key(heading.text) == "root_causes":
        cause = _cause_from_block(seq, heading.text, _block_lines(body), heading.line)
        return [cause] if cause else []
    return []


def parse_root_causes(section: Section | None, free_form: bool = False) -> list[RootCause]:
    if section is None or is_empty_text(section.text):
        return []
    causes: list[RootCause] = []
    blocks = [b for b in section.blocks if not b.quoted]
    headings = [i for i, b in enumerate(blocks) if b.kind == "heading"]
    if headings:
        intro = blocks[:headings[0]]
        for n, i in enumerate(headings):
            end = headings[n + 1] if n + 1 < len(headings) else len(blocks)
            lines = _block_lines(blocks[i + 1:end])
            if free_form and not any(_FIELD.match(_BOLD_MARKS.sub("", x)) for x in lines):
                if n == 0:
                    causes += prose.causes_in_blocks(intro, kinds=("paragraph", "item"), start_seq=1)
                if section_key(blocks[i].text) not in ("impact", "timeline", "detection"):
                    causes += _causes_under_subheading(len(causes) + 1, blocks[i], blocks[i + 1:end])
                continue
            cause = _cause_from_block(len(causes) + 1, blocks[i].text, lines, blocks[i].line)
            if cause:
                causes.append(cause)
        if not causes and intro:
            cause = _cause_from_block(1, "", _block_lines(intro), intro[0].line)
            causes = [cause] if cause else []
        return causes

    table_rows = _table_rows(section)
    if table_rows:
        # A "Root Causes" table (Google-style docs): one cause per row.
        for line, row in table_rows:
            text = _column(row, "cause", "description", "what", "issue", "factor", "summary") \
                or next(iter(row.values()), "")
            category = _column(row, "category", "type", "kind", "area")
            lines = [text] + ([f"Category: {category}"] if category else [])
            cause = _cause_from_block(len(causes) + 1, "", lines, line)
            if cause:
                causes.append(cause)
        if causes:
            return causes

    items = _top_level_items(section)
    field_only = [bool(_FIELD.match(re.sub(r"\*\*|__", "", it[1][0]))) for it in items]
    if items and not all(field_only):
        pending: list[tuple[int, list[str]]] = []
        for (line, item_lines), is_field in zip(items, field_only):
            if is_field and pending:
                pending[-1][1].extend(["- " + item_lines[0]] + item_lines[1:])
            else:
                pending.append((line, list(item_lines)))
        for line, item_lines in pending:
            question, head = prose.split_question(item_lines[0])
            if question is not None and prose.is_gap(question):
                continue  # "Why was this not caught? ...": its answer is an eval gap, not a cause
            bold = re.match(r"^\*\*(.+?)\*\*[:.]?\s*(.*)$", head)
            tag = re.match(r"^(\[[\w -]+\])\s*(.*)$", head)
            title, first = (bold.group(1), bold.group(2)) if bold else (tag.group(1), tag.group(2)) if tag else ("", head)
            cause = _cause_from_block(len(causes) + 1, title, [first] + item_lines[1:], line)
            if cause:
                causes.append(cause)
        if free_form:
            # Several headings can name the causes ("Fault", then "Root causes"): one told in
            # prose keeps its causal sentences beside the other's list.
            told = prose.causes_in_blocks([b for b in blocks if b.kind == "paragraph"])
            causes = prose.add_contributing_factors(causes, [(c.line, c.description) for c in told])
            causes.sort(key=lambda c: c.line)
            for seq, cause in enumerate(causes, start=1):
                cause.seq = seq
        return causes

    # Prose: paragraphs led by a bold phrase are separate causes; otherwise the causal
    # sentences of the prose, else the whole of it as one cause.
    paragraphs = [(b.line, b.text) for b in blocks if b.kind == "paragraph"]
    bold_led = [p for p in paragraphs if re.match(r"^\*\*.+?\*\*", p[1])]
    if len(bold_led) >= 2:
        for line, para in bold_led:
            m = re.match(r"^\*\*(.+?)\*\*[:.]?\s*(.*)$", para, re.S)
            cause = _cause_from_block(len(causes) + 1, m.group(1), m.group(2).split("\n"), line)
            if cause:
                causes.append(cause)
        return causes
    found = prose.causes_in_section(section)
    if found:
        return found
    cause = _cause_from_block(1, "", _block_lines(blocks), section.body_line)
    return [cause] if cause else []


# --------------------------------------------------------------------------------------
# Eval gaps and the new eval case

_EVAL_CASE_REF = re.compile(
    r"`?((?:evals?|tests?|regression)/[\w./-]+\.(?:ya?ml|jsonl?|py|md|txt)|EVAL-[\w-]+|eval[_-]case[_-][\w-]+)`?", re.I)


def parse_eval_gaps(section: Section | None, causes: list[RootCause]) -> list[EvalGap]:
    gaps: list[EvalGap] = []
    if section is not None and not is_empty_text(section.text):
        items = _top_level_items(section)
        if len(items) >= 2:
            for line, item_lines in items:
                text = _strip_md(" ".join(item_lines))
                if text:
                    gaps.append(EvalGap(len(gaps) + 1, text, "analysis", line))
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
# Bounded whitespace: `\s*[:=]?\s*` is quadratic on "by" followed by many spaces.
_DEADLINE = re.compile(r"(?:due|deadline|by|eta|target)\s{0,5}[:=]?\s{0,5}(\d{4}-\d{2}-\d{2})|(\d{4}-\d{2}-\d{2})", re.I)
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


def _table_rows(section: Section) -> list[tuple[int, dict[str, str]]]:
    rows: list[tuple[int, dict[str, str]]] = []
    for block in section.blocks:
        if block.kind != "table" or not block.rows or block.quoted:
            continue
        header = [c.lower() for c in block.rows[0]]
        for i, cells in enumerate(block.rows[1:], start=2):
            rows.append((block.line + i, dict(zip(header, cells))))
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
        bullets = _top_level_items(mitigation)
        if bullets:
            for line, item_lines in bullets:
                item = _item_from_text(len(items) + 1, "immediate", " ".join(item_lines), line)
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
        for line, row in _table_rows(section):
            text = _column(row, "action", "item", "task", "what", "description", "follow")
            if not text:
                text = next(iter(row.values()), "")
            items.append(ActionItem(
                len(items) + 1, "systemic", _strip_md(text), _column(row, "owner", "who", "assignee", "team"),
                _parse_date(_column(row, "deadline", "due", "date", "eta", "by")),
                normalise_status(_column(row, "status", "state", "done")), line))
        labels = prose.status_labels(section)
        for line, item_lines in _top_level_items(section):
            head = item_lines[0]
            if re.match(r"^(eval case|checks)\s*:", re.sub(r"\*\*", "", head), re.I):
                continue  # a new-eval-case field nested in the container, already counted
            if len(item_lines) == 1 and prose.is_measurement(head):
                continue
            item = _item_from_text(len(items) + 1, "systemic", " ".join(x for x in item_lines if x), line)
            item.status = item.status or prose.status_above(labels, line) or prose.status_from_tense(item.text)
            items.append(item)
        if not any(a.kind == "systemic" for a in items):
            items += prose.actions_in_section(section, start_seq=len(items) + 1)
    return items


# --------------------------------------------------------------------------------------
# Prompt diffs, sample outputs, model configuration


def _code_blocks(section: Section) -> list[tuple[int, str, str]]:
    """(line, info string, content) of each fenced or indented code block."""
    return [(b.line, b.info, b.text) for b in section.blocks if b.kind in ("fence", "code")]


def parse_prompt_diffs(section: Section | None) -> list[PromptDiff]:
    if section is None or is_empty_text(section.text):
        return []
    blocks = _code_blocks(section)
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
    outputs: list[SampleOutput] = []
    for block in section.blocks:
        if block.kind == "quote" or (block.kind in ("fence", "code") and not block.quoted):
            outputs.append(SampleOutput(len(outputs) + 1, block.text.strip(), block.line))
    if not outputs:
        for line, item_lines in _top_level_items(section):
            outputs.append(SampleOutput(len(outputs) + 1, "\n".join(item_lines).strip(), line))
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

_DATE_KEY = re.compile(
    r"(?P<key>incident (?:start(?:ed)?|began|begun|date)|started|start|began|begun|beginning|detected|"
    r"mitigated|resolved|ended|end|published|posted|post-?mortem published)\b", re.I)
_PUBLISHED = re.compile(r"^\W{0,5}(?:published|posted|written|updated|last updated|date)\b", re.I)
_START_WORDS = re.compile(r"\b(?:outage|impact|incident|errors?|problems?|failures?) (?:starts?|began|begins|started)"
                          r"|\bbegan\b|\bstarted\b", re.I)
# "the DNS record started to propagate again" is the recovery beginning, not the incident.
_RECOVERY = re.compile(r"\b(?:again|recover\w*|restor\w*|return(?:ed|ing)? to normal|back to normal|healthy)\b", re.I)


def _marks_start(text: str) -> bool:
    """An entry that says the incident began: "outage started", or "began"/"started" beside a failure."""
    m = _START_WORDS.search(text)
    if m is None:
        return False
    if m.group(0).lower() in ("began", "started"):
        return bool(prose.failure_in(text)) and not _RECOVERY.search(text)
    return True


_END_WORDS = re.compile(r"\b(?:outage|impact|incident|errors?|problems?|failures?) (?:ends?|ended|over|resolved)\b",
                        re.I)


def _field_for(key: str) -> str:
    key = key.lower()
    if key.startswith(("incident", "start", "began", "begun", "beginning")):
        return "started_at"
    if key.startswith("detect"):
        return "detected_at"
    if key.startswith("mitigat"):
        return "mitigated_at"
    if key.startswith(("resolv", "end")):
        return "resolved_at"
    return "postmortem_published_at"


def _set_date(pm: PostMortem, field: str, value: datetime | None, source: str) -> None:
    if value is not None and getattr(pm, field) is None:
        setattr(pm, field, value)
        pm.date_sources[field] = source


def _day_before_timeline(doc: markdown.Document, timeline: Section | None, zone, reference_year: int | None,
                         published, source_path: str) -> datetime | None:
    """The day a free-form timeline's first entries happened when they give only a clock
    time ("6:19 PM: Configuration push begins"): the earliest date the text names before
    the timeline ("the outage that occurred on April 30"), in the year the text is about
    (not a model snapshot's "2024-07-18"), not counting its publication date or history."""
    if timeline is None:
        return None
    skip = published[0].line if published else None
    file_date = datefind.date_in_file_name(Path(source_path).name)
    days = [found.at for block in doc.between(doc.first_line, timeline.line)
            if block.kind in ("paragraph", "item") and not block.quoted and block.line != skip
            for found in datefind.find_datetimes(markdown.plain_text(block.text), default_year=reference_year, zone=zone,
                                                 limit=5)
            if _could_be_incident_day(found.at, published, file_date)
            and (reference_year is None or found.at.astimezone(zone).year == reference_year)]
    return min(days) if days else None


def _publication_block(doc: markdown.Document):
    """The date line under the title ("December 1, 2023", "Published 2024-05-31"): when the
    text was published, which is not when the incident began."""
    for block in doc.blocks[:4]:
        if block.kind != "paragraph":
            continue
        text = markdown.plain_text(block.text)
        if len(text) > 60:
            return None
        found = datefind.find_datetimes(text)
        key = _DATE_KEY.search(text[:found[0].start]) if found else None
        if key and _field_for(key.group("key")) != "postmortem_published_at":
            return None  # "Incident date: 2025-06-03" says what it dates
        if found and (len(text) - (found[0].end - found[0].start) < 20 or _PUBLISHED.match(text)):
            return block, found[0]
    return None


def _no_events_after_publication(events: list[TimelineEvent], published) -> None:
    """An entry written without a year ("[12-05 16:21]") that lands after the text was
    published happened the year before: nothing in a post-mortem happens after it is written."""
    if published is None:
        return
    limit = published[1].at + timedelta(days=2)
    for event in events:
        if event.at is not None and event.at > limit:
            try:
                event.at = event.at.replace(year=event.at.year - 1)
            except ValueError:  # 29 February
                event.at = event.at - timedelta(days=365)


def _reference_year(pm: PostMortem, doc: markdown.Document, source_path: str, published) -> int | None:
    """The year a date written without one ("March 26", "[03-26 17:40]") most likely means."""
    if pm.started_at:
        return pm.started_at.year
    heading = doc.headings()[0].text if doc.headings() else ""
    for text in (pm.title or "", heading):
        year = datefind.year_in(text)
        if year:
            return year
    if published:
        return published[1].at.year
    file_date = datefind.date_in_file_name(Path(source_path).name)
    if file_date:
        return file_date.year
    for block in doc.blocks[:40]:
        found = datefind.find_datetimes(block.text, limit=1)
        if found:
            return found[0].at.year
    return None


_BETWEEN = re.compile(r"\b(?:between|from)\s", re.I)
_RANGE_DASH = re.compile(r"\s(?:–|—|-|to|until)\s", re.I)
_RANGE_LABEL_WORDS = 3


def _is_time_range(line: str) -> bool:
    """A line that is a date and two clock times and little else: "Window: 2025-02-11 13:05 –
    13:50 UTC", "Timeframe: March 3, 4:06 pm - 4:38 pm (local time)"."""
    if len(line) > 100 or not _RANGE_DASH.search(line):
        return False
    rest = datefind.CLOCK_TIME.sub(" ", datefind.DATE_TIME.sub(" ", line))
    return len(re.findall(r"[A-Za-z]{2,}", _RANGE_DASH.sub(" ", rest))) <= _RANGE_LABEL_WORDS


def _incident_windows(doc: markdown.Document, zone, year: int | None) -> list[tuple[datetime, datetime]]:
    """(start, end) of each sentence of the prose that dates a failure from one clock time to
    another ("On 4 May, between 09:12 and 10:40 UTC, requests failed"), in order."""
    windows = []
    for block in doc.blocks:
        if block.kind != "paragraph" or block.quoted:
            continue
        for _, sentence in prose.split_sentences(block.text):
            between = _BETWEEN.search(sentence)
            if between is not None and not prose.failure_in(sentence):
                continue
            if between is None and not _is_time_range(sentence):
                continue
            after = between.end() if between is not None else 0
            days = datefind.find_datetimes(sentence, default_year=year, zone=zone, limit=1)
            clocks = [c for c in datefind.CLOCK_TIME.finditer(sentence, after) if ":" in c.group("time")][:2]
            if not days or len(clocks) < 2 or (between is not None and clocks[0].start() - after > 12):
                continue
            # "between 12:17 and 12:30 UTC": the zone written once holds for both
            at_zone = datefind.zone_of(clocks[0].group("zone") or clocks[1].group("zone"), zone)
            # The day as written: a date alone was read in the text's zone, a date with a time
            # in the time's own.
            written = days[0].at.astimezone(at_zone if days[0].has_time else zone).date()
            day = datetime.combine(written, time(0, 0), tzinfo=at_zone)
            start = datefind.leading_timestamp(sentence[clocks[0].start():], day, zone=at_zone)[0]
            end = datefind.leading_timestamp(sentence[clocks[1].start():], start, zone=at_zone)[0] if start else None
            if start is not None and end is not None and end > start:
                windows.append((start, end))
    return windows


def _window_from_text(pm: PostMortem, windows: list[tuple[datetime, datetime]]) -> None:
    """"On 2023-07-20 between 12:17 and 12:30 UTC all downloads failed" is the text's own
    account of when the incident began (a timeline's first entry is often the change merged
    the day before), and, in a report of one incident, of when it ended. A window more than a
    day from the timeline's start is the text contradicting itself: the timeline stands."""
    if not windows or pm.date_sources.get("started_at") not in (None, "timeline"):
        return
    start, end = windows[0]
    if pm.started_at is not None and abs(start - pm.started_at) > timedelta(days=1):
        return
    pm.started_at, pm.date_sources["started_at"] = start, "text"
    if len(windows) == 1 and pm.date_sources.get("resolved_at") in (None, "timeline"):
        pm.resolved_at, pm.date_sources["resolved_at"] = end, "text"


def _dates_from_text(pm: PostMortem, doc: markdown.Document, zone, year: int | None, published) -> None:
    """Dates of a file without front matter: key lines ("Started: ...", "Incident began at ...
    and ended at ..."), the timeline, a date in the title, the first dated sentence."""
    if published:
        _set_date(pm, "postmortem_published_at", published[1].at, "text")
    for block in doc.blocks:
        if block.kind not in ("paragraph", "item", "table") or block.quoted or (published and block is published[0]):
            continue
        # A table of fields says "Detected | 2025-09-08 10:15 UTC" where prose says "Detected: ...".
        lines = [": ".join(row) for row in block.rows] if block.kind == "table" else block.text.split("\n")
        for line in lines[:20]:
            plain = markdown.plain_text(line)
            if not _DATE_KEY.search(plain[:80]):
                continue
            for found in datefind.find_datetimes(plain, default_year=year, zone=zone, limit=4):
                keys = list(_DATE_KEY.finditer(plain[:found.start]))
                if keys and found.start - keys[-1].end() < 25:
                    _set_date(pm, _field_for(keys[-1].group("key")), found.at,
                              "text" if found.has_time else DAY_ONLY_TEXT)
    dated = [e for e in pm.timeline if e.at is not None]
    if dated:
        marked = next((e.at for e in dated if _marks_start(e.text)), None)
        detection = next((e.at for e in dated if e.kind == "detection"), None)
        # A timeline whose marked start comes after its first report contradicts itself: the
        # entries around midnight kept one date. The start is a day (or two) earlier, else it
        # is the first report.
        if marked and detection and detection < marked:
            rolled = next((marked - timedelta(days=d) for d in (1, 2) if marked - timedelta(days=d) <= detection), None)
            marked = rolled or detection
        _set_date(pm, "started_at", marked or dated[0].at, "timeline")
        mitigation = next((e.at for e in dated if e.kind == "mitigation"), None)
        resolution = next((e.at for e in dated if _END_WORDS.search(e.text)), None) \
            or next((e.at for e in reversed(dated) if e.kind == "resolution"), None)
        _set_date(pm, "detected_at", detection, "timeline")
        _set_date(pm, "mitigated_at", mitigation, "timeline")
        _set_date(pm, "resolved_at", resolution or max(e.at for e in dated), "timeline")
    _window_from_text(pm, _incident_windows(doc, zone, year))
    if pm.started_at is None:
        # A title names the incident's day, or its first and last ("between December 25th
        # and December 30th, 2022").
        in_title = datefind.find_datetimes(pm.title or "", default_year=year, zone=zone, limit=4)
        if in_title:
            _set_date(pm, "started_at", in_title[0].at, "title")
            _set_date(pm, "resolved_at", in_title[-1].at, "title")
    file_date = datefind.date_in_file_name(Path(pm.source_path).name)
    if file_date:
        pm.file_date = file_date
    if pm.started_at is None:
        for block in doc.blocks[:12]:
            if block.kind != "paragraph" or block.quoted or (published and block is published[0]):
                continue
            found = [f for f in datefind.find_datetimes(markdown.plain_text(block.text), default_year=None, zone=zone,
                                                        limit=4)
                     if _could_be_incident_day(f.at, published, file_date)]
            if found:
                _set_date(pm, "started_at", found[0].at, "text" if found[0].has_time else DAY_ONLY_TEXT)
                break


# A post-mortem is written within days of its incident, a public one within weeks: a date
# the prose names long before the text was published is history ("our announcement from
# 20.08.2021"), not the day of this incident.
_HISTORY_BEFORE_PUBLICATION = timedelta(days=60)


def _could_be_incident_day(at: datetime, published, file_date: date | None) -> bool:
    written = published[1].at.date() if published else file_date
    return written is None or at.date() >= written - _HISTORY_BEFORE_PUBLICATION


def parse_notes(pm: PostMortem) -> list[tuple[int | None, str, str]]:
    """(line, kind, detail) of what the parser could not understand in one file: headings
    mapped to no section, headings mapped by meaning, sections found empty, no start date."""
    notes: list[tuple[int | None, str, str]] = []
    for line, text, key, how in pm.headings:
        if key is None and text != pm.title:
            notes.append((line, "unmapped_heading", text))
        elif how == "meaning":
            notes.append((line, "heading_by_meaning", f"{text} -> {key}"))
    for key, section in pm.sections.items():
        if key in _NOTED_SECTIONS and not any(b.kind != "heading" for b in section.blocks):
            notes.append((section.line, "empty_section", f"{section.heading} ({key})"))
    if pm.started_at is None:
        fallback = next((label for label, value in (("detection", pm.detected_at), ("resolution", pm.resolved_at),
                                                     ("publication", pm.postmortem_published_at),
                                                     ("file name", pm.file_date)) if value is not None), None)
        notes.append((None, "no_start_date", "no start date in front matter, timeline or text; "
                      + (f"filed under its {fallback} date" if fallback else "left out of every trend")))
    return notes


_NOTED_SECTIONS = ("summary", "root_causes", "action_items", "timeline", "eval_gap", "mitigation")


def _dates_after_today(pm: PostMortem, now: datetime) -> list[tuple[int | None, str, str]]:
    """Dates read from a free-form text that lie after today (a year mistyped, an example's
    "2077"): not the incident's, so not used; each is a note saying where it came from.
    Front matter is the author's own statement, and lint checks it."""
    notes = []
    for key, label in (("started_at", "start"), ("detected_at", "detection"), ("mitigated_at", "mitigation"),
                       ("resolved_at", "resolution"), ("postmortem_published_at", "publication")):
        value = getattr(pm, key)
        if value is not None and value > now + timedelta(days=1):
            source = pm.date_sources.pop(key, "text")
            setattr(pm, key, None)
            notes.append((None, "future_date", f"{label} date {value:%Y-%m-%d} (from {source}) is after today; "
                                               "not used: check the year"))
    if pm.file_date is not None and pm.file_date > (now + timedelta(days=1)).date():
        notes.append((None, "future_date", f"the date in the file name, {pm.file_date:%Y-%m-%d}, is after today; "
                                           "not used"))
        pm.file_date = None
    return notes


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
