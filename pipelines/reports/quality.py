"""Data-quality findings behind the Dagster asset checks (pipelines/defs/checks.py).

Each function answers one question about the warehouse and names the offenders (incident
ids, or files for ingest failures), so a check can put them in its metadata and a reviewer
knows which post-mortem to open. Thresholds and the meaning of "late" live here; severities
and blocking are Dagster's business and live in checks.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.postmortems.policy import POSTMORTEM_DEADLINE_HOURS
from pipelines.reports.data import records, relation_exists
from pipelines.reports.external import ExternalConfig, leaked_internal_names
from pipelines.reports.redact import describe, scan_files

MAX_UNCLUSTERED_SHARE = 0.10


@dataclass
class QualityResult:
    passed: bool
    summary: str
    offending: list[str] = field(default_factory=list)  # incident ids, or files where there is no incident
    details: dict = field(default_factory=dict)


def _ids(rows: list[dict], key: str = "incident_id") -> list[str]:
    return sorted({r[key] for r in rows if r.get(key)})


def failed_ingest(con: duckdb.DuckDBPyConnection) -> QualityResult:
    rows = records(con, """
        SELECT i.source_path, i.line, i.kind, i.message, s.incident_id AS claimed_id
        FROM ingest_issues i LEFT JOIN source_files s USING (source_path)
        WHERE NOT i.loaded ORDER BY i.source_path""")
    files = sorted({r["source_path"] for r in rows})
    return QualityResult(
        not rows, f"{len(files)} files did not load" if rows else "every file under the store loaded",
        offending=files,
        details={"issues": [{k: r[k] for k in ("source_path", "line", "kind", "message", "claimed_id")}
                            for r in rows[:200]]})


def missing_sections(con: duckdb.DuckDBPyConnection) -> QualityResult:
    """Published (or in-review) post-mortems with a required section missing; drafts are
    listed apart, as they are allowed to be unfinished."""
    rows = records(con, """
        SELECT incident_id, status, missing_sections FROM postmortems
        WHERE len(coalesce(missing_sections, [])) > 0 ORDER BY incident_id""")
    final = [r for r in rows if r["status"] != "draft"]
    return QualityResult(
        not final, f"{len(final)} post-mortems miss required sections ({len(rows) - len(final)} drafts too)",
        offending=_ids(final),
        details={"missing": {r["incident_id"]: r["missing_sections"] for r in final},
                 "drafts": {r["incident_id"]: r["missing_sections"] for r in rows if r["status"] == "draft"}})


def _lint_rule(con: duckdb.DuckDBPyConnection, rule_id: str, what: str) -> QualityResult:
    rows = records(con, """
        SELECT incident_id, source_path, line, message FROM lint_findings WHERE rule_id = ?
        ORDER BY incident_id, line""", [rule_id])
    ids = _ids(rows)
    # Lint messages never repeat a sensitive value (they mask it), so they are safe to show.
    return QualityResult(not rows, f"{len(ids)} post-mortems with {what}" if rows else f"no {what}",
                         offending=ids,
                         details={"findings": [f"{r['source_path']}:{r['line']}: {r['message']}" for r in rows[:200]]})


def blame_language(con: duckdb.DuckDBPyConnection) -> QualityResult:
    return _lint_rule(con, "EL006", "blame language")


def sensitive_data(con: duckdb.DuckDBPyConnection) -> QualityResult:
    return _lint_rule(con, "EL007", "unredacted sensitive data")


def late_postmortems(con: duckdb.DuckDBPyConnection, now: datetime) -> QualityResult:
    """Published later than the deadline after resolution (view late_postmortems), or resolved
    longer ago than that and still unpublished (as of `now`)."""
    late = records(con, "SELECT incident_id, hours_to_postmortem FROM late_postmortems")
    overdue = records(con, """
        SELECT incident_id, resolved_at FROM postmortems
        WHERE postmortem_published_at IS NULL AND resolved_at IS NOT NULL
          AND resolved_at + INTERVAL (postmortem_deadline_hours()) HOUR < ?""", [now])
    ids = sorted(set(_ids(late)) | set(_ids(overdue)))
    hours = POSTMORTEM_DEADLINE_HOURS
    return QualityResult(
        not ids, f"{len(late)} published after {hours} h, {len(overdue)} unpublished past {hours} h",
        offending=ids,
        details={"published_late_hours": {r["incident_id"]: round(r["hours_to_postmortem"], 1) for r in late},
                 "unpublished_overdue": _ids(overdue)})


def action_items_without_owner_or_deadline(con: duckdb.DuckDBPyConnection) -> QualityResult:
    rows = records(con, """
        SELECT action_id, incident_id, text, owner, deadline FROM action_items
        WHERE kind = 'systemic' AND (owner IS NULL OR deadline IS NULL) ORDER BY action_id""")
    return QualityResult(
        not rows, f"{len(rows)} systemic action items without owner or deadline", offending=_ids(rows),
        details={"items": [{"action_id": r["action_id"], "missing": [k for k in ("owner", "deadline") if not r[k]],
                            "text": (r["text"] or "")[:120]} for r in rows[:200]]})


def incidents_without_eval_case(con: duckdb.DuckDBPyConnection) -> QualityResult:
    rows = records(con, "SELECT incident_id, status FROM incidents_without_eval_case ORDER BY incident_id")
    return QualityResult(not rows, f"{len(rows)} incidents are not yet a regression test", offending=_ids(rows),
                         details={"status": {r["incident_id"]: r["status"] for r in rows}})


def embedding_integrity(con: duckdb.DuckDBPyConnection) -> QualityResult:
    """One dimension per model, every vector of that length, no null, NaN or all-zero vector,
    and every theme item embedded."""
    if not relation_exists(con, "embeddings"):
        return QualityResult(False, "no embeddings table")
    per_model = records(con, """
        SELECT model_id, count(*) AS vectors, list(DISTINCT dim ORDER BY dim) AS dims,
               count(*) FILTER (WHERE vector IS NULL) AS null_vectors,
               count(*) FILTER (WHERE vector IS NOT NULL AND len(vector) <> dim) AS wrong_length,
               count(*) FILTER (WHERE list_bool_or(list_transform(vector, lambda x: isnan(x) OR isinf(x)))) AS not_finite,
               count(*) FILTER (WHERE vector IS NOT NULL AND list_sum(list_transform(vector, lambda x: x * x)) = 0)
                   AS zero_vectors
        FROM embeddings GROUP BY model_id ORDER BY model_id""")
    bad = records(con, """
        SELECT DISTINCT i.incident_id, i.item_id FROM theme_items i JOIN embeddings e USING (text_hash)
        WHERE e.vector IS NULL OR len(e.vector) <> e.dim
           OR list_bool_or(list_transform(e.vector, lambda x: isnan(x) OR isinf(x)))
           OR list_sum(list_transform(e.vector, lambda x: x * x)) = 0""") \
        if relation_exists(con, "theme_items") else []
    unembedded = records(con, """
        SELECT i.incident_id, i.item_id FROM theme_items i
        WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.text_hash = i.text_hash)""") \
        if relation_exists(con, "theme_items") else []
    problems = [f"{m['model_id']}: {k.replace('_', ' ')} {m[k]}" for m in per_model
                for k in ("null_vectors", "wrong_length", "not_finite", "zero_vectors") if m[k]]
    problems += [f"{m['model_id']}: several dimensions {m['dims']}" for m in per_model if len(m["dims"]) > 1]
    if unembedded:
        problems.append(f"{len(unembedded)} theme items have no vector")
    return QualityResult(
        not problems and bool(per_model),
        "; ".join(problems) if problems else
        ("no vectors" if not per_model else ", ".join(f"{m['model_id']}: {m['vectors']} vectors of dim {m['dims'][0]}"
                                                      for m in per_model)),
        offending=sorted(set(_ids(bad)) | set(_ids(unembedded))),
        details={"models": {m["model_id"]: {"vectors": m["vectors"], "dims": m["dims"]} for m in per_model},
                 "items": sorted({r["item_id"] for r in bad + unembedded})[:200]})


def unclustered_share(con: duckdb.DuckDBPyConnection, max_share: float = MAX_UNCLUSTERED_SHARE) -> QualityResult:
    if not relation_exists(con, "theme_assignments"):
        return QualityResult(False, "no theme_assignments table")
    sets = records(con, """
        SELECT theme_set, count(*) AS items, count(*) FILTER (WHERE theme_id IS NULL) AS unclustered
        FROM theme_assignments GROUP BY theme_set ORDER BY theme_set""")
    for s in sets:
        s["share"] = s["unclustered"] / s["items"] if s["items"] else 0.0
    over = [s for s in sets if s["share"] > max_share]
    rows = records(con, """
        SELECT theme_set, item_id, incident_id, reason FROM theme_assignments WHERE theme_id IS NULL
        ORDER BY theme_set, item_id""")
    return QualityResult(
        bool(sets) and not over,
        ", ".join(f"{s['theme_set']}: {s['share']:.1%} unclustered ({s['unclustered']}/{s['items']})" for s in sets)
        or "no theme assignments",
        offending=_ids(rows),
        details={"share": {s["theme_set"]: round(s["share"], 4) for s in sets}, "max_share": max_share,
                 "unclustered_items": {r["item_id"]: r["reason"] for r in rows[:200]}})


def outputs_clean(paths: list[Path], external_config: ExternalConfig | None = None,
                  clean_copies: Mapping[Path, str] | None = None) -> QualityResult:
    """Written report or export files: no sensitive data, and for external exports no
    internal names from data/external.yaml. A file with a clean copy (its published version,
    which passed this check) is scanned where it differs from it (scan_files)."""
    leaks = scan_files(paths, clean_copies)
    problems = {path: describe(found) for path, found in leaks.items()}
    if external_config is not None:
        for path in paths:
            names = leaked_internal_names(Path(path).read_text(encoding="utf-8"), external_config)
            if names:
                problems[str(path)] = (problems.get(str(path), "") + " internal names: " + ", ".join(names)).strip()
    return QualityResult(not problems, f"{len(paths)} files checked, {len(problems)} with problems",
                         offending=sorted(problems), details={"problems": problems})
