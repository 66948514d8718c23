"""Each post-mortem's promised eval case, found in the suite (or not), and how it did in its
latest run: the rows of eval_case_status, eval_results and eval_issues.

A result is the regression test of an incident when its metadata names the incident
(`incident_id`, which our exports put in every case), or its case id is the one the
post-mortem promised (or the id the case was found under), or, for Inspect, its dataset is
the suite file the promised case was found in and no other incident's case lives there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path, PurePosixPath

import duckdb
import polars as pl

from pipelines.evals import lint as lint_rule
from pipelines.evals.results import EvalResult, read_results
from pipelines.evals.suite import SuiteIndex, index_suite, normalise_case_ref
from pipelines.reports.data import records
from pipelines.warehouse.db import insert_frame

# A regression case "ran recently" when its latest result is at most this old.
RECENT_DAYS = 30

STATUS_SCHEMA = {
    "incident_id": pl.String, "title": pl.String, "team": pl.String, "owner": pl.String, "severity": pl.String,
    "incident_date": pl.Date, "quarter": pl.String, "source_path": pl.String, "promised_case": pl.String,
    "status": pl.String, "matched_by": pl.String, "suite_file": pl.String, "case_id": pl.String,
    "last_run_at": pl.Datetime("us", "UTC"), "last_passed": pl.Boolean, "runs": pl.Int32,
    "result_file": pl.String, "ran_recently": pl.Boolean, "outcome": pl.String,
    "checked_at": pl.Datetime("us", "UTC"),
}
RESULT_SCHEMA = {
    "source_file": pl.String, "framework": pl.String, "run_id": pl.String, "task": pl.String,
    "dataset": pl.String, "ran_at": pl.Datetime("us", "UTC"), "case_id": pl.String, "incident_id": pl.String,
    "linked_by": pl.String, "passed": pl.Boolean, "score": pl.Float64, "model": pl.String,
}
ISSUE_SCHEMA = {
    "source_file": pl.String, "line": pl.Int32, "kind": pl.String, "severity": pl.String, "message": pl.String,
    "recorded_at": pl.Datetime("us", "UTC"),
}
EVAL_TABLES = ("eval_case_status", "eval_results", "eval_issues")


def _sql(name: str) -> str:
    return resources.files("pipelines.evals").joinpath(name).read_text(encoding="utf-8")


def ensure_eval_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_sql("schema.sql"))


def create_eval_views(con: duckdb.DuckDBPyConnection) -> None:
    """The coverage view reads the theme tables: without them (themes never built) it is left
    out, and the report and dashboard say the coverage per theme is not there yet."""
    from pipelines.warehouse.db import table_exists

    if table_exists(con, "themes") and table_exists(con, "theme_assignments"):
        con.execute(_sql("views.sql"))


@dataclass
class EvalSuiteLink:
    status: list[dict]
    results: list[dict]
    issues: list[dict]
    suite: Path | None
    results_folder: Path | None
    checked_at: datetime
    index: SuiteIndex = field(repr=False, default_factory=lambda: SuiteIndex(None))

    def count(self, key: str, value: str) -> int:
        return sum(1 for row in self.status if row[key] == value)

    def summary(self) -> str:
        statuses, outcomes = {}, {}
        for row in self.status:
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
            outcomes[row["outcome"]] = outcomes.get(row["outcome"], 0) + 1
        return describe_eval_state(self.suite is not None, self.results_folder is not None, statuses, outcomes,
                                   len(self.issues))


def describe_eval_state(suite_configured: bool, results_configured: bool, statuses: dict[str, int],
                        outcomes: dict[str, int], issues: int) -> str:
    """One line for the run summary: counts, never 'None', and what to configure."""
    if not suite_configured and not results_configured:
        return "not configured (eval_suite: and eval_results: in the store's emberline.yaml)"
    parts = []
    if suite_configured:
        parts.append(f"{statuses.get('present', 0)} cases present, {statuses.get('missing', 0)} missing, "
                     f"{statuses.get('not_named', 0)} not named")
    if results_configured:
        parts.append(f"{outcomes.get('passing', 0)} passing, {outcomes.get('failing', 0)} failing, "
                     f"{outcomes.get('not_run', 0)} not run")
    if issues:
        parts.append(f"{issues} problem{'s' if issues != 1 else ''} (table eval_issues)")
    return "; ".join(parts)


def summary_from_warehouse(con: duckdb.DuckDBPyConnection, suite_configured: bool,
                           results_configured: bool) -> str | None:
    """The same line, read back from a published warehouse; None before the eval assets ran."""
    from pipelines.warehouse.db import table_exists

    if not all(table_exists(con, t) for t in EVAL_TABLES):
        return None
    statuses = dict(con.execute("SELECT status, count(*) FROM eval_case_status GROUP BY ALL").fetchall())
    outcomes = dict(con.execute("SELECT outcome, count(*) FROM eval_case_status GROUP BY ALL").fetchall())
    issues = con.execute("SELECT count(*) FROM eval_issues").fetchall()[0][0]
    return describe_eval_state(suite_configured, results_configured, statuses, outcomes, issues)


def _case_keys(ref: str | None) -> set[str]:
    ref = normalise_case_ref(ref)
    if not ref:
        return set()
    path = PurePosixPath(ref)
    return {ref, path.name, path.stem}


def _latest_run(results: list[EvalResult]) -> tuple[datetime | None, bool | None, int, str | None]:
    runs: dict[tuple, list[EvalResult]] = {}
    for r in results:
        runs.setdefault((r.source_file, r.run_id), []).append(r)
    if not runs:
        return None, None, 0, None
    epoch = datetime.min.replace(tzinfo=UTC)
    key = max(runs, key=lambda k: (max((r.ran_at or epoch) for r in runs[k]), k[0]))
    latest = runs[key]
    scored = [r.passed for r in latest if r.passed is not None]
    ran_at = max((r.ran_at for r in latest if r.ran_at), default=None)
    return ran_at, (all(scored) if scored else None), len(runs), key[0]


def link_eval_suite(con: duckdb.DuckDBPyConnection, suite: Path | None, results_folder: Path | None, *,
                    now: datetime | None = None, index: SuiteIndex | None = None) -> EvalSuiteLink:
    """Read the suite and the results folder and join them to the warehouse's post-mortems.
    Never raises on bad input: every problem is an issue row with its file and reason."""
    now = now or datetime.now(UTC)
    index = index if index is not None else index_suite(suite)
    results, result_problems = read_results(results_folder)
    issues = [{"source_file": p.path, "line": p.line, "kind": p.kind,
               "severity": "error" if p.kind in ("suite_missing", "suite_unreadable") else "warning",
               "message": p.message, "recorded_at": now} for p in index.problems]
    issues += [{"source_file": p.path, "line": p.line, "kind": p.kind, "severity": p.severity,
                "message": p.message, "recorded_at": now} for p in result_problems]

    postmortems = records(con, """
        SELECT p.incident_id, p.title, p.team, p.severity, p.incident_date, p.quarter, p.source_path,
               p.new_eval_case_id,
               coalesce((SELECT first(a.owner ORDER BY a.seq) FROM action_items a
                         WHERE a.incident_id = p.incident_id AND a.kind = 'eval_case' AND a.owner IS NOT NULL),
                        p.team) AS owner
        FROM postmortems p ORDER BY p.incident_id""")
    known = {pm["incident_id"] for pm in postmortems}

    for f in index.files:
        for unknown in sorted(f.incident_ids - known):
            issues.append({"source_file": f.rel_path, "line": None, "kind": "unknown_incident", "severity": "warning",
                           "message": f"{f.rel_path}: names incident {unknown}, which is not in the post-mortem "
                                      "store (a typo, or a post-mortem not yet written)", "recorded_at": now})
    for source in sorted({r.source_file for r in results if r.incident_id and r.incident_id not in known}):
        names = sorted({r.incident_id for r in results if r.source_file == source and r.incident_id not in known})
        issues.append({"source_file": source, "line": None, "kind": "unknown_incident", "severity": "warning",
                       "message": f"{source}: results name {', '.join(names[:5])}, not in the post-mortem store",
                       "recorded_at": now})

    status_rows = []
    for pm in postmortems:
        promised = normalise_case_ref(pm["new_eval_case_id"]) or None
        match = index.find(promised) if promised and index.readable else None
        if not promised:
            status = "not_named"
        elif not index.readable:
            status = "unchecked"
        else:
            status = "present" if match else "missing"
        status_rows.append({
            "incident_id": pm["incident_id"], "title": pm["title"], "team": pm["team"], "owner": pm["owner"],
            "severity": pm["severity"], "incident_date": pm["incident_date"], "quarter": pm["quarter"],
            "source_path": pm["source_path"], "promised_case": promised, "status": status,
            "matched_by": match.matched_by if match else None, "suite_file": match.rel_path if match else None,
            "case_id": match.case_id if match else None})

    # Which incident each result tests.
    by_case: dict[str, set[str]] = {}
    by_file: dict[str, set[str]] = {}
    for row in status_rows:
        for key in _case_keys(row["promised_case"]) | ({row["case_id"]} if row["case_id"] else set()):
            by_case.setdefault(key, set()).add(row["incident_id"])
        # A file found by path or name is the case itself; one found by a case id inside it is
        # shared with other cases, so its dataset says nothing about which incident a result tests.
        if row["suite_file"] and row["matched_by"] in ("path", "file_name"):
            for key in _case_keys(row["suite_file"]):
                by_file.setdefault(key, set()).add(row["incident_id"])
    linked: dict[str, list[EvalResult]] = {}
    result_rows = []
    for r in results:
        incident, how = None, None
        if r.incident_id in known:
            incident, how = r.incident_id, "metadata"
        elif r.case_id and len(by_case.get(r.case_id, ())) == 1:
            incident, how = next(iter(by_case[r.case_id])), "case_id"
        elif r.dataset:
            owners = set().union(*(by_file.get(k, set()) for k in _case_keys(r.dataset)))
            if len(owners) == 1:
                incident, how = next(iter(owners)), "dataset"
        if incident:
            linked.setdefault(incident, []).append(r)
        result_rows.append({"source_file": r.source_file, "framework": r.framework, "run_id": r.run_id,
                            "task": r.task, "dataset": r.dataset, "ran_at": r.ran_at, "case_id": r.case_id,
                            "incident_id": incident, "linked_by": how, "passed": r.passed, "score": r.score,
                            "model": r.model})

    recent = now - timedelta(days=RECENT_DAYS)
    for row in status_rows:
        ran_at, passed, runs, result_file = _latest_run(linked.get(row["incident_id"], []))
        if runs and passed is not None:
            outcome = "passing" if passed else "failing"
        elif row["status"] == "present" or runs:
            outcome = "not_run"
        else:
            outcome = row["status"]
        row |= {"last_run_at": ran_at, "last_passed": passed, "runs": runs, "result_file": result_file,
                "ran_recently": bool(ran_at and ran_at >= recent), "outcome": outcome, "checked_at": now}
    return EvalSuiteLink(status_rows, result_rows, issues, suite, results_folder, now, index)


def write_eval_tables(con: duckdb.DuckDBPyConnection, link: EvalSuiteLink) -> dict[str, int]:
    """Replace the three tables with this snapshot, and refresh the views."""
    ensure_eval_schema(con)
    counts = {}
    for table, rows, schema in (("eval_case_status", link.status, STATUS_SCHEMA),
                                ("eval_results", link.results, RESULT_SCHEMA),
                                ("eval_issues", link.issues, ISSUE_SCHEMA)):
        con.execute(f"DELETE FROM {table}")
        counts[table] = insert_frame(con, table, pl.DataFrame(rows, schema=schema)
                                     if rows else pl.DataFrame(schema=schema))
    refresh_lint_findings(con, link)
    create_eval_views(con)
    return counts


def refresh_lint_findings(con: duckdb.DuckDBPyConnection, link: EvalSuiteLink) -> None:
    """Ingest lints a post-mortem only when its file changes, but a case can land in the suite
    any day: rewrite the EL012 findings from this snapshot so lint_findings never keeps one
    for a case that now exists (same message, rule and line as `emberline lint`)."""
    con.execute("DELETE FROM lint_findings WHERE rule_id = ?", [lint_rule.RULE_ID])
    missing = [r for r in link.status if r["status"] == "missing"]
    if not missing:
        return
    lines = dict(con.execute("""SELECT incident_id, first(line ORDER BY seq) FROM action_items
                                WHERE kind = 'eval_case' AND line IS NOT NULL GROUP BY ALL""").fetchall())
    con.executemany("""INSERT INTO lint_findings (source_path, incident_id, line, rule_id, rule, severity, message, hint)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                    [[r["source_path"], r["incident_id"], lines.get(r["incident_id"]), lint_rule.RULE_ID,
                      lint_rule.RULE_NAME, lint_rule.SEVERITY, lint_rule.missing_case_message(r["promised_case"],
                                                                                              link.index),
                      lint_rule.HINT] for r in missing])
