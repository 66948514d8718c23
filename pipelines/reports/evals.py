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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from pipelines.postmortems.sensitive import find_sensitive
from pipelines.reports.data import records, relation_exists, themes_available
from pipelines.reports.outputs import ensure_inside, write_text
from pipelines.reports.redact import describe, mask_sensitive
from pipelines.warehouse.fingerprints import code_fingerprint, digest

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
    rendered: int = 0  # incidents whose pieces were rendered (the others came from the cache)


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


def _incident_inputs(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per incident, in incident order, everything its eval case and stub are made from (raw,
    not yet masked): its post-mortem's fields, its themes, samples, gap analysis and whether
    its named case is missing from the eval suite. One incident's case depends on nothing
    else, so these inputs are also what its fingerprint is taken over."""
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
    return {pm["incident_id"]: {
        "postmortem": pm, "themes": themes.get(pm["incident_id"], []), "gaps": gap_themes.get(pm["incident_id"], []),
        "samples": samples.get(pm["incident_id"], []), "gap_analysis": gap_analysis.get(pm["incident_id"], []),
        "absent": absent.get(pm["incident_id"])} for pm in records(con, """
            SELECT incident_id, title, severity, team, quarter, status, new_eval_case_id, new_eval_case_checks
            FROM postmortems ORDER BY incident_id""")}


def _incident_records(inputs: dict) -> tuple[dict | None, dict | None]:
    """(case, stub) of one incident, either None when it has none: plain dicts, every text
    masked. An incident whose named case is missing from the suite has both."""
    pm, absent = inputs["postmortem"], inputs["absent"]
    incident_themes, incident_gaps = inputs["themes"], inputs["gaps"]
    examples = [mask_sensitive(text) for text in inputs["samples"]]
    common = {
        "incident_id": pm["incident_id"],
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
    stub = None
    if not (pm["new_eval_case_id"] or pm["new_eval_case_checks"]) or absent:
        stub = common | {
            "team": pm["team"], "status": pm["status"],
            "owner": absent["owner"] if absent else pm["team"],
            "promised_case": pm["new_eval_case_id"],
            "reason": "named but not in the eval suite" if absent else "no eval case named",
            "expected_behaviour": mask_sensitive(pm["new_eval_case_checks"] or "") or None,
            "gap_analysis": mask_sensitive(" ".join(inputs["gap_analysis"])) or None,
        }
        if not absent:
            return None, stub
    return common | {
        "other_themes": [t["theme_id"] for t in incident_themes[1:]],
        "eval_case_id": pm["new_eval_case_id"],
        "expected_behaviour": mask_sensitive(pm["new_eval_case_checks"] or "") or None,
    }, stub


def eval_case_records(con: duckdb.DuckDBPyConnection) -> tuple[list[dict], list[dict]]:
    """(cases, incidents without one): plain dicts, every text already masked."""
    cases, missing = [], []
    for inputs in _incident_inputs(con).values():
        case, stub = _incident_records(inputs)
        cases += [case] if case else []
        missing += [stub] if stub else []
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


def _promptfoo_test(case: dict, *, stub: bool) -> dict:
    asserts = [{"type": "llm-rubric", "value": _expected(case, stub=stub)}]
    asserts += [{"type": "not-icontains", "value": example} for example in case["failing_examples"]]
    return {
        "description": f"{case['incident_id']}: {case['title']}",
        "vars": {"input": _input(case), "incident_id": case["incident_id"]},
        "assert": asserts,
        "metadata": _metadata(case, stub=stub),
    }


def promptfoo_config(cases: list[dict], *, stub: bool = False) -> dict:
    what = "Ready-to-fill stubs for the incidents still without an eval case" if stub \
        else "Regression eval cases, one per incident"
    return {"description": f"emberline: {what} (add providers, or pass --providers)",
            "prompts": ["{{input}}"], "tests": [_promptfoo_test(case, stub=stub) for case in cases]}


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


class _CaseDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml when present: 10x faster
    """Multi-line texts (quoted model outputs) as literal blocks, the way a person writes them."""


_CaseDumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def _yaml(config: dict) -> str:
    # No line folding, so the file's scan sees each value whole.
    return yaml.dump(config, Dumper=_CaseDumper, sort_keys=False, allow_unicode=True, width=1_000_000)


# Each file is a head and one piece per incident, in incident order: an incident's pieces
# depend on its own inputs only, so a run renders again just the incidents whose inputs
# changed (write_eval_exports with a cache) and the files are the same bytes as a full render.


def _file_names(formats) -> list[tuple[str, str, bool]]:
    """(format, file name, stub?) of every file the formats write."""
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"unknown eval export format '{fmt}': one of {', '.join(FORMATS)}")
    return [(fmt, names[fmt], stub) for fmt in formats for names, stub in ((CASE_FILES, False), (STUB_FILES, True))]


def _piece(fmt: str, row: dict, *, stub: bool) -> str:
    if fmt == "inspect":
        return _jsonl(inspect_samples([row], stub=stub))
    if fmt == "promptfoo":
        return _yaml([_promptfoo_test(row, stub=stub)])  # a one-item block list: the lines under `tests:`
    return _jsonl([row])


def _head(fmt: str, *, stub: bool, empty: bool) -> str:
    if fmt != "promptfoo":
        return ""
    config = promptfoo_config([], stub=stub)
    return _yaml(config) if empty else _yaml({k: v for k, v in config.items() if k != "tests"}) + "tests:\n"


def _assemble(entries: list[dict], formats) -> dict[str, str]:
    """File name -> content, from the incidents' entries (_incident_entry) in incident order."""
    files = {}
    for fmt, name, stub in _file_names(formats):
        pieces = [entry["pieces"][name] for entry in entries if name in entry["pieces"]]
        files[name] = _head(fmt, stub=stub, empty=not pieces) + "".join(pieces)
    return files


def _incident_entry(inputs: dict, formats) -> dict:
    """One incident's pieces of each file and why a row of it is held back (if one is)."""
    case, stub = _incident_records(inputs)
    held_case: dict[str, str] = {}
    held_stub: dict[str, str] = {}
    rows = {False: _publishable([case] if case else [], held_case), True: _publishable([stub] if stub else [], held_stub)}
    pieces = {name: _piece(fmt, rows[is_stub][0], stub=is_stub)
              for fmt, name, is_stub in _file_names(formats) if rows[is_stub]}
    return {"pieces": pieces, "case": bool(rows[False]), "stub": bool(rows[True]),
            "held_case": list(held_case.items()), "held_stub": list(held_stub.items())}


def render_exports(cases: list[dict], missing: list[dict], formats=FORMATS) -> dict[str, str]:
    """File name -> content, for the chosen formats."""
    entries = [{"pieces": {name: _piece(fmt, row, stub=stub)}} for fmt, name, stub in _file_names(formats)
               for row in (missing if stub else cases)]
    return _assemble(entries, formats)


def _load_cache(path: Path | None, formats) -> dict[str, dict]:
    if path is None or not Path(path).is_file():
        return {}
    try:
        cache = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # unreadable: render every incident, as a first run does
    if not isinstance(cache, dict) or cache.get("code") != code_fingerprint() or cache.get("formats") != list(formats):
        return {}
    return cache.get("incidents") or {}


def write_eval_exports(con: duckdb.DuckDBPyConnection, out_dir: Path, formats=FORMATS, *, cache: Path | None = None,
                       clean_copies: Mapping[str, str] | None = None) -> EvalExport:
    """Write the chosen formats (all by default). Every file is scanned as it is written
    (write_text): one that would carry unredacted sensitive data raises SensitiveDataError and
    is not written.

    With `cache` (a file of this function's own), each incident's pieces are kept with the
    fingerprint of its inputs, and only incidents whose inputs (or the code) changed are
    rendered again; the files are the same bytes either way. `clean_copies` (file name -> a
    version of that file known to be clean, the published one) narrows each file's scan to
    what differs from it."""
    formats = list(formats)
    _file_names(formats)  # an unknown format fails before anything is read
    cached, entries, rendered = _load_cache(cache, formats), [], 0
    for incident_id, inputs in _incident_inputs(con).items():
        fingerprint = digest(inputs)
        entry = cached.get(incident_id)
        if not entry or entry.get("fingerprint") != fingerprint:
            entry = _incident_entry(inputs, formats) | {"fingerprint": fingerprint}
            rendered += 1
        entries.append((incident_id, entry))
    held_back = dict(item for _, e in entries for item in e["held_case"]) 
    held_back |= dict(item for _, e in entries for item in e["held_stub"])
    out_dir = Path(out_dir)
    files = _assemble([e for _, e in entries], formats)
    changed = False
    paths = {name: out_dir / name for name in files}  # fixed names, checked to stay inside anyway
    for path in paths.values():
        ensure_inside(out_dir, path)
    for name, text in files.items():
        changed = write_text(paths[name], text, (clean_copies or {}).get(name)) or changed
    if cache is not None and (rendered or len(entries) != len(cached)):
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        with Path(cache).open("w", encoding="utf-8") as out:  # streamed: no second copy of every piece
            json.dump({"code": code_fingerprint(), "formats": formats, "incidents": dict(entries)}, out,
                      ensure_ascii=False)
    first = next(iter(files))
    return EvalExport(paths.get(EVAL_CASES_FILE, paths[first]), paths.get(MISSING_FILE, paths[first]),
                      sum(e["case"] for _, e in entries), sum(e["stub"] for _, e in entries), changed, paths,
                      held_back, rendered)
