"""The abridged public version of a post-mortem, for customers who noticed.

What happened, who was affected, what we did, and how we will prevent it from happening again;
without prompt diffs, sample outputs, owners, or internal system names (data/external.yaml,
plus the post-mortem's own services and team). A post-mortem with unredacted sensitive data
anywhere in it is refused, with the reason: fix the post-mortem, then export.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from pipelines.postmortems.blame import blame_matches, blamed_people
from pipelines.postmortems.parse import parse_text
from pipelines.postmortems.sensitive import find_sensitive
from pipelines.reports.data import OWNER_NOTE, records
from pipelines.reports.outputs import UnsafeOutputPath, output_path, write_text
from pipelines.reports.redact import SensitiveDataError, describe
from pipelines.warehouse.fingerprints import code_fingerprint, digest

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_URL = re.compile(r"https?://\S+")
# evals/search/x.yaml, configs/prod/support.yaml; not "es/pt" or "and/or"
# Each alternative starts only where a path can start (not after a path character), so a
# long "a.a.a..." is tried once, not at every dot.
_PATH = re.compile(r"(?<![\w/.-])(?:[\w.-]+/){2,}[\w.-]*|(?<![\w/.-])[\w.-]+/[\w-]+\.\w{2,5}\b")
_EVAL_ITEM = re.compile(r"\b(?:eval case|regression eval|regression test|new eval)\b", re.IGNORECASE)
_MD_NOISE = re.compile(r"\*\*|__|^#+[ \t]*|^[ \t]*[-*+][ \t]+|^[ \t]*\d+[.)][ \t]+|^[ \t]*>[ \t]?", re.MULTILINE)
_ACTION_STATUS = {"done": "done", "in-progress": "in progress", "open": "planned"}


PERSON_REPLACEMENT = "a team member"


class ExportRefused(Exception):
    """The post-mortem cannot be exported; the message says why and what to fix."""


@dataclass
class ExternalConfig:
    replacements: dict[str, str] = field(default_factory=dict)
    default_replacement: str = "internal system"
    # People's names (a store's `external: {strip_names: [...]}`): replaced by PERSON_REPLACEMENT.
    people: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | str) -> ExternalConfig:
        path = Path(path)
        if not path.exists():
            return cls()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(data.get("external"), dict):  # a store's emberline.yaml: its `external:` block
            data = data["external"]
        return cls(replacements={str(k): str(v) for k, v in (data.get("replacements") or {}).items()},
                   default_replacement=str(data.get("default_replacement") or cls.default_replacement),
                   people=[str(p) for p in data.get("strip_names") or [] if p])


@dataclass
class ExternalExport:
    exported: dict[str, Path] = field(default_factory=dict)  # incident id -> file
    refused: dict[str, str] = field(default_factory=dict)  # incident id -> reason
    unchanged: list[str] = field(default_factory=list)  # not rendered: as published (`published`)
    fingerprints: dict[str, str] = field(default_factory=dict)  # incident id -> of its inputs


class InternalNames:
    """Replaces internal names in one pass (longest first), so a replacement is never
    matched again and "llm-gateway" wins over "gateway"."""

    def __init__(self, replacements: dict[str, str]):
        self.replacements = {k.lower(): v for k, v in replacements.items() if k.strip()}
        names = sorted(self.replacements, key=len, reverse=True)
        self.pattern = (re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in names) + r")(?![\w-])", re.IGNORECASE)
                        if names else None)

    def __call__(self, text: str) -> str:
        if not self.pattern:
            return text
        return self.pattern.sub(lambda m: self.replacements[m.group(1).lower()], text)

    def found_in(self, text: str) -> list[str]:
        return sorted({m.group(1) for m in self.pattern.finditer(text)}) if self.pattern else []


def _code_span(match: re.Match, default: str) -> str:
    inner = match.group(1)
    # Identifiers, paths, alert and config names are internal; a plain word in backticks is not.
    return default if re.search(r"[/_=:]|\.\w|[A-Za-z]-[A-Za-z]", inner) else inner


def _clean(text: str | None, names: InternalNames, default: str) -> str:
    # Blamed people are among `names` (_internal_names_for), replaced like any internal name.
    text = _CODE_SPAN.sub(lambda m: _code_span(m, default), text or "")
    text = _URL.sub(default, text)
    text = _PATH.sub(default, text)
    text = OWNER_NOTE.sub("", text)
    text = _MD_NOISE.sub("", text)
    text = names(text)
    return re.sub(r"[ \t]+", " ", re.sub(r"\n{3,}", "\n\n", text)).strip()


def _paragraphs(text: str, limit: int = 3) -> str:
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "\n\n".join(paras[:limit])


def _internal_names_for(pm: dict, owners: list[str], config: ExternalConfig) -> InternalNames:
    names = dict(config.replacements)
    # People named in blame phrasing, and the store's own list of names, never reach the public text.
    for person in [*config.people, *blamed_people(pm.get("markdown") or "", config.people)]:
        names.setdefault(person, PERSON_REPLACEMENT)
    for own in [*(pm.get("services") or []), pm.get("team"), *owners]:
        if own and own.lower() not in {n.lower() for n in names}:
            names[own] = config.default_replacement
    return InternalNames(names)


def build_external_postmortem(con: duckdb.DuckDBPyConnection, incident_id: str, config: ExternalConfig) -> str:
    rows = records(con, "SELECT * FROM postmortems WHERE incident_id = ?", [incident_id])
    if not rows:
        raise ExportRefused(f"no incident {incident_id} in the warehouse (ids look like PM-2026-014; "
                            "run `emberline ingest` after adding the file)")
    pm = rows[0]
    found = find_sensitive(pm["markdown"] or "")
    if found:
        raise ExportRefused(f"{incident_id} ({pm['source_path']}) has unredacted sensitive data: {describe(found)}. "
                            "Replace each value with a placeholder such as [EMAIL] (lint rule EL007), re-run "
                            "`emberline ingest`, then export again.")
    actions = records(con, """
        SELECT kind, text, owner, status FROM action_items WHERE incident_id = ? ORDER BY seq""", [incident_id])
    owners = sorted({a["owner"] for a in actions if a["owner"]})
    names = _internal_names_for(pm, owners, config)
    default = config.default_replacement
    sections = parse_text(pm["markdown"] or "", pm["source_path"] or incident_id).postmortem.sections

    what_happened = _paragraphs(_clean(pm["summary"], names, default)) or "We are still writing this up."
    affected = _clean(pm["customer_impact"], names, default)
    if not affected and "impact" in sections:
        affected = _paragraphs(_clean(sections["impact"].text, names, default), 2)
    numbers = []
    if pm["customers_affected"]:
        numbers.append(f"about {pm['customers_affected']:,} customers")
    if pm["requests_affected"]:
        numbers.append(f"about {pm['requests_affected']:,} requests")
    window = ""
    if pm["started_at"] and pm["resolved_at"]:
        window = (f"The incident lasted from {pm['started_at']:%d %B %Y %H:%M} to {pm['resolved_at']:%d %B %Y %H:%M} "
                  "UTC.")

    immediate = [_clean(a["text"], names, default) for a in actions if a["kind"] == "immediate"]
    if not immediate and "mitigation" in sections:
        immediate = [_paragraphs(_clean(sections["mitigation"].text, names, default), 2)]
    if not immediate:  # free-form post-mortems: the timeline's mitigation steps say what we did
        immediate = [_clean(e["text"], names, default) for e in records(con, """
            SELECT text FROM timeline_events WHERE incident_id = ? AND kind IN ('mitigation', 'resolution')
            ORDER BY seq""", [incident_id])][:4]
    if not immediate and pm["mitigated_at"]:
        immediate = [f"We mitigated the impact on {pm['mitigated_at']:%d %B %Y at %H:%M} UTC"
                     + (f" and fully resolved the incident on {pm['resolved_at']:%d %B %Y at %H:%M} UTC."
                        if pm["resolved_at"] else ".")]
    # The eval case gets one plain sentence below; its path and checks are internal.
    prevention = [f"{_clean(a['text'], names, default)} ({_ACTION_STATUS.get(a['status'] or 'open', 'planned')})"
                  for a in actions if a["kind"] == "systemic" and not _EVAL_ITEM.search(a["text"] or "")]
    if pm["new_eval_case_id"] or pm["new_eval_case_checks"]:
        prevention.append("An automated regression test now reproduces this failure and runs before every change "
                          "(done)")

    title = _clean(pm["title"], names, default)
    date = f"{pm['incident_date']:%d %B %Y}" if pm["incident_date"] else "date not recorded"
    parts = [f"# {title}", "", f"*Incident report {incident_id}, {date}*", "",
             "## What happened", "", what_happened, "",
             "## Who was affected", "", " ".join(x for x in [affected, ("That was " + " and ".join(numbers) + ".")
                                                          if numbers else "", window] if x) or "Not recorded.", "",
             "## What we did", ""]
    parts += ([f"- {x}" for x in immediate if x] or ["Not recorded."]) + [""]
    parts += ["## How we will prevent it from happening again", ""]
    parts += ([f"- {x}" for x in prevention if x] or ["We are still deciding on follow-up work."]) + [""]
    text = "\n".join(parts)

    blame = blame_matches(text)
    if blame:
        raise ExportRefused(f"{incident_id}: the public text would contain blame language (line "
                            f"{', '.join(str(line) for line, _ in blame[:5])} of the export): reword the post-mortem "
                            "(lint rule EL006), then export again.")
    leftover = find_sensitive(text)
    if leftover:  # the post-mortem was clean, so this can only come from our own wording
        raise ExportRefused(f"{incident_id}: the export would contain sensitive data ({describe(leftover)})")
    return text


def write_external_postmortem(con: duckdb.DuckDBPyConnection, incident_id: str, out_dir: Path,
                              config: ExternalConfig) -> Path:
    # The path first: an id that is not a safe file name must not decide where anything goes.
    path = output_path(Path(out_dir) / "external", incident_id, ".md")
    text = build_external_postmortem(con, incident_id, config)
    write_text(path, text)
    return path


def external_fingerprints(con: duckdb.DuckDBPyConnection, config: ExternalConfig) -> dict[str, str]:
    """Per post-mortem to export, the fingerprint of everything its public text is made from:
    its row, its action items and timeline events (whole rows), the configuration and the
    code. Taken inside DuckDB, so no post-mortem is loaded to find it unchanged."""
    common = digest(code_fingerprint(), config)
    rows = con.execute("""
        WITH actions AS (SELECT incident_id, count(*) AS n, sum(hash(a)) AS h FROM action_items a GROUP BY ALL),
             events AS (SELECT incident_id, count(*) AS n, sum(hash(e)) AS h FROM timeline_events e GROUP BY ALL)
        SELECT p.incident_id, hash(p)::VARCHAR, actions.n, actions.h::VARCHAR, events.n, events.h::VARCHAR
        FROM postmortems p LEFT JOIN actions USING (incident_id) LEFT JOIN events USING (incident_id)
        WHERE p.publication = 'external' AND p.status = 'published' ORDER BY p.incident_id""").fetchall()
    return {row[0]: digest(common, *row) for row in rows}


def export_external_postmortems(con: duckdb.DuckDBPyConnection, out_dir: Path, config: ExternalConfig, *,
                                published: Mapping[str, str] | None = None) -> ExternalExport:
    """Every published post-mortem marked `publication: external`, except those refused.

    `published`: incident id -> the fingerprint (external_fingerprints) of the inputs its
    published file was made from; an incident whose inputs still have it would be written
    the same, so it is not rendered again and is listed in `unchanged`."""
    result = ExternalExport()
    published = published or {}
    for incident_id, fingerprint in external_fingerprints(con, config).items():
        result.fingerprints[incident_id] = fingerprint
        if published.get(incident_id) == fingerprint:
            result.unchanged.append(incident_id)
            continue
        try:
            result.exported[incident_id] = write_external_postmortem(con, incident_id, out_dir, config)
        except ExportRefused as refused:
            result.refused[incident_id] = str(refused)
        except (UnsafeOutputPath, SensitiveDataError) as refused:  # held back; the others still go out
            result.refused[incident_id] = f"{incident_id}: held back ({refused})"
    return result


def leaked_internal_names(text: str, config: ExternalConfig) -> list[str]:
    """Configured internal names still present in an exported text (for the asset check)."""
    return InternalNames(config.replacements).found_in(text)
