"""What the parser sees in one file, line by line: `emberline explain FILE`.

A team whose field came back empty needs to see why: which headings were mapped to which
section (and how: the store's alias, a rule, the meaning), what was read from each, where the
dates came from, and what was not understood. Plain text, never "None": an absent value says
what is missing instead.
"""

from __future__ import annotations

from pipelines.postmortems.model import ParsedFile

_HOW = {"alias": "store alias", "rule": "rule", "meaning": "by meaning", "parent": "inside its parent",
        "none": "not mapped"}
_DATE_LABELS = (("started_at", "started"), ("detected_at", "detected"), ("mitigated_at", "mitigated"),
                ("resolved_at", "resolved"), ("postmortem_published_at", "post-mortem published"))


def _at(line: int | None) -> str:
    return f"line {line}" if line else "no line"


def explain(parsed: ParsedFile, converter: str | None = None) -> str:
    out: list[str] = [f"file: {parsed.source_path}"]
    if converter and converter != "markdown":
        out.append(f"read as: converted to Markdown by {converter}")
    for problem in parsed.problems:
        out.append(f"  {problem.severity}: {_at(problem.line)}: {problem.message}")
    pm = parsed.postmortem
    if pm is None:
        out.append("not loaded: see the problems above")
        return "\n".join(out)
    out += [f"id: {pm.incident_id}", f"title: {pm.title}",
            f"front matter: {'yes' if pm.has_front_matter else 'no (fields come from the text)'}",
            f"completeness: {pm.completeness:.0%}"
            + (f" (missing: {', '.join(pm.missing_sections)})" if pm.missing_sections else "")]

    out.append("\ndates (UTC):")
    for key, label in _DATE_LABELS:
        value = getattr(pm, key)
        if value is None:
            out.append(f"  {label}: not found")
        else:
            out.append(f"  {label}: {value:%Y-%m-%d %H:%M} (from {pm.date_sources.get(key, 'front matter')})")
    if pm.file_date is not None and pm.started_at is None:
        out.append(f"  date in the file name: {pm.file_date.isoformat()} (used when nothing else dates it)")

    out.append("\nheadings:")
    if not pm.headings:
        out.append("  none: the whole text is read as prose")
    for line, text, key, how in pm.headings:
        if key is None and text == pm.title:
            out.append(f"  line {line}: {text!r} -> the title")
        else:
            out.append(f"  line {line}: {text!r} -> {key or 'no section'} ({_HOW.get(how, how)})")

    out.append(f"\nroot causes ({len(pm.root_causes)}):")
    for cause in pm.root_causes:
        category = f"{cause.category} ({cause.category_source})" if cause.category else "no category"
        out.append(f"  {_at(cause.line)}: {cause.title} [{category}]")
    out.append(f"\naction items ({len(pm.action_items)}):")
    for item in pm.action_items:
        status = item.status or "status unknown"
        owner = f", owner {item.owner}" if item.owner else ""
        deadline = f", due {item.deadline.isoformat()}" if item.deadline else ""
        out.append(f"  {_at(item.line)}: [{item.kind}, {status}{owner}{deadline}] {item.text[:160]}")
    out.append(f"\neval gaps ({len(pm.eval_gaps)}):")
    for gap in pm.eval_gaps:
        out.append(f"  {_at(gap.line)}: [{gap.source}] {gap.text[:160]}")
    dated = [e for e in pm.timeline if e.at is not None]
    out.append(f"\ntimeline: {len(pm.timeline)} entries, {len(dated)} with a time")
    for event in pm.timeline[:50]:
        when = f"{event.at:%Y-%m-%d %H:%M}" if event.at else "no time"
        out.append(f"  {_at(event.line)}: {when} [{event.kind}] {event.text[:120]}")

    out.append("\nnot understood:")
    if not pm.notes:
        out.append("  nothing: every heading was mapped and every date found")
    for line, kind, detail in pm.notes:
        out.append(f"  {_at(line)}: {kind.replace('_', ' ')}: {detail}")
    return "\n".join(out)
