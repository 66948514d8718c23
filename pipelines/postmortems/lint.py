"""Lint: what a reviewer would ask of a post-mortem before it is published.

Each rule has a stable id, a severity and a fix hint, so a post-mortem repository can run
`emberline lint` in its own CI or pre-commit hook. Drafts get warnings where a published
post-mortem gets errors for missing sections: a draft is allowed to be unfinished, but it
should still say what is missing.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import timedelta

from pipelines.evals import lint as _eval_case_rule  # EL012: needs the eval suite, so it lives with it
from pipelines.postmortems.model import CATEGORIES, SEVERITIES, STATUSES, ParsedFile, PostMortem
from pipelines.postmortems.sensitive import find_sensitive

POSTMORTEM_DEADLINE = timedelta(hours=72)


@dataclass(frozen=True)
class Rule:
    rule_id: str
    name: str
    severity: str  # error | warning
    hint: str


RULES = {
    r.rule_id: r
    for r in (
        Rule("EL001", "missing-section", "error",
             "Add the section (see data/templates/postmortem.md); write 'None' with a reason if it truly does not apply."),
        Rule("EL002", "root-cause-without-category", "warning",
             "Add '- Category: …' to the cause (one of: " + ", ".join(CATEGORIES) + ")."),
        Rule("EL003", "no-new-eval-case", "error",
             "Name the eval case that would have caught this (e.g. '- Eval case: evals/area/case.yaml') and what it checks: "
             "it turns the incident into a regression test."),
        Rule("EL004", "action-item-without-owner-or-deadline", "error",
             "Give every systemic action item an owning team or role and a deadline (YYYY-MM-DD)."),
        Rule("EL005", "late-postmortem", "warning",
             "Publish post-mortems within 72 hours of resolution; if this one was late, say why in the summary."),
        Rule("EL006", "blame-language", "error",
             "Describe the system or process that allowed the mistake (missing check, unclear runbook, unsafe default), "
             "not the person: post-mortems are blameless."),
        Rule("EL007", "unredacted-sensitive-data", "error",
             "Replace it with a placeholder such as [EMAIL], [PHONE], [API_KEY], [CARD_NUMBER] or [IP_ADDRESS]."),
        Rule("EL008", "timeline-out-of-order", "warning",
             "Order timeline entries by time, or fix the timestamp."),
        Rule("EL009", "front-matter", "warning",
             "Start the file with YAML front matter (id, title, status, severity, dates, team, ai block): "
             "`emberline new \"Title\"` writes one."),
        Rule("EL010", "invalid-field", "warning",
             "Use one of the documented values (README: The post-mortem format)."),
        Rule("EL011", "dates-out-of-order", "warning",
             "started_at <= detected_at <= mitigated_at <= resolved_at; fix the one that is off."),
        Rule(_eval_case_rule.RULE_ID, _eval_case_rule.RULE_NAME, _eval_case_rule.SEVERITY, _eval_case_rule.HINT),
    )
}


@dataclass(frozen=True)
class Finding:
    rule_id: str
    rule: str
    severity: str
    message: str
    hint: str
    source_path: str
    line: int | None
    incident_id: str | None

    def to_dict(self) -> dict:
        return asdict(self)

    def format(self) -> str:
        where = f"{self.source_path}:{self.line}" if self.line else self.source_path
        return f"{where}: {self.severity} {self.rule_id} {self.rule}: {self.message}\n    hint: {self.hint}"


_BLAME_PHRASES = re.compile(
    r"\b(made an? (?:mistake|error|blunder)|careless(?:ly|ness)?|should(?: have|'ve) known|should have caught|"
    r"negligen(?:t|ce)|incompeten(?:t|ce)|sloppy|lazy|did(?:n't| not) bother|human error|(?:was|is) to blame|"
    r"(?:his|her|their) fault|fault of|blame(?:d)? (?:on|for)|screwed up|messed up|dropped the ball|"
    r"failed to (?:notice|check|follow|read|test))\b",
    re.I,
)
# "Dave forgot to…", "engineer Priya pushed…": a person named as the cause. A capitalised word
# before a blame verb counts as a name only if the document never uses it in lower case
# ("Ingest did not…" is a system: the file also says "ingest"), and it is not a tool or vendor.
_PERSON_CAUSE = re.compile(
    r"\b(?:(?:engineer|developer|on-?call|operator|reviewer|intern|teammate|colleague)\s+([A-Z][a-z]+)|"
    r"([A-Z][a-z]{2,})\s+(?:forgot|ignored|overlooked|broke|neglected|skipped|missed|botched|pushed|deployed|"
    r"changed|merged|made an? (?:mistake|error)|accidentally|carelessly|didn't|did not|failed to))\b"
)
# IGNORECASE makes the regex engine compare both cases at every character. Lower-casing the
# text once and searching it case-sensitively finds exactly the same phrases: the pattern is
# in lower case, lower() keeps each character's length and word-ness (except "İ"), and only
# "İ", "ı" and "ſ" match an ASCII letter they do not lower-case to; texts with those take the
# IGNORECASE path.
_BLAME_PHRASES_LOWER = re.compile(_BLAME_PHRASES.pattern)
_FOLDS_TO_ASCII = ("İ", "ı", "ſ")


def _has_blame_phrase(text: str) -> bool:
    if any(ch in text for ch in _FOLDS_TO_ASCII):
        return _BLAME_PHRASES.search(text) is not None
    return _BLAME_PHRASES_LOWER.search(text.lower()) is not None


_NOT_A_PERSON = {
    "The", "This", "That", "These", "Those", "Our", "We", "It", "Its", "They", "Nobody", "Someone", "Everyone",
    "Team", "Nothing", "Which", "When", "Then", "There", "Here", "Who", "What", "Also", "And", "But", "Because",
    "After", "Before", "While", "Once", "Since", "Grafana", "PagerDuty", "Langfuse", "Datadog", "Slack", "Jira",
    "GitHub", "Github", "OpenAI", "Anthropic", "Google", "Gemini", "Claude", "Kubernetes", "Sentry", "Redis",
    "Postgres", "Azure", "Bedrock", "Vertex", "Airflow", "Dagster", "Terraform", "Cloudflare", "Nobody",
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "January",
    "February", "March", "April", "June", "July", "August", "September", "October", "November", "December",
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Mon", "Tue", "Wed", "Thu",
    "Fri", "Sat", "Sun", "Today", "Yesterday", "Tomorrow",
}

# "Monitoring", "Deployment", "Validation": process nouns, not people's names.
_SYSTEM_NOUN_ENDINGS = ("ing", "tion", "ment", "ness", "ity", "ance", "ence", "ure", "ics")


def blame_matches(text: str, first_line: int = 1) -> list[tuple[int, str]]:
    # Neither pattern has anchors or lookbehinds, so one that matches in a line also matches
    # in the whole text: a single search rules out the blameless majority of files before the
    # per-line walk (which costs a word scan of the whole text besides).
    if not _has_blame_phrase(text) and _PERSON_CAUSE.search(text) is None:
        return []
    found = []
    lower_words = set(re.findall(r"\b[a-z][a-z]+\b", text))
    in_fence = False
    for offset, line in enumerate(text.split("\n")):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if in_fence or line.lstrip().startswith(">"):
            continue  # quoted model outputs and prompts are evidence, not the authors' words
        for m in _BLAME_PHRASES.finditer(line):
            found.append((first_line + offset, m.group(0)))
        for m in _PERSON_CAUSE.finditer(line):
            name = m.group(1) or m.group(2)
            if (name and name not in _NOT_A_PERSON and name.lower() not in lower_words
                    and not name.endswith(_SYSTEM_NOUN_ENDINGS)):
                found.append((first_line + offset, m.group(0)))
    return found


def lint_parsed(parsed: ParsedFile) -> list[Finding]:
    """All findings for one parsed file (nothing for a file that did not load)."""
    pm = parsed.postmortem
    if pm is None:
        return []
    findings: list[Finding] = []

    def add(rule_id: str, message: str, line: int | None, severity: str | None = None) -> None:
        rule = RULES[rule_id]
        findings.append(Finding(rule_id, rule.name, severity or rule.severity, message, rule.hint,
                                pm.source_path, line, pm.incident_id))

    is_draft = pm.status == "draft"
    if not pm.has_front_matter:
        add("EL009", "no YAML front matter: id, dates, severity and the ai block are unknown", 1)
    for field, allowed, value in (("severity", SEVERITIES, pm.severity), ("status", STATUSES, pm.status),
                                  ("publication", ("internal", "external"), pm.publication)):
        if value is not None and value not in allowed:
            add("EL010", f"{field} '{value}' is not one of {', '.join(allowed)}", pm.field_lines.get(field))

    for key in pm.missing_sections:
        if key == "new_eval_case":
            continue  # its own rule, EL003
        section = pm.sections.get(key)
        what = "is empty" if section is not None else "is missing"
        add("EL001", f"section '{key.replace('_', ' ')}' {what}", section.line if section else None,
            "warning" if is_draft else None)

    for cause in pm.root_causes:
        if cause.category_source != "explicit":
            guess = f" (looks like '{cause.category}')" if cause.category else ""
            add("EL002", f"root cause '{cause.title}' has no category{guess}", cause.line)

    if not (pm.new_eval_case_id or pm.new_eval_case_checks):
        add("EL003", "no new eval case: nothing turns this incident into a regression test",
            pm.sections["new_eval_case"].line if "new_eval_case" in pm.sections else None,
            "warning" if is_draft else None)

    for message, line in _eval_case_rule.findings_against_configured_suite(pm):
        add(_eval_case_rule.RULE_ID, message, line)

    for item in pm.action_items:
        if item.kind != "systemic":
            continue
        missing = [name for name, value in (("owner", item.owner), ("deadline", item.deadline)) if not value]
        if missing:
            add("EL004", f"action item '{_short(item.text)}' has no {' or '.join(missing)}", item.line,
                "warning" if is_draft else None)

    if pm.resolved_at and pm.postmortem_published_at:
        lag = pm.postmortem_published_at - pm.resolved_at
        if lag > POSTMORTEM_DEADLINE:
            add("EL005", f"published {lag.total_seconds() / 3600:.0f} hours after resolution (limit 72)",
                pm.field_lines.get("postmortem_published_at"))

    body_start = _body_start(pm)
    for line, phrase in blame_matches(pm.markdown.split("\n", body_start - 1)[-1] if body_start > 1 else pm.markdown,
                                      body_start):
        add("EL006", f"blame language: '{phrase}'", line)

    for match in find_sensitive(pm.markdown):
        add("EL007", f"unredacted {match.kind.replace('_', ' ')} '{match.masked}'", match.line)

    previous = None
    for event in pm.timeline:
        if event.at is None:
            continue
        if previous is not None and event.at < previous.at:
            add("EL008", f"timeline entry at {event.at:%Y-%m-%d %H:%M} comes after one at {previous.at:%Y-%m-%d %H:%M}",
                event.line)
        previous = event

    stamps = [(n, getattr(pm, n)) for n in ("started_at", "detected_at", "mitigated_at", "resolved_at")]
    known = [(n, v) for n, v in stamps if v is not None]
    for (name_a, a), (name_b, b) in zip(known, known[1:]):
        if b < a:
            add("EL011", f"{name_b} ({b:%Y-%m-%d %H:%M}) is before {name_a} ({a:%Y-%m-%d %H:%M})",
                pm.field_lines.get(name_b))
    return findings


def _body_start(pm: PostMortem) -> int:
    """First line after the front matter: blame rules read prose, not YAML keys."""
    if not pm.has_front_matter:
        return 1
    lines = pm.markdown.split("\n")
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return i + 2
    return 1


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
