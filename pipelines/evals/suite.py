"""The eval suite: every eval file under the configured folder, indexed by path, file name and
the case ids and incident ids it contains, so a post-mortem's promised case can be found.

A post-mortem names its case the way its author sees the repository
(`evals/support/refund-policy-freshness.yaml`), while the suite folder may be that `evals`
folder or the repository above it, and the case may have become a sample inside a shared
dataset. So a case is found, in this order, by path (either path a suffix of the other, on a
folder boundary), by file name (with or without its extension), or by a case id inside a file.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from pipelines.settings import PROJECT_ROOT, STORE_CONFIG_NAME, load_settings

# What an eval file can be: Inspect datasets (.jsonl, .json, .csv) and tasks (.py), promptfoo
# configs and test files (.yaml, .yml, .json), anything else a team keeps cases in as text.
EVAL_FILE_SUFFIXES = frozenset({".yaml", ".yml", ".json", ".jsonl", ".csv", ".py", ".txt"})
# `logs` is where Inspect writes its logs by default: results, not cases (results.py reads them).
SKIPPED_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", "logs"})
MAX_PARSED_BYTES = 5_000_000  # a larger file is indexed by name only
INCIDENT_ID = re.compile(r"\bPM-\d{4}-\d{2,}\b")
# Keys whose string value names a case: Inspect `id`, promptfoo metadata, our own exports.
CASE_ID_KEYS = frozenset({"id", "case_id", "eval_case_id", "eval_case"})


@dataclass(frozen=True)
class SuiteProblem:
    path: str
    line: int | None
    kind: str  # suite_missing | suite_unreadable | case_file_unreadable | malformed_case_file
    message: str


@dataclass(frozen=True)
class SuiteFile:
    rel_path: str  # posix, relative to the suite root
    case_ids: frozenset[str] = frozenset()
    incident_ids: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return PurePosixPath(self.rel_path).name

    @property
    def stem(self) -> str:
        return PurePosixPath(self.rel_path).stem


@dataclass(frozen=True)
class SuiteMatch:
    rel_path: str
    matched_by: str  # path | file_name | case_id
    case_id: str | None = None


@dataclass
class SuiteIndex:
    root: Path | None
    files: list[SuiteFile] = field(default_factory=list)
    problems: list[SuiteProblem] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        """False when there is no suite to look in: not configured, missing or unreadable.
        Then nothing can be called missing from it."""
        return self.root is not None and not any(
            p.kind in ("suite_missing", "suite_unreadable") for p in self.problems)

    def find(self, promised: str | None) -> SuiteMatch | None:
        return find_case(self, promised)


def normalise_case_ref(text: str | None) -> str:
    """`./evals\\support/x.yaml` -> `evals/support/x.yaml`; quotes and backticks dropped."""
    ref = (text or "").strip().strip("`'\"").replace("\\", "/")
    while ref.startswith("./"):
        ref = ref[2:]
    return ref.strip("/")


def _path_suffix_match(a: str, b: str) -> bool:
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def find_case(index: SuiteIndex, promised: str | None) -> SuiteMatch | None:
    ref = normalise_case_ref(promised)
    if not ref or not index.files:
        return None
    for f in index.files:
        if _path_suffix_match(f.rel_path, ref):
            return SuiteMatch(f.rel_path, "path")
    ref_path = PurePosixPath(ref)
    # Same name, or the same name with another extension (the case moved from YAML to JSONL).
    # With several candidates, the one sharing the most folders with the reference wins.
    candidates = [f for f in index.files if f.name == ref_path.name] or \
                 [f for f in index.files if f.stem == ref_path.stem and ref_path.stem]
    if candidates:
        ref_dirs = set(ref_path.parent.parts)
        best = max(candidates, key=lambda f: (len(ref_dirs & set(PurePosixPath(f.rel_path).parent.parts)),
                                              [-ord(c) for c in f.rel_path]))
        return SuiteMatch(best.rel_path, "file_name")
    for key in (ref, ref_path.name, ref_path.stem):
        for f in index.files:
            if key in f.case_ids:
                return SuiteMatch(f.rel_path, "case_id", key)
    return None


def _walk_values(value, case_ids: set[str], incident_ids: set[str], key: str | None = None) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _walk_values(v, case_ids, incident_ids, str(k).lower())
    elif isinstance(value, list):
        for v in value:
            _walk_values(v, case_ids, incident_ids, key)
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        if key in CASE_ID_KEYS and str(value).strip():
            case_ids.add(str(value).strip())


def _parse_error_line(err: Exception) -> int | None:
    mark = getattr(err, "problem_mark", None)
    if mark is not None:
        return mark.line + 1
    return getattr(err, "lineno", None)


def _read_case_file(path: Path, rel: str) -> tuple[SuiteFile, SuiteProblem | None]:
    try:
        if path.stat().st_size > MAX_PARSED_BYTES:
            return SuiteFile(rel), None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        return SuiteFile(rel), SuiteProblem(rel, None, "case_file_unreadable",
                                            f"{rel}: cannot be read ({err.strerror or err}); indexed by name only")
    case_ids: set[str] = set()
    incident_ids = set(INCIDENT_ID.findall(text))
    suffix = path.suffix.lower()
    problem = None
    try:
        if suffix in (".yaml", ".yml"):
            for document in yaml.safe_load_all(text):
                _walk_values(document, case_ids, incident_ids)
        elif suffix == ".json":
            _walk_values(json.loads(text), case_ids, incident_ids)
        elif suffix == ".jsonl":
            for number, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    try:
                        _walk_values(json.loads(line), case_ids, incident_ids)
                    except json.JSONDecodeError as err:
                        raise ValueError(f"line {number} is not JSON ({err.msg})", number) from err
    except (yaml.YAMLError, json.JSONDecodeError, ValueError) as err:
        line = err.args[1] if isinstance(err, ValueError) and len(err.args) > 1 else _parse_error_line(err)
        reason = err.args[0] if isinstance(err, ValueError) and not isinstance(err, json.JSONDecodeError) \
            else str(err).splitlines()[0]
        problem = SuiteProblem(rel, line, "malformed_case_file",
                               f"{rel}{f':{line}' if line else ''}: not valid {suffix.lstrip('.').upper()} "
                               f"({reason}); found by path and name only")
    return SuiteFile(rel, frozenset(case_ids), frozenset(incident_ids)), problem


def index_suite(root: Path | None) -> SuiteIndex:
    """Every eval file under `root`. Never raises: a missing or unreadable folder, or a file
    that cannot be parsed, becomes a problem with the path and the reason."""
    if root is None:
        return SuiteIndex(None)
    root = Path(root)
    index = SuiteIndex(root)
    if not root.exists():
        index.problems.append(SuiteProblem(str(root), None, "suite_missing",
                                           f"{root}: the eval suite folder does not exist (eval_suite in "
                                           "emberline.yaml or EMBERLINE_EVAL_SUITE); no case can be checked"))
        return index
    if not root.is_dir() or not os.access(root, os.R_OK | os.X_OK):
        index.problems.append(SuiteProblem(str(root), None, "suite_unreadable",
                                           f"{root}: the eval suite is not a readable folder; no case can be "
                                           "checked"))
        return index

    def on_error(err: OSError) -> None:
        rel = Path(err.filename).relative_to(root).as_posix() if err.filename else str(root)
        index.problems.append(SuiteProblem(rel, None, "suite_unreadable",
                                           f"{rel}: cannot be listed ({err.strerror or err}); its eval files "
                                           "are not indexed"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix.lower() not in EVAL_FILE_SUFFIXES:
                continue
            rel = path.relative_to(root).as_posix()
            suite_file, problem = _read_case_file(path, rel)
            index.files.append(suite_file)
            if problem:
                index.problems.append(problem)
    return index


@functools.lru_cache(maxsize=4)
def _cached_index(root: str, root_mtime_ns: int) -> SuiteIndex:
    return index_suite(Path(root))


@functools.lru_cache(maxsize=8)
def _configured_suite(env_suite: str | None, env_store: str | None, config_mtime_ns: int) -> Path | None:
    return load_settings().eval_suite


def configured_suite_index() -> SuiteIndex | None:
    """The configured suite's index, for lint (which checks one file at a time and must not
    read the settings or walk the suite per file). Cached per process, and again whenever the
    settings' inputs or the suite folder itself change; None when no suite is configured."""
    store = os.environ.get("EMBERLINE_POSTMORTEMS")
    config = Path(store) / STORE_CONFIG_NAME if store else PROJECT_ROOT / "data" / "postmortems" / STORE_CONFIG_NAME
    root = _configured_suite(os.environ.get("EMBERLINE_EVAL_SUITE"), store, _mtime(config))
    return None if root is None else _cached_index(str(root), _mtime(root))


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1
