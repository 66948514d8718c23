"""Regression eval cases, one per incident, in the formats eval frameworks load as they are.

Each case: the incident, its root-cause and eval-gap themes, the failing examples the
post-mortem recorded (redacted, with the input when a sample quotes one), the expected
behaviour (what the new eval case checks) and the eval case the post-mortem names.

- `eval_cases.inspect.jsonl`: an Inspect AI dataset (`json_dataset(...)`): one sample per
  incident with `id`, `input`, `target` (the expected behaviour, for a model-graded scorer)
  and `metadata`.
- `eval_cases.promptfoo.yaml`: a promptfoo config: the prompt `{{input}}`, one test per
  incident with `vars`, an `llm-rubric` assertion (the expected behaviour) and a
  `not-icontains` assertion per failing output, and `metadata`. Add `providers:` (or pass
  `--providers`) and run `promptfoo eval -c eval_cases.promptfoo.yaml`.
- `eval_cases.jsonl`: our own lines, as before.

Incidents still without an eval case (none named, or the named one missing from the eval
suite) get a ready-to-fill stub in the same formats: `eval_case_stubs.inspect.jsonl`,
`eval_case_stubs.promptfoo.yaml` and `incidents_without_eval_case.jsonl`, with the failing
examples and the expected behaviour taken from the gap analysis, and `TODO:` where a person
must fill in. Every text is masked, and every file is scanned again as it is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from pipelines.postmortems.sensitive import find_sensitive
from pipelines.reports.data import records, relation_exists, themes_available
from pipelines.reports.outputs import ensure_inside, write_text
from pipelines.reports.redact import describe, mask_sensitive

FORMATS = ("inspect", "promptfoo", "jsonl")
EVAL_CASES_FILE = "eval_cases.jsonl"
MISSING_FILE = "incidents_without_eval_case.jsonl"
CASE_FILES = {"inspect": "eval_cases.inspect.jsonl", "promptfoo": "eval_cases.promptfoo.yaml",
              "jsonl": EVAL_CASES_FILE}
STUB_FILES = {"inspect": "eval_case_stubs.inspect.jsonl", "promptfoo": "eval_case_stubs.promptfoo.yaml",
              "jsonl": MISSING_FILE}
EXPORT_FILES = tuple(CASE_FILES.values()) + tuple(STUB_FILES.values())
TODO_INPUT = "TODO: the input that produced the failing output (see metadata.failing_outputs)"
TODO_EXPECTED = "TODO: what a correct answer does"

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
    files: dict[str, Path] = field(default_factory=dict)  # file name -> path, every file written
    held_back: dict[str, str] = field(default_factory=dict)  # incident id -> why it is not in the export


def failing_input(sample: str | None) -> str | None:
    match = _INPUT.match(sample or "")
    return match.group("input").strip().strip('"“”.,; ').strip() or None if match else None


def _first_themes(con: duckdb.DuckDBPyConnection, theme_set: str, item_table: str, item_key: str) -> dict[str, list]:
    """Per incident, its themes of one set, the one of its first item first."""
    themes: dict[str, list[dict]] = {}
    for row in records(con, f"""
            SELECT a.incident_id, a.theme_id, t.name, min(r.seq) AS first_seq
            FROM theme_assignments a
            JOIN {item_table} r ON r.{item_key} = a.item_id
            JOIN themes t ON t.theme_set = a.theme_set AND t.theme_id = a.theme_id
            WHERE a.theme_set = ? AND a.theme_id IS NOT NULL
            GROUP BY ALL ORDER BY a.incident_id, first_seq, a.theme_id""", [theme_set]):
        themes.setdefault(row["incident_id"], []).append({"theme_id": row["theme_id"], "name": row["name"]})
    return themes


def eval_case_records(con: duckdb.DuckDBPyConnection) -> tuple[list[dict], list[dict]]:
    """(cases, incidents without one): plain dicts, every text already masked."""
    has_themes = themes_available(con)
    themes = _first_themes(con, "root_cause", "root_causes", "cause_id") if has_themes else {}
    gap_themes = _first_themes(con, "eval_gap", "eval_gaps", "gap_id") if has_themes else {}
    samples: dict[str, list[str]] = {}
    for row in records(con, "SELECT incident_id, text FROM sample_outputs ORDER BY incident_id, seq"):
        samples.setdefault(row["incident_id"], []).append(row["text"])
    gap_analysis: dict[str, list[str]] = {}
    # The gap analysis section first, then each cause's "why evals missed it".
    for row in records(con, """SELECT incident_id, text FROM eval_gaps
                               ORDER BY incident_id, source <> 'analysis', seq"""):
        gap_analysis.setdefault(row["incident_id"], []).append(row["text"])
    # A case the post-mortem names but the eval suite lacks is no regression test yet.
    absent = {r["incident_id"]: r for r in records(con, """
        SELECT incident_id, promised_case, owner FROM eval_case_status WHERE status = 'missing'""")} \
        if relation_exists(con, "eval_case_status") else {}
    cases, missing = [], []
    for pm in records(con, """
            SELECT incident_id, title, severity, team, quarter, status, new_eval_case_id, new_eval_case_checks
            FROM postmortems ORDER BY incident_id"""):
        incident_id = pm["incident_id"]
        incident_themes, incident_gaps = themes.get(incident_id, []), gap_themes.get(incident_id, [])
        examples = [mask_sensitive(text) for text in samples.get(incident_id, [])]
        common = {
            "incident_id": incident_id,
            "title": mask_sensitive(pm["title"] or ""),
            "severity": pm["severity"],
            "quarter": pm["quarter"],
            "theme_id": incident_themes[0]["theme_id"] if incident_themes else None,
            "theme": incident_themes[0]["name"] if incident_themes else None,
            "eval_gap_theme_id": incident_gaps[0]["theme_id"] if incident_gaps else None,
            "eval_gap_theme": incident_gaps[0]["name"] if incident_gaps else None,
            "failing_input": next((x for x in map(failing_input, examples) if x), None),
            "failing_examples": examples,
        }
        if not (pm["new_eval_case_id"] or pm["new_eval_case_checks"]) or incident_id in absent:
            missing.append(common | {
                "team": pm["team"], "status": pm["status"],
                "owner": absent[incident_id]["owner"] if incident_id in absent else pm["team"],
                "promised_case": pm["new_eval_case_id"],
                "reason": "named but not in the eval suite" if incident_id in absent else "no eval case named",
                "expected_behaviour": mask_sensitive(pm["new_eval_case_checks"] or "") or None,
                "gap_analysis": mask_sensitive(" ".join(gap_analysis.get(incident_id, []))) or None,
            })
            if incident_id not in absent:
                continue
        cases.append(common | {
            "other_themes": [t["theme_id"] for t in incident_themes[1:]],
            "eval_case_id": pm["new_eval_case_id"],
            "expected_behaviour": mask_sensitive(pm["new_eval_case_checks"] or "") or None,
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
            incident = str(row.get("incident_id") or "")
            incident = incident if incident and not find_sensitive(incident) else "an incident"
            held_back[incident] = (f"{incident}: held back from the eval export, it still has sensitive data "
                                   f"({describe(found)}); fix the post-mortem and re-run")
        else:
            kept.append(row)
    return kept


# --------------------------------------------------------------------------------------
# Formats


def _metadata(case: dict, *, stub: bool) -> dict:
    keys = ("incident_id", "title", "severity", "quarter", "theme_id", "theme", "eval_gap_theme_id",
            "eval_gap_theme")
    meta = {k: case[k] for k in keys if case.get(k) is not None}
    meta["eval_case_id"] = case.get("eval_case_id") or case.get("promised_case")
    meta["failing_outputs"] = case["failing_examples"]
    meta["expected_behaviour"] = case.get("expected_behaviour")
    if stub:
        meta |= {"stub": True, "owner": case.get("owner"), "reason": case["reason"],
                 "gap_analysis": case.get("gap_analysis")}
    return {k: v for k, v in meta.items() if v is not None}


def _expected(case: dict, *, stub: bool) -> str:
    if case.get("expected_behaviour"):
        return case["expected_behaviour"]
    if stub and case.get("gap_analysis"):
        return f"TODO: turn the gap analysis into the expected behaviour: {case['gap_analysis']}"
    return TODO_EXPECTED


def _input(case: dict) -> str:
    return case.get("failing_input") or TODO_INPUT


def inspect_samples(cases: list[dict], *, stub: bool = False) -> list[dict]:
    """Inspect AI dataset records: `Sample(id, input, target, metadata)` fields."""
    return [{"id": case["incident_id"], "input": _input(case), "target": _expected(case, stub=stub),
             "metadata": _metadata(case, stub=stub)} for case in cases]


def promptfoo_config(cases: list[dict], *, stub: bool = False) -> dict:
    tests = []
    for case in cases:
        asserts = [{"type": "llm-rubric", "value": _expected(case, stub=stub)}]
        asserts += [{"type": "not-icontains", "value": example} for example in case["failing_examples"]]
        tests.append({
            "description": f"{case['incident_id']}: {case['title']}",
            "vars": {"input": _input(case), "incident_id": case["incident_id"]},
            "assert": asserts,
            "metadata": _metadata(case, stub=stub),
        })
    what = "Ready-to-fill stubs for the incidents still without an eval case" if stub \
        else "Regression eval cases, one per incident"
    return {"description": f"emberline: {what} (add providers, or pass --providers)",
            "prompts": ["{{input}}"], "tests": tests}


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


class _CaseDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml when present: 10x faster
    """Multi-line texts (quoted model outputs) as literal blocks, the way a person writes them."""


_CaseDumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def _yaml(config: dict) -> str:
    # No line folding, so the file's scan sees each value whole.
    return yaml.dump(config, Dumper=_CaseDumper, sort_keys=False, allow_unicode=True, width=1_000_000)


def render_exports(cases: list[dict], missing: list[dict], formats=FORMATS) -> dict[str, str]:
    """File name -> content, for the chosen formats."""
    files = {}
    for fmt in formats:
        if fmt == "inspect":
            files[CASE_FILES[fmt]] = _jsonl(inspect_samples(cases))
            files[STUB_FILES[fmt]] = _jsonl(inspect_samples(missing, stub=True))
        elif fmt == "promptfoo":
            files[CASE_FILES[fmt]] = _yaml(promptfoo_config(cases))
            files[STUB_FILES[fmt]] = _yaml(promptfoo_config(missing, stub=True))
        elif fmt == "jsonl":
            files[CASE_FILES[fmt]] = _jsonl(cases)
            files[STUB_FILES[fmt]] = _jsonl(missing)
        else:
            raise ValueError(f"unknown eval export format '{fmt}': one of {', '.join(FORMATS)}")
    return files


def write_eval_exports(con: duckdb.DuckDBPyConnection, out_dir: Path, formats=FORMATS) -> EvalExport:
    """Write the chosen formats (all by default). Every file is scanned as it is written
    (write_text): one that would carry unredacted sensitive data raises SensitiveDataError and
    is not written."""
    cases, missing = eval_case_records(con)
    held_back: dict[str, str] = {}
    cases, missing = _publishable(cases, held_back), _publishable(missing, held_back)
    out_dir = Path(out_dir)
    files = render_exports(cases, missing, formats)
    changed = False
    paths = {name: out_dir / name for name in files}  # fixed names, checked to stay inside anyway
    for path in paths.values():
        ensure_inside(out_dir, path)
    for name, text in files.items():
        changed = write_text(paths[name], text) or changed
    first = next(iter(files))
    return EvalExport(paths.get(EVAL_CASES_FILE, paths[first]), paths.get(MISSING_FILE, paths[first]), len(cases),
                      len(missing), changed, paths, held_back)
