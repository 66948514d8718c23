"""Eval results the team already produces, read from the configured results folder.

Inspect AI logs (`*.eval`, and `*.json` logs) are read with inspect-ai's own log reader, so any
log the installed inspect-ai understands is read the way `inspect view` reads it; promptfoo's
JSON output (`promptfoo eval -o results.json`) is read by its documented shape. A file that
is neither, does not parse, or comes from an Inspect version whose log format differs from the
installed one becomes a problem with the file and the reason; every other file is still read.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

RESULT_SUFFIXES = (".eval", ".json")


@dataclass(frozen=True)
class EvalResult:
    source_file: str  # relative to the results folder
    framework: str  # inspect | promptfoo
    run_id: str | None
    task: str | None
    dataset: str | None  # Inspect: the dataset's location or name
    ran_at: datetime | None
    case_id: str | None
    incident_id: str | None  # as the result's metadata names it
    passed: bool | None
    score: float | None
    model: str | None


@dataclass(frozen=True)
class ResultsProblem:
    path: str
    line: int | None
    kind: str  # results_missing | results_unreadable | malformed_results | inspect_version | unknown_results_file
    severity: str  # error: the file's results are not used | warning: used, but look
    message: str


def _parse_time(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, (int, float)):  # promptfoo timestamps in milliseconds
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def installed_inspect() -> tuple[str | None, int | None]:
    """The installed inspect-ai's version and the log format version it writes."""
    try:
        import inspect_ai
        from inspect_ai.log import EvalLog
    except ImportError:
        return None, None
    return inspect_ai.__version__, EvalLog.model_fields["version"].default


def _inspect_header(path: Path) -> dict | None:
    """The log's own header (format version, inspect_ai version), read without inspect-ai, so
    a log it cannot read can still say which version wrote it."""
    try:
        if path.suffix == ".eval":
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                name = "header.json" if "header.json" in names else "_journal/start.json"
                return json.loads(archive.read(name)) if name in names else None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def _looks_like_inspect(data) -> bool:
    return isinstance(data, dict) and "eval" in data and "version" in data


def _looks_like_promptfoo(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("results"), dict) and "results" in data["results"]


def _score_passed(scores) -> tuple[bool | None, float | None]:
    """A sample passes when every scorer gave it full marks (C, 1, True)."""
    if not scores:
        return None, None
    from inspect_ai.scorer import value_to_float

    to_float = value_to_float()
    values: list[float] = []
    for score in scores.values():
        value = score.value
        for v in (value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]):
            try:
                values.append(float(to_float(v)))
            except (TypeError, ValueError):
                continue
    if not values:
        return None, None
    return all(v >= 1.0 for v in values), min(values)


def read_inspect_log(path: Path, rel: str, header: dict | None = None) -> tuple[list[EvalResult], list[ResultsProblem]]:
    version, log_format = installed_inspect()
    header = header if header is not None else _inspect_header(path) or {}
    written_format = header.get("version")
    written_by = ((header.get("eval") or {}).get("packages") or {}).get("inspect_ai")
    origin = (f"written by inspect_ai {written_by or 'unknown'} (log format {written_format or 'unknown'}), "
              f"read with inspect_ai {version} (log format {log_format})")
    if version is None:
        return [], [ResultsProblem(rel, None, "inspect_version", "error",
                                   f"{rel}: an Inspect log, but inspect-ai is not installed; not read")]
    from inspect_ai.log import read_eval_log

    try:
        log = read_eval_log(str(path))
    except Exception as err:  # the reader raises pydantic, zip, JSON and its own errors alike
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        kind = "inspect_version" if written_format not in (None, log_format) else "malformed_results"
        return [], [ResultsProblem(rel, None, kind, "error",
                                   f"{rel}: inspect-ai cannot read this log ({reason[:200]}); {origin}; "
                                   "its results are not used")]
    problems = []
    if written_format is not None and written_format != log_format:
        problems.append(ResultsProblem(rel, None, "inspect_version", "warning",
                                       f"{rel}: {origin}; read, but check its results"))
    if log.status != "success":
        problems.append(ResultsProblem(rel, None, "malformed_results", "warning",
                                       f"{rel}: the eval run ended with status '{log.status}'; samples without "
                                       "a score are not counted"))
    spec = log.eval
    ran_at = _parse_time(getattr(log.stats, "completed_at", None)) or _parse_time(spec.created)
    dataset = spec.dataset.location or spec.dataset.name if spec.dataset else None
    results = []
    for sample in log.samples or []:
        passed, score = _score_passed(sample.scores)
        metadata = sample.metadata or {}
        results.append(EvalResult(rel, "inspect", spec.run_id, spec.task, dataset, ran_at,
                                  None if sample.id is None else str(sample.id),
                                  _incident_of(metadata), passed, score, spec.model))
    return results, problems


def _incident_of(metadata) -> str | None:
    if not isinstance(metadata, dict):
        return None
    value = metadata.get("incident_id") or metadata.get("incident")
    return str(value) if value else None


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def read_promptfoo_output(data: dict, path: Path, rel: str) -> tuple[list[EvalResult], list[ResultsProblem]]:
    summary = data["results"]
    rows = summary.get("results")
    if not isinstance(rows, list):
        return [], [ResultsProblem(rel, None, "malformed_results", "error",
                                   f"{rel}: promptfoo output without a list of results; not used")]
    problems = []
    ran_at = _parse_time(summary.get("timestamp")) or _parse_time(data.get("createdAt"))
    if ran_at is None:
        ran_at = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        problems.append(ResultsProblem(rel, None, "malformed_results", "warning",
                                       f"{rel}: promptfoo output without a timestamp; the file's modification "
                                       "time is used as the run time"))
    run_id = data.get("evalId")
    results, skipped = [], 0
    for row in rows:
        if not isinstance(row, dict):
            skipped += 1
            continue
        test = _mapping(row.get("testCase"))
        metadata = _mapping(test.get("metadata")) | _mapping(row.get("metadata"))
        variables = _mapping(row.get("vars")) or _mapping(test.get("vars"))
        incident = _incident_of(metadata) or _incident_of(variables)
        case_id = metadata.get("case_id") or metadata.get("eval_case_id") or test.get("description") \
            or row.get("description")
        provider = row.get("provider")
        model = provider.get("id") if isinstance(provider, dict) else provider
        success = row.get("success")
        score = row.get("score")
        results.append(EvalResult(rel, "promptfoo", run_id, (data.get("config") or {}).get("description")
                                  if isinstance(data.get("config"), dict) else None, None, ran_at,
                                  str(case_id) if case_id else None, incident,
                                  success if isinstance(success, bool) else None,
                                  float(score) if isinstance(score, (int, float)) else None,
                                  str(model) if model else None))
    if skipped:
        problems.append(ResultsProblem(rel, None, "malformed_results", "warning",
                                       f"{rel}: {skipped} result rows are not objects; skipped"))
    return results, problems


def read_results(folder: Path | None) -> tuple[list[EvalResult], list[ResultsProblem]]:
    """Every result under `folder`. Never raises."""
    if folder is None:
        return [], []
    folder = Path(folder)
    if not folder.exists():
        return [], [ResultsProblem(str(folder), None, "results_missing", "error",
                                   f"{folder}: the eval results folder does not exist (eval_results in "
                                   "emberline.yaml or EMBERLINE_EVAL_RESULTS); no result is read")]
    if not folder.is_dir() or not os.access(folder, os.R_OK | os.X_OK):
        return [], [ResultsProblem(str(folder), None, "results_unreadable", "error",
                                   f"{folder}: the eval results folder is not a readable folder; no result "
                                   "is read")]
    results: list[EvalResult] = []
    problems: list[ResultsProblem] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix not in RESULT_SUFFIXES or name.startswith("."):
                continue
            rel = path.relative_to(folder).as_posix()
            found, trouble = _read_one(path, rel)
            results += found
            problems += trouble
    return results, problems


def _read_one(path: Path, rel: str) -> tuple[list[EvalResult], list[ResultsProblem]]:
    if path.suffix == ".eval":
        return read_inspect_log(path, rel)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        return [], [ResultsProblem(rel, None, "results_unreadable", "error",
                                   f"{rel}: cannot be read ({err.strerror or err}); not used")]
    except UnicodeDecodeError:
        return [], [ResultsProblem(rel, None, "malformed_results", "error", f"{rel}: not UTF-8 text; not used")]
    except json.JSONDecodeError as err:
        return [], [ResultsProblem(rel, err.lineno, "malformed_results", "error",
                                   f"{rel}:{err.lineno}: not valid JSON ({err.msg}); not used")]
    if _looks_like_inspect(data):
        return read_inspect_log(path, rel, data)
    if _looks_like_promptfoo(data):
        return read_promptfoo_output(data, path, rel)
    return [], [ResultsProblem(rel, None, "unknown_results_file", "warning",
                               f"{rel}: neither an Inspect log nor promptfoo JSON output; ignored")]
