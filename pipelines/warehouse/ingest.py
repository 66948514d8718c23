"""Incremental, idempotent ingest of the post-mortem store into the warehouse.

A file is re-read only when its size or modification time changed since the last run, and
re-parsed only when its bytes changed, so a re-run over an unchanged store of 10,000 files
costs one stat per file. Rows are replaced per incident; a deleted file's incident goes away.

Every file under the store ends up either as an incident or as an ingest issue. Two files
claiming one id are both reported: the one whose path sorts first keeps the id and loads, the
other does not load until the clash is fixed (ids are the warehouse's primary key, and
silently merging two incidents would corrupt both).
"""

from __future__ import annotations

import functools
import gc
import os
import stat
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from pipelines.postmortems.convert import (DOCX_SUFFIXES, HTML_SUFFIXES, MARKDOWN_SUFFIXES, MAX_EXPORT_BYTES,
                                           WEB_ARCHIVE_SUFFIXES, to_markdown)
from pipelines.postmortems.lint import lint_parsed
from pipelines.postmortems.meaning import seconds_loading
from pipelines.postmortems.model import ParsedFile, Problem
from pipelines.postmortems.parse import content_hash, parse_bytes, parse_text
from pipelines.settings import load_settings
from pipelines.warehouse.db import create_views, insert_frame
from pipelines.warehouse.rows import INCIDENT_TABLES, finding_rows, frame, incident_columns, incident_frames
from pipelines.warehouse.store import StoredFile, discover

DEFAULT_MAX_BYTES = 5_000_000
EXPORT_SUFFIXES = HTML_SUFFIXES | DOCX_SUFFIXES | WEB_ARCHIVE_SUFFIXES
DEFAULT_FILE_SECONDS = 20.0
# Below this many changed files a process pool costs more to start than it saves.
PARALLEL_THRESHOLD = 400


def max_file_bytes() -> int:
    return int(os.environ.get("EMBERLINE_MAX_FILE_BYTES", DEFAULT_MAX_BYTES))


@dataclass
class IngestSummary:
    files_seen: int = 0
    files_read: int = 0
    incidents_loaded: int = 0  # incidents in the warehouse after the run
    incidents_changed: int = 0  # incidents added or updated by this run
    incidents_removed: int = 0
    files_with_errors: int = 0  # files that did not load (each has an ingest issue)
    issues: int = 0  # ingest issue rows in the warehouse after the run
    lint_findings: int = 0
    assets_skipped: int = 0  # images, attachments and other files that are not post-mortems
    changed_ids: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "changed_ids"}


@dataclass
class _FileResult:
    stored: StoredFile
    parsed: ParsedFile
    findings: list
    # The incident the file loads as (None: it does not load). A parse batch sends this and
    # its rows' columns back to the ingesting process, not the parsed post-mortem.
    incident_id: str | None = None


@dataclass
class _ParsedBatch:
    results: list[_FileResult]
    columns: dict[str, dict[str, list]]  # incident_columns of the files that loaded


@functools.lru_cache(maxsize=8)
def _heading_aliases(store: str | None) -> dict[str, str]:
    """The store's heading aliases (its emberline.yaml), read once per process."""
    return load_settings().heading_aliases


def parse_stored(raw: bytes, rel_path: str, max_bytes: int, aliases: dict[str, str]) -> ParsedFile:
    """Parse one stored file's bytes: Markdown directly, other formats converted first.
    Headings no rule knows are classified by meaning (the model loads only then)."""
    suffix = Path(rel_path).suffix.lower()
    if suffix in MARKDOWN_SUFFIXES or not suffix:
        return parse_bytes(raw, rel_path, max_bytes, heading_aliases=aliases, semantic_headings=True)
    converted = to_markdown(raw, suffix, rel_path)
    if converted.text is None:
        return ParsedFile(rel_path, content_hash(raw), None, converted.problems)
    parsed = parse_text(converted.text, rel_path, content_hash(raw), aliases, semantic_headings=True)
    parsed.problems[:0] = converted.problems
    return parsed


def explain_file(path: Path) -> tuple[ParsedFile, str]:
    """One file parsed exactly as ingest would (the store's aliases, conversion), and the
    converter that read it, for `emberline explain`."""
    stat_result = path.stat()
    stored = StoredFile(path.name, path, stat_result.st_size, stat_result.st_mtime_ns)
    result = read_and_parse(stored, max_file_bytes())
    suffix = path.suffix.lower()
    converter = "markdown" if suffix in MARKDOWN_SUFFIXES or not suffix else \
        to_markdown(b"", suffix, path.name).converter
    return result.parsed, converter


def file_seconds_budget() -> float:
    return float(os.environ.get("EMBERLINE_FILE_SECONDS", DEFAULT_FILE_SECONDS))


def _read_regular_file(path: Path, limit: int) -> bytes | None:
    """Up to `limit` bytes, or None when `path` is not a regular file. Opened without
    blocking and checked on the open descriptor, so a FIFO or a device named *.md (even one
    swapped in after the folder was listed) is never waited on."""
    with open(path, "rb", opener=_open_nonblocking) as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return None
        return fh.read(limit)


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def read_and_parse(stored: StoredFile, max_bytes: int) -> _FileResult:
    started, loading_before = time.monotonic(), seconds_loading()
    if Path(stored.rel_path).suffix.lower() in EXPORT_SUFFIXES:
        # HTML and Word exports carry pictures and markup: the converter bounds what it reads
        # after dropping them, so the raw file may be larger than a Markdown post-mortem.
        max_bytes = max(max_bytes, MAX_EXPORT_BYTES)
    try:
        raw = _read_regular_file(stored.abs_path, max_bytes + 1)
    except OSError as err:
        parsed = ParsedFile(stored.rel_path, None, None, [Problem("unreadable", f"cannot read file: {err.strerror}")])
        return _FileResult(stored, parsed, [])
    if raw is None:
        parsed = ParsedFile(stored.rel_path, None, None, [Problem(
            "not_a_file", "not a regular file (a pipe, socket or device); not read")])
        return _FileResult(stored, parsed, [])
    if len(raw) > max_bytes:
        parsed = ParsedFile(stored.rel_path, None, None, [Problem(
            "too_large",
            f"file is {stored.size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit for a post-mortem "
            "(EMBERLINE_MAX_FILE_BYTES raises it); not loaded")])
        return _FileResult(stored, parsed, [])
    try:
        parsed = parse_stored(raw, stored.rel_path, max_bytes,
                              _heading_aliases(os.environ.get("EMBERLINE_POSTMORTEMS")))
        findings = lint_parsed(parsed)
    except Exception as err:  # noqa: BLE001 - one odd file must never stop the run
        parsed = ParsedFile(stored.rel_path, content_hash(raw), None, [Problem(
            "parse_error", f"emberline could not parse this file ({type(err).__name__}); not loaded. "
                           "Please report it with the file attached.")])
        return _FileResult(stored, parsed, [])
    # Every pattern is linear, so no file should come near this; if one does, it is an
    # ingest issue rather than a silent slowdown of every run.
    elapsed = time.monotonic() - started - (seconds_loading() - loading_before)
    budget = file_seconds_budget()
    if elapsed > budget:
        parsed = ParsedFile(stored.rel_path, content_hash(raw), None, [Problem(
            "over_time_budget", f"took {elapsed:.1f} s to parse and lint, over the {budget:g} s a file may take "
                                "(EMBERLINE_FILE_SECONDS); not loaded. Please report it with the file attached.")])
        return _FileResult(stored, parsed, [])
    return _FileResult(stored, parsed, findings)


def _without_cyclic_gc(func):
    """Run `func` with the cyclic garbage collector paused.

    Ingest allocates millions of small objects (parsed files, rows) and frees almost none until
    it returns, so the collector walks them again and again for nothing: it was about a tenth
    of a full load. Nothing here builds reference cycles; any that appear are collected once
    the collector resumes.
    """
    @functools.wraps(func)
    def paused(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
    return paused


@_without_cyclic_gc
def _parse_batch(batch: list[StoredFile], max_bytes: int, ingested_at: datetime) -> _ParsedBatch:
    results = [read_and_parse(s, max_bytes) for s in batch]
    loaded = []
    for result in results:
        pm = result.parsed.postmortem
        if pm is not None:
            result.incident_id = pm.incident_id
            loaded.append(pm)
            # Lint has read it and its rows are in the columns: what goes back is small.
            result.parsed.postmortem = None
    return _ParsedBatch(results, incident_columns(loaded, ingested_at))


def _parse_all(files: list[StoredFile], max_bytes: int, workers: int | None,
               ingested_at: datetime) -> list[_ParsedBatch]:
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1 or len(files) < PARALLEL_THRESHOLD:
        return [_parse_batch(files, max_bytes, ingested_at)]
    # Small batches keep both workers busy to the end (one big last batch would leave a core
    # idle) and bound what each worker holds before pickling it back.
    chunk = max(50, min(200, len(files) // (workers * 4)))
    batches = [files[i:i + chunk] for i in range(0, len(files), chunk)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_parse_batch, batches, [max_bytes] * len(batches), [ingested_at] * len(batches)))


def _rows_to_load(batches: list[_ParsedBatch], loading: set[str]) -> list[tuple[dict, set[str] | None]]:
    """Each batch's columns with the files whose rows to insert from it: those that load, from
    the last batch that parsed them (an unchanged keeper of a clashing id is parsed again)."""
    last = {r.stored.rel_path: i for i, batch in enumerate(batches) for r in batch.results}
    parts = []
    for i, batch in enumerate(batches):
        loaded_here = {r.stored.rel_path for r in batch.results if r.incident_id is not None}
        keep = {p for p in loaded_here if p in loading and last[p] == i}
        parts.append((batch.columns, None if keep == loaded_here else keep))
    return parts


@_without_cyclic_gc
def ingest_store(con: duckdb.DuckDBPyConnection, store: Path, *, workers: int | None = None,
                 now: datetime | None = None) -> IngestSummary:
    """Bring the warehouse in line with the files under `store`."""
    now = now or datetime.now(timezone.utc)
    max_bytes = max_file_bytes()
    assets: list[str] = []
    files, store_problems = discover(Path(store), assets)
    summary = IngestSummary(files_seen=len(files) + len(store_problems) + len(assets), assets_skipped=len(assets))

    known = {row[0]: row[1:] for row in con.execute(
        "SELECT source_path, size, mtime_ns, incident_id, status FROM source_files").fetchall()}
    current = {f.rel_path: f for f in files}
    problem_paths = {p.rel_path for p in store_problems} | set(assets)

    changed = [f for f in files
               if f.rel_path not in known or known[f.rel_path][:2] != (f.size, f.mtime_ns)]
    deleted = [p for p in known if p not in current and p not in problem_paths]
    # Paths with a store problem (loop, unreadable) are re-recorded each run: cheap and rare.
    stale_problem_paths = [p for p in problem_paths]

    batches = _parse_all(changed, max_bytes, workers, now)
    results = {r.stored.rel_path: r for batch in batches for r in batch.results}
    summary.files_read = len(results)

    # A byte-identical file whose mtime moved (a checkout, a touch) needs no rewrite: just
    # remember the new mtime. Note: content_hash of unreadable files is None.
    old_hashes = dict(con.execute("SELECT source_path, content_hash FROM source_files").fetchall()) if results else {}
    touched_only = [p for p, r in results.items()
                    if r.parsed.content_hash is not None and old_hashes.get(p) == r.parsed.content_hash
                    and known[p][3] != "duplicate_rejected" and known[p][3] != "duplicate_kept"]
    for p in touched_only:
        results.pop(p)
    touched_only_set = set(touched_only)

    # Duplicate ids: re-resolve every file whose id is claimed by a changed file, and every
    # file that was part of a clash before (the clash may be over now).
    claimed_now = {r.incident_id for r in results.values() if r.incident_id}
    recheck = [p for p, (_, _, iid, status) in known.items()
               if p in current and p not in results and p not in touched_only_set
               and (status in ("duplicate_kept", "duplicate_rejected") or iid in claimed_now)]
    for batch in _parse_all([current[p] for p in recheck], max_bytes, 1, now):
        batches.append(batch)
        results.update((r.stored.rel_path, r) for r in batch.results)

    claims: dict[str, list[str]] = defaultdict(list)
    for p, (_, _, iid, status) in known.items():
        if p in current and p not in results and iid and status in ("loaded", "duplicate_kept"):
            claims[iid].append(p)
    for p, r in results.items():
        if r.incident_id:
            claims[r.incident_id].append(p)
    status_of: dict[str, str] = {}
    for iid, paths in claims.items():
        if len(paths) == 1:
            continue
        paths.sort()
        keeper, others = paths[0], paths[1:]
        for p in paths:
            if p not in results:  # an unchanged keeper: re-read it so its issues can name the clash
                batches.append(_parse_batch([current[p]], max_bytes, now))
                results[p] = batches[-1].results[0]
        results[keeper].parsed.problems.append(Problem(
            "duplicate_id", f"id {iid} is also claimed by {', '.join(others)}; this file keeps it", None, "warning"))
        status_of[keeper] = "duplicate_kept"
        for p in others:
            results[p].parsed.problems.append(Problem(
                "duplicate_id", f"id {iid} is already claimed by {keeper}; not loaded: give this post-mortem its own id",
                None, "error"))
            status_of[p] = "duplicate_rejected"
            results[p].findings = []

    # Replace rows of every path this run touched.
    touched_paths = list(results) + deleted + stale_problem_paths
    old_ids = [known[p][2] for p in touched_paths if p in known and known[p][2] and known[p][3] != "duplicate_rejected"]
    loading = {p for p, r in results.items() if r.incident_id is not None and status_of.get(p) != "duplicate_rejected"}
    new_ids = [results[p].incident_id for p in sorted(loading)]

    con.execute("BEGIN TRANSACTION")
    try:
        if touched_paths:
            paths_df = pl.DataFrame({"p": touched_paths}, schema={"p": pl.String})
            ids_df = pl.DataFrame({"i": old_ids + new_ids}, schema={"i": pl.String})
            con.register("_paths", paths_df.to_arrow())
            con.register("_ids", ids_df.to_arrow())
            for table in INCIDENT_TABLES:
                con.execute(f"DELETE FROM {table} WHERE incident_id IN (SELECT i FROM _ids)")
            for table in ("lint_findings", "ingest_issues", "source_files"):
                con.execute(f"DELETE FROM {table} WHERE source_path IN (SELECT p FROM _paths)")
            con.unregister("_paths")
            con.unregister("_ids")

        for table, df in incident_frames(_rows_to_load(batches, loading)).items():
            insert_frame(con, table, df)

        findings = [f for p, r in results.items() if status_of.get(p) != "duplicate_rejected" for f in r.findings]
        insert_frame(con, "lint_findings", frame("lint_findings", finding_rows(findings)))

        issue_rows, source_rows = [], []
        for p, r in results.items():
            loaded = p in loading
            for problem in r.parsed.problems:
                issue_rows.append({"source_path": p, "line": problem.line, "kind": problem.kind,
                                   "severity": problem.severity, "loaded": loaded, "message": problem.message,
                                   "recorded_at": now})
            source_rows.append({"source_path": p, "size": r.stored.size, "mtime_ns": r.stored.mtime_ns,
                                "content_hash": r.parsed.content_hash, "incident_id": r.incident_id,
                                "status": status_of.get(p, "loaded" if r.incident_id else "error"), "read_at": now})
        for problem in store_problems:
            issue_rows.append({"source_path": problem.rel_path, "line": None, "kind": problem.kind,
                               "severity": "error", "loaded": False, "message": problem.message, "recorded_at": now})
            source_rows.append({"source_path": problem.rel_path, "size": None, "mtime_ns": None,
                                "content_hash": None, "incident_id": None, "status": "error", "read_at": now})
        for path in assets:
            source_rows.append({"source_path": path, "size": None, "mtime_ns": None, "content_hash": None,
                                "incident_id": None, "status": "skipped_asset", "read_at": now})
        insert_frame(con, "ingest_issues", frame("ingest_issues", issue_rows))
        insert_frame(con, "source_files", frame("source_files", source_rows))
        if touched_only:
            mtimes = pl.DataFrame({"p": touched_only, "m": [current[p].mtime_ns for p in touched_only]})
            con.register("_mtimes", mtimes.to_arrow())
            con.execute("UPDATE source_files SET mtime_ns = _mtimes.m FROM _mtimes WHERE source_path = _mtimes.p")
            con.unregister("_mtimes")
        create_views(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise

    removed = set(old_ids) - set(new_ids)
    summary.incidents_changed = len(new_ids)
    summary.incidents_removed = len(removed)
    summary.changed_ids = sorted(set(new_ids) | removed)
    counts = con.execute("""
        SELECT (SELECT count(*) FROM postmortems),
               (SELECT count(*) FROM source_files WHERE status IN ('error', 'duplicate_rejected')),
               (SELECT count(*) FROM ingest_issues),
               (SELECT count(*) FROM lint_findings)""").fetchall()[0]
    summary.incidents_loaded, summary.files_with_errors, summary.issues, summary.lint_findings = counts
    return summary
