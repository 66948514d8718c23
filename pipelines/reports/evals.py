"""One regression eval case per incident, as JSON Lines: the incident becomes a test.

Each line: the incident, its root-cause theme, the failing example the post-mortem recorded
(redacted, and its input when the sample quotes one), the expected behaviour (what the new eval
case checks) and the eval case id or path the post-mortem names. A second file lists the
incidents that still lack an eval case.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.reports.data import records, themes_available
from pipelines.postmortems.sensitive import find_sensitive
from pipelines.reports.outputs import output_path, write_text
from pipelines.reports.redact import describe, mask_sensitive

EVAL_CASES_FILE = "eval_cases.jsonl"
MISSING_FILE = "incidents_without_eval_case.jsonl"

# "User: …", "Query: "…". Answer: …": the input a sample quotes before the bad output.
_INPUT = re.compile(
    r"^\W*(?:user|customer|query|question|input|prompt|q)\W*:\s*(?P<input>.+?)"
    r"(?:(?:→|->|\bbot\b[ \t]*:|\banswer\b[ \t]*:|\bassistant\b[ \t]*:|\boutput\b[ \t]*:|\bresponse\b[ \t]*:)|$)",
    re.IGNORECASE | re.DOTALL)


@dataclass
class EvalExport:
    eval_cases: Path
    missing: Path
    cases: int
    without_case: int
    changed: bool
    held_back: dict[str, str] = field(default_factory=dict)  # incident id -> why it is not in the export


def failing_input(sample: str | None) -> str | None:
    match = _INPUT.match(sample or "")
    return match.group("input").strip().strip('"“”.,; ').strip() or None if match else None


def eval_case_records(con: duckdb.DuckDBPyConnection) -> tuple[list[dict], list[dict]]:
    has_themes = themes_available(con)
    themes: dict[str, list[dict]] = {}
    if has_themes:
        # An incident's theme is its first root cause's (the one the post-mortem leads with).
        for row in records(con, """
                SELECT a.incident_id, a.theme_id, t.name, min(r.seq) AS first_seq
                FROM theme_assignments a
                JOIN root_causes r ON r.cause_id = a.item_id
                JOIN themes t ON t.theme_set = a.theme_set AND t.theme_id = a.theme_id
                WHERE a.theme_set = 'root_cause' AND a.theme_id IS NOT NULL
                GROUP BY ALL ORDER BY a.incident_id, first_seq, a.theme_id"""):
            themes.setdefault(row["incident_id"], []).append({"theme_id": row["theme_id"], "name": row["name"]})
    samples: dict[str, list[str]] = {}
    for row in records(con, "SELECT incident_id, text FROM sample_outputs ORDER BY incident_id, seq"):
        samples.setdefault(row["incident_id"], []).append(row["text"])
    cases, missing = [], []
    for pm in records(con, """
            SELECT incident_id, title, severity, team, quarter, status, new_eval_case_id, new_eval_case_checks
            FROM postmortems ORDER BY incident_id"""):
        if not (pm["new_eval_case_id"] or pm["new_eval_case_checks"]):
            missing.append({"incident_id": pm["incident_id"], "title": mask_sensitive(pm["title"] or ""),
                            "team": pm["team"], "quarter": pm["quarter"], "status": pm["status"]})
            continue
        incident_themes = themes.get(pm["incident_id"], [])
        examples = [mask_sensitive(text) for text in samples.get(pm["incident_id"], [])]
        cases.append({
            "incident_id": pm["incident_id"],
            "title": mask_sensitive(pm["title"] or ""),
            "severity": pm["severity"],
            "quarter": pm["quarter"],
            "theme_id": incident_themes[0]["theme_id"] if incident_themes else None,
            "theme": incident_themes[0]["name"] if incident_themes else None,
            "other_themes": [t["theme_id"] for t in incident_themes[1:]],
            "eval_case_id": pm["new_eval_case_id"],
            "expected_behaviour": mask_sensitive(pm["new_eval_case_checks"] or "") or None,
            "failing_input": next((x for x in map(failing_input, examples) if x), None),
            "failing_examples": examples,
        })
    return cases, missing


def _publishable(rows: list[dict], held_back: dict[str, str]) -> list[dict]:
    """The rows with no sensitive data left after masking (a value in a field published as
    it is, such as severity or a theme name); each other one is held back with the reason,
    so one bad post-mortem never costs the export."""
    kept = []
    for row in rows:
        found = find_sensitive(json.dumps(row, ensure_ascii=False))
        if found:
            incident = mask_sensitive(str(row.get("incident_id") or "an incident"))
            held_back[incident] = (f"{incident}: held back from the eval export, it still has sensitive data "
                                   f"({describe(found)}); fix the post-mortem and re-run")
        else:
            kept.append(row)
    return kept


def write_eval_exports(con: duckdb.DuckDBPyConnection, out_dir: Path) -> EvalExport:
    cases, missing = eval_case_records(con)
    held_back: dict[str, str] = {}
    cases, missing = _publishable(cases, held_back), _publishable(missing, held_back)
    out_dir = Path(out_dir)
    cases_path, missing_path = (output_path(out_dir, Path(name).stem, Path(name).suffix)
                                for name in (EVAL_CASES_FILE, MISSING_FILE))
    as_lines = lambda rows: "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    changed = write_text(cases_path, as_lines(cases))
    changed = write_text(missing_path, as_lines(missing)) or changed
    return EvalExport(cases_path, missing_path, len(cases), len(missing), changed, held_back)
