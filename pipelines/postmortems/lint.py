"""Lint: what a reviewer would ask of a post-mortem before it is published.

Every rule is declared once, in the registry below: its id, name, severity, the profiles it
applies to, its fix hint and its check. A post-mortem repository runs `emberline lint` in
its own CI or pre-commit hook, so the rules must fit the post-mortems a team already has:

- profile `ai` is for post-mortems that follow the AI template (front matter with an `ai:`
  block, prompt diff, model config, sample outputs, eval case): every rule applies;
- profile `legacy` is for free-form post-mortems written before (or without) the template:
  the template's own sections and fields are not asked for, and a missing summary, timeline,
  root cause or action item is a warning, not an error;
- the store picks one in its `emberline.yaml` (`lint: {profile: ai|legacy|auto}`) and a file
  overrides it with `lint_profile:` in its front matter. `auto`, the default, lints a file with
  the template's front matter as `ai` and any other as `legacy`.

Drafts get warnings where a published post-mortem gets errors for missing sections: a draft
is allowed to be unfinished, but it should still say what is missing. EL000 is not a rule of
the content: it reports a file lint could not read (not UTF-8, broken front matter, missing
path, symlink loop), with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.evals import lint as _eval_case_rule  # EL012: needs the eval suite, so it lives with it
from pipelines.postmortems.blame import BlameDetector, blame_matches  # noqa: F401  (blame_matches re-exported)
from pipelines.postmortems.model import CATEGORIES, ParsedFile, PostMortem
from pipelines.postmortems.policy import (
    FINISHED_ACTION_STATUSES,
    POSTMORTEM_DEADLINE,
    POSTMORTEM_DEADLINE_HOURS,
    SEVERITIES,
    STATUSES,
)
from pipelines.postmortems.sensitive import find_sensitive

PROFILES = ("ai", "legacy")
BOTH = PROFILES
# Sections any post-mortem has, template or not; the rest exist because of the AI template.
CORE_SECTIONS = ("summary", "timeline", "root_causes", "action_items")
FILE_PROBLEM_RULE = ("EL000", "unreadable-file")
DOCS_HINT = "README: The post-mortem format"


@dataclass(frozen=True)
class LintOptions:
    """What lint needs to know about the store: its profile, where its template is (hints
    point there) and the names of its people (for the blame rule)."""

    profile: str = "auto"  # auto | ai | legacy
    template_hint: str = f"the template ({DOCS_HINT})"
    people: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings) -> LintOptions:
        config = settings.store_config or {}
        lint = config.get("lint") if isinstance(config.get("lint"), dict) else {}
        external = config.get("external") if isinstance(config.get("external"), dict) else {}
        people = [str(p) for p in (lint.get("people") or []) + (external.get("strip_names") or []) if p]
        if settings.is_sample_store or "template" in config:
            from pipelines.settings import PROJECT_ROOT

            template = Path(settings.template)
            try:
                template = template.relative_to(PROJECT_ROOT if settings.is_sample_store else settings.postmortems_dir)
            except ValueError:
                pass
            hint = f"the template {template.as_posix()}"
        else:
            hint = f"the template ({DOCS_HINT}; `emberline init` adds one to the store)"
        return cls(settings.lint_profile, hint, tuple(people))


@dataclass(frozen=True)
class Hit:
    message: str
    line: int | None
    severity: str | None = None  # None: the rule's own severity


@dataclass
class LintContext:
    pm: PostMortem
    profile: str
    options: LintOptions
    detector: BlameDetector

    @property
    def is_draft(self) -> bool:
        return self.pm.status == "draft"

    def softened(self, severity: str = "error") -> str:
        """Errors about unfinished content are warnings in drafts and in legacy files."""
        return "warning" if self.is_draft or self.profile == "legacy" else severity


@dataclass(frozen=True)
class Rule:
    rule_id: str
    name: str
    severity: str  # error | warning
    profiles: tuple[str, ...]
    hint: str  # may name {template}
    check: Callable[[LintContext], Iterable[Hit]] = field(repr=False, compare=False)


RULES: dict[str, Rule] = {}


def rule(rule_id: str, name: str, severity: str, hint: str, profiles: tuple[str, ...] = BOTH):
    """Register a check as a lint rule: the one place a rule's id, severity, profiles and
    hint are declared."""
    def register(check: Callable[[LintContext], Iterable[Hit]]):
        if rule_id in RULES:
            raise ValueError(f"lint rule {rule_id} declared twice")
        RULES[rule_id] = Rule(rule_id, name, severity, profiles, hint, check)
        return check
    return register


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


def file_problem(message: str, source_path: str, line: int | None = None, severity: str = "error",
                 hint: str = "The file must be UTF-8 Markdown; front matter, if any, valid YAML.") -> Finding:
    """EL000: a file (or path) lint could not read as a post-mortem."""
    return Finding(FILE_PROBLEM_RULE[0], FILE_PROBLEM_RULE[1], severity, message, hint, source_path, line, None)


# --------------------------------------------------------------------------------------
# The rules


@rule("EL001", "missing-section", "error",
      "Add the section (see {template}); write 'Not applicable' and why if it truly does not apply.")
def _missing_section(ctx: LintContext) -> Iterator[Hit]:
    if ctx.profile == "legacy":
        # Only the sections any post-mortem has, in one finding per file: a free-form
        # post-mortem never had the template's own sections, and four findings that say
        # "missing" about one blog post read as noise.
        missing = [k for k in ctx.pm.missing_sections if k in CORE_SECTIONS]
        if missing:
            yield Hit("no section found for " + ", ".join(k.replace("_", " ") for k in missing)
                      + " (a heading such as 'Root cause' or 'Action items' is recognised)", None, "warning")
        return
    for key in ctx.pm.missing_sections:
        if key == "new_eval_case":
            continue  # its own rule, EL003
        section = ctx.pm.sections.get(key)
        what = "is empty" if section is not None else "is missing"
        yield Hit(f"section '{key.replace('_', ' ')}' {what}", section.line if section else None, ctx.softened())


@rule("EL002", "root-cause-without-category", "warning",
      "Add '- Category: …' to the cause (one of: " + ", ".join(CATEGORIES) + ").", profiles=("ai",))
def _cause_without_category(ctx: LintContext) -> Iterator[Hit]:
    for cause in ctx.pm.root_causes:
        if cause.category_source != "explicit":
            guess = f" (looks like '{cause.category}')" if cause.category else ""
            yield Hit(f"root cause '{_short(cause.title)}' has no category{guess}", cause.line)


@rule("EL003", "no-new-eval-case", "error",
      "Name the eval case that would have caught this (e.g. '- Eval case: evals/area/case.yaml') and what it "
      "checks: it turns the incident into a regression test.", profiles=("ai",))
def _no_eval_case(ctx: LintContext) -> Iterator[Hit]:
    pm = ctx.pm
    if not (pm.new_eval_case_id or pm.new_eval_case_checks):
        yield Hit("no new eval case: nothing turns this incident into a regression test",
                  pm.sections["new_eval_case"].line if "new_eval_case" in pm.sections else None, ctx.softened())


@rule("EL004", "action-item-without-owner-or-deadline", "error",
      "Give every open systemic action item an owning team or role and a deadline (YYYY-MM-DD); a done item "
      "needs only its owner.")
def _action_without_owner(ctx: LintContext) -> Iterator[Hit]:
    hits = []
    for item in ctx.pm.action_items:
        if item.kind != "systemic":
            continue
        finished = (item.status or "").lower() in FINISHED_ACTION_STATUSES
        wanted = (("owner", item.owner),) if finished else (("owner", item.owner), ("deadline", item.deadline))
        missing = [name for name, value in wanted if not value]
        if missing:
            hits.append(Hit(f"action item '{_short(item.text)}' has no {' or '.join(missing)}", item.line,
                            ctx.softened()))
    if ctx.profile == "legacy" and len(hits) > 1:
        # A free-form post-mortem states commitments in prose, rarely with owners: one warning
        # that points at the first, not one per sentence (as for its missing sections).
        lines = ", ".join(str(h.line) for h in hits[:5] if h.line) + (" and more" if len(hits) > 5 else "")
        yield Hit(f"{len(hits)} action items lack an owner or deadline (lines {lines}); the first: "
                  f"{hits[0].message}", hits[0].line, ctx.softened())
        return
    yield from hits


@rule("EL005", "late-postmortem", "warning",
      f"Publish post-mortems within {POSTMORTEM_DEADLINE_HOURS} hours of resolution; if this one was late, say why "
      "in the summary.")
def _late(ctx: LintContext) -> Iterator[Hit]:
    pm = ctx.pm
    if pm.resolved_at and pm.postmortem_published_at:
        lag = pm.postmortem_published_at - pm.resolved_at
        if lag > POSTMORTEM_DEADLINE:
            yield Hit(f"published {lag.total_seconds() / 3600:.0f} hours after resolution "
                      f"(limit {POSTMORTEM_DEADLINE_HOURS})", pm.field_lines.get("postmortem_published_at"))


@rule("EL006", "blame-language", "error",
      "Describe the system or process that allowed the mistake (missing check, unclear runbook, unsafe default), "
      "not the person: post-mortems are blameless.")
def _blame(ctx: LintContext) -> Iterator[Hit]:
    body_start = _body_start(ctx.pm)
    body = ctx.pm.markdown.split("\n", body_start - 1)[-1] if body_start > 1 else ctx.pm.markdown
    for match in ctx.detector.matches(body, body_start):
        yield Hit(f"blame language: '{_short(match.phrase)}'", match.line)


@rule("EL007", "unredacted-sensitive-data", "error",
      "Replace it with a placeholder such as [EMAIL], [PHONE], [API_KEY], [CARD_NUMBER] or [IP_ADDRESS].")
def _sensitive(ctx: LintContext) -> Iterator[Hit]:
    for match in find_sensitive(ctx.pm.markdown):
        yield Hit(f"unredacted {match.kind.replace('_', ' ')} at {match.where}", match.line)


@rule("EL008", "timeline-out-of-order", "warning", "Order timeline entries by time, or fix the timestamp.")
def _timeline_order(ctx: LintContext) -> Iterator[Hit]:
    previous = None
    for event in ctx.pm.timeline:
        if event.at is None:
            continue
        if previous is not None and event.at < previous.at:
            yield Hit(f"timeline entry at {event.at:%Y-%m-%d %H:%M} comes after one at "
                      f"{previous.at:%Y-%m-%d %H:%M}", event.line)
        previous = event


@rule("EL009", "front-matter", "warning",
      "Start the file with YAML front matter (id, title, status, severity, dates, team, ai block), as in "
      "{template}; `emberline new \"Title\"` writes one.", profiles=("ai",))
def _front_matter(ctx: LintContext) -> Iterator[Hit]:
    if not ctx.pm.has_front_matter:
        yield Hit("no YAML front matter: id, dates, severity and the ai block are unknown", 1)


@rule("EL010", "invalid-field", "warning", f"Use one of the documented values ({DOCS_HINT}).")
def _invalid_field(ctx: LintContext) -> Iterator[Hit]:
    pm = ctx.pm
    for name, allowed, value in (("severity", SEVERITIES, pm.severity), ("status", STATUSES, pm.status),
                                 ("publication", ("internal", "external"), pm.publication)):
        if value is not None and value not in allowed:
            yield Hit(f"{name} '{value}' is not one of {', '.join(allowed)}", pm.field_lines.get(name))
    declared = _front_matter_value(pm, "lint_profile")
    if declared is not None and declared not in PROFILES:
        yield Hit(f"lint_profile '{declared}' is not one of {', '.join(PROFILES)}", pm.field_lines.get("lint_profile"))


@rule("EL011", "dates-out-of-order", "warning",
      "started_at <= detected_at <= mitigated_at <= resolved_at; fix the one that is off.")
def _dates_order(ctx: LintContext) -> Iterator[Hit]:
    pm = ctx.pm
    stamps = [(n, getattr(pm, n)) for n in ("started_at", "detected_at", "mitigated_at", "resolved_at")]
    known = [(n, v) for n, v in stamps if v is not None]
    for (name_a, a), (name_b, b) in zip(known, known[1:]):
        if b < a:
            yield Hit(f"{name_b} ({b:%Y-%m-%d %H:%M}) is before {name_a} ({a:%Y-%m-%d %H:%M})",
                      pm.field_lines.get(name_b))


@rule(_eval_case_rule.RULE_ID, _eval_case_rule.RULE_NAME, _eval_case_rule.SEVERITY, _eval_case_rule.HINT)
def _promised_eval_case_missing(ctx: LintContext) -> Iterator[Hit]:
    for message, line in _eval_case_rule.findings_against_configured_suite(ctx.pm):
        yield Hit(message, line)


# --------------------------------------------------------------------------------------


def profile_of(pm: PostMortem, store_profile: str = "auto") -> str:
    """The profile a file is linted with: its own `lint_profile:`, else the store's, else
    `ai` for a file with the template's front matter and `legacy` for any other."""
    declared = _front_matter_value(pm, "lint_profile")
    if declared in PROFILES:
        return declared
    if store_profile in PROFILES:
        return store_profile
    return "ai" if pm.has_front_matter and "ai" in pm.field_lines else "legacy"


def lint_parsed(parsed: ParsedFile, options: LintOptions | None = None) -> list[Finding]:
    """All findings for one parsed file (nothing for a file that did not load). Without
    `options`, those of the store in the current settings."""
    pm = parsed.postmortem
    if pm is None:
        return []
    options = options or default_options()
    ctx = LintContext(pm, profile_of(pm, options.profile), options, _detector(options.people))
    findings: list[Finding] = []
    for registered in RULES.values():
        if ctx.profile not in registered.profiles:
            continue
        hint = registered.hint.replace("{template}", options.template_hint)
        for hit in registered.check(ctx):
            findings.append(Finding(registered.rule_id, registered.name, hit.severity or registered.severity,
                                    hit.message, hint, pm.source_path, hit.line, pm.incident_id))
    return findings


_OPTIONS_CACHE: dict[tuple, LintOptions] = {}


def default_options() -> LintOptions:
    """The current store's options, re-read only when its emberline.yaml changes (ingest lints
    thousands of files in one run)."""
    import os

    from pipelines.settings import STORE_CONFIG_NAME, load_settings

    store = os.environ.get("EMBERLINE_POSTMORTEMS", "")
    try:
        stamp = os.stat(Path(store or ".") / STORE_CONFIG_NAME).st_mtime_ns if store else None
    except OSError:
        stamp = None
    key = (store, stamp, os.environ.get("EMBERLINE_LINT_PROFILE"))
    if key not in _OPTIONS_CACHE:
        _OPTIONS_CACHE.clear()
        _OPTIONS_CACHE[key] = LintOptions.from_settings(load_settings())
    return _OPTIONS_CACHE[key]


_DETECTORS: dict[tuple[str, ...], BlameDetector] = {}


def _detector(people: tuple[str, ...]) -> BlameDetector:
    if people not in _DETECTORS:
        _DETECTORS[people] = BlameDetector(people)
    return _DETECTORS[people]


_FRONT_KEY = re.compile(r"^([A-Za-z_][\w-]*):[ \t]*([^\n#]*)", re.M)


def _front_matter_value(pm: PostMortem, key: str) -> str | None:
    line = pm.field_lines.get(key)
    if not pm.has_front_matter or not line:
        return None
    lines = pm.markdown.split("\n", line)
    m = _FRONT_KEY.match(lines[line - 1]) if len(lines) >= line else None
    return m.group(2).strip().strip("'\"").lower() or None if m else None


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
