"""Flatten parsed post-mortems into Polars frames shaped like the warehouse tables."""

from __future__ import annotations

from datetime import datetime, time

import polars as pl

from pipelines.postmortems.lint import Finding
from pipelines.postmortems.model import DAY_ONLY_SOURCES, PostMortem

_TS = pl.Datetime("us", "UTC")

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "postmortems": {
        "incident_id": pl.String, "title": pl.String, "status": pl.String, "severity": pl.String,
        "started_at": _TS, "detected_at": _TS, "mitigated_at": _TS, "resolved_at": _TS,
        "postmortem_published_at": _TS, "team": pl.String, "services": pl.List(pl.String),
        "customer_impact": pl.String, "customers_affected": pl.Int64, "requests_affected": pl.Int64,
        "publication": pl.String, "tags": pl.List(pl.String), "summary": pl.String,
        "new_eval_case_id": pl.String, "new_eval_case_checks": pl.String,
        "minutes_to_detect": pl.Float64, "minutes_to_mitigate": pl.Float64, "minutes_to_resolve": pl.Float64,
        "hours_to_postmortem": pl.Float64, "incident_date": pl.Date, "iso_week": pl.String, "quarter": pl.String,
        "completeness": pl.Float64, "missing_sections": pl.List(pl.String), "has_front_matter": pl.Boolean,
        "source_path": pl.String, "content_hash": pl.String, "markdown": pl.String, "ingested_at": _TS,
        "started_at_source": pl.String, "detected_at_source": pl.String, "mitigated_at_source": pl.String,
        "resolved_at_source": pl.String, "published_at_source": pl.String, "incident_date_source": pl.String,
    },
    "parse_notes": {"incident_id": pl.String, "source_path": pl.String, "line": pl.Int32, "kind": pl.String,
                    "detail": pl.String},
    "timeline_events": {"incident_id": pl.String, "seq": pl.Int32, "occurred_at": _TS, "kind": pl.String,
                        "text": pl.String, "line": pl.Int32},
    "root_causes": {"cause_id": pl.String, "incident_id": pl.String, "seq": pl.Int32, "title": pl.String,
                    "category": pl.String, "category_source": pl.String, "description": pl.String,
                    "evals_missed_why": pl.String, "line": pl.Int32},
    "eval_gaps": {"gap_id": pl.String, "incident_id": pl.String, "seq": pl.Int32, "text": pl.String,
                  "source": pl.String, "line": pl.Int32},
    "action_items": {"action_id": pl.String, "incident_id": pl.String, "seq": pl.Int32, "kind": pl.String,
                     "text": pl.String, "owner": pl.String, "deadline": pl.Date, "status": pl.String,
                     "line": pl.Int32},
    "prompt_diffs": {"incident_id": pl.String, "seq": pl.Int32, "before_text": pl.String, "after_text": pl.String,
                     "diff_text": pl.String, "line": pl.Int32},
    "sample_outputs": {"incident_id": pl.String, "seq": pl.Int32, "text": pl.String, "line": pl.Int32},
    "model_configs": {"incident_id": pl.String, "provider": pl.String, "model": pl.String,
                      "model_version": pl.String, "temperature": pl.Float64, "top_p": pl.Float64,
                      "max_tokens": pl.Int32, "system_prompt_version": pl.String,
                      "retrieval_index_version": pl.String},
    "lint_findings": {"source_path": pl.String, "incident_id": pl.String, "line": pl.Int32, "rule_id": pl.String,
                      "rule": pl.String, "severity": pl.String, "message": pl.String, "hint": pl.String},
    "ingest_issues": {"source_path": pl.String, "line": pl.Int32, "kind": pl.String, "severity": pl.String,
                      "loaded": pl.Boolean, "message": pl.String, "recorded_at": _TS},
    "source_files": {"source_path": pl.String, "size": pl.Int64, "mtime_ns": pl.Int64, "content_hash": pl.String,
                     "incident_id": pl.String, "status": pl.String, "read_at": _TS},
}

# Tables filled from post-mortems, keyed by incident_id (deleted by it on change).
INCIDENT_TABLES = ("postmortems", "timeline_events", "root_causes", "eval_gaps", "action_items",
                   "prompt_diffs", "sample_outputs", "model_configs", "parse_notes")
_DATE_FIELDS = (("started_at", "started_at"), ("detected_at", "detected_at"), ("mitigated_at", "mitigated_at"),
                ("resolved_at", "resolved_at"), ("postmortem_published_at", "published_at"))


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else round((b - a).total_seconds() / 60, 1)




def _duration(pm: PostMortem, start: str, end: str) -> float | None:
    """Minutes from `start` to `end`, or unknown: when either end is a bare day (a title's
    date would make every incident last 0 minutes) or the text contradicts itself (the end
    before the start)."""
    if pm.date_sources.get(start) in DAY_ONLY_SOURCES or pm.date_sources.get(end) in DAY_ONLY_SOURCES:
        return None
    minutes = _minutes(getattr(pm, start), getattr(pm, end))
    return None if minutes is None or minutes < 0 else minutes


def _hours_to_postmortem(pm: PostMortem) -> float | None:
    """Hours from resolution to publication, or unknown when the text puts publication first.
    A publication date without a time is that whole day ("Published 18 Nov"): published the day
    the incident was resolved is 0 hours, not the -14.5 h that midnight would give."""
    resolved, published = pm.resolved_at, pm.postmortem_published_at
    if resolved is None or published is None:
        return None
    if published < resolved and published.time() == time(0, 0) and published.date() == resolved.date():
        return 0.0
    lag = _minutes(resolved, published)
    return None if lag < 0 else round(lag / 60, 2)


def _incident_date(pm: PostMortem):
    """(the day the incident is filed under, where that came from): its start, else the first
    other date known, else the date in its file name."""
    for key in ("started_at", "detected_at", "resolved_at", "postmortem_published_at"):
        value = getattr(pm, key)
        if value is not None:
            source = pm.date_sources.get(key, "front matter")
            label = {"detected_at": "detection", "resolved_at": "resolution",
                     "postmortem_published_at": "publication"}.get(key)
            return value.date(), source if label is None else f"{label} date ({source})"
    if pm.file_date is not None:
        return pm.file_date, "file name"
    return None, None


def iso_week(d) -> str | None:
    if d is None:
        return None
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def quarter(d) -> str | None:
    return None if d is None else f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def postmortem_rows(postmortems: list[PostMortem], ingested_at: datetime) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {name: [] for name in INCIDENT_TABLES}
    for pm in postmortems:
        iid = pm.incident_id
        day, day_source = _incident_date(pm)
        rows["postmortems"].append({
            "incident_id": iid, "title": pm.title, "status": pm.status, "severity": pm.severity,
            "started_at": pm.started_at, "detected_at": pm.detected_at, "mitigated_at": pm.mitigated_at,
            "resolved_at": pm.resolved_at, "postmortem_published_at": pm.postmortem_published_at,
            "team": pm.team, "services": pm.services, "customer_impact": pm.customer_impact,
            "customers_affected": pm.customers_affected, "requests_affected": pm.requests_affected,
            "publication": pm.publication, "tags": pm.tags, "summary": pm.summary,
            "new_eval_case_id": pm.new_eval_case_id, "new_eval_case_checks": pm.new_eval_case_checks,
            "minutes_to_detect": _duration(pm, "started_at", "detected_at"),
            "minutes_to_mitigate": _duration(pm, "started_at", "mitigated_at"),
            "minutes_to_resolve": _duration(pm, "started_at", "resolved_at"),
            "hours_to_postmortem": _hours_to_postmortem(pm),
            "incident_date": day, "iso_week": iso_week(day), "quarter": quarter(day),
            "completeness": pm.completeness, "missing_sections": pm.missing_sections,
            "has_front_matter": pm.has_front_matter, "source_path": pm.source_path,
            "content_hash": pm.content_hash, "markdown": pm.markdown, "ingested_at": ingested_at,
            **{f"{column}_source": pm.date_sources.get(key) if getattr(pm, key) is not None else None
               for key, column in _DATE_FIELDS},
            "incident_date_source": day_source,
        })
        rows["parse_notes"] += [{"incident_id": iid, "source_path": pm.source_path, "line": line, "kind": kind,
                                 "detail": detail} for line, kind, detail in pm.notes]
        rows["timeline_events"] += [
            {"incident_id": iid, "seq": e.seq, "occurred_at": e.at, "kind": e.kind, "text": e.text, "line": e.line}
            for e in pm.timeline]
        rows["root_causes"] += [
            {"cause_id": f"{iid}#{c.seq}", "incident_id": iid, "seq": c.seq, "title": c.title, "category": c.category,
             "category_source": c.category_source, "description": c.description,
             "evals_missed_why": c.evals_missed_why, "line": c.line}
            for c in pm.root_causes]
        rows["eval_gaps"] += [
            {"gap_id": f"{iid}#g{g.seq}", "incident_id": iid, "seq": g.seq, "text": g.text, "source": g.source,
             "line": g.line}
            for g in pm.eval_gaps]
        rows["action_items"] += [
            {"action_id": f"{iid}#a{a.seq}", "incident_id": iid, "seq": a.seq, "kind": a.kind, "text": a.text,
             "owner": a.owner, "deadline": a.deadline, "status": a.status, "line": a.line}
            for a in pm.action_items]
        rows["prompt_diffs"] += [
            {"incident_id": iid, "seq": d.seq, "before_text": d.before_text, "after_text": d.after_text,
             "diff_text": d.diff_text, "line": d.line}
            for d in pm.prompt_diffs]
        rows["sample_outputs"] += [
            {"incident_id": iid, "seq": s.seq, "text": s.text, "line": s.line} for s in pm.sample_outputs]
        mc = pm.model_config
        rows["model_configs"].append({"incident_id": iid, **vars(mc)})
    return rows


# Which file a row of `incident_columns` came from: ingest drops the rows of files that turn
# out not to load (a rejected duplicate id) before they reach the warehouse.
SOURCE_PATH = "_source_path"


def incident_columns(postmortems: list[PostMortem], ingested_at: datetime) -> dict[str, dict[str, list]]:
    """`postmortem_rows` as columns, each row tagged with its file (SOURCE_PATH). A parse
    worker sends these back instead of the parsed post-mortems: a dozen flat lists pickle
    several times faster than the objects, and a frame builds faster from columns than from
    row dicts, which took the ingesting process most of its own time."""
    columns = {table: {column: [] for column in (*SCHEMAS[table], SOURCE_PATH)} for table in INCIDENT_TABLES}
    for pm in postmortems:
        for table, rows in postmortem_rows([pm], ingested_at).items():
            target = columns[table]
            for row in rows:
                for column in SCHEMAS[table]:
                    target[column].append(row.get(column))
            target[SOURCE_PATH].extend([pm.source_path] * len(rows))
    return columns


def incident_frames(parts: list[tuple[dict[str, dict[str, list]], set[str] | None]]) -> dict[str, pl.DataFrame]:
    """One frame per incident table from the columns of several `incident_columns` calls, in
    file order (each file's rows in their own order), as rows of the post-mortems sorted by
    path would be. Each part comes with the files whose rows to keep from it (None: all):
    a file that did not load after all, or whose rows a later part holds, is left out."""
    frames = {}
    for table in INCIDENT_TABLES:
        merged: dict[str, list] = {column: [] for column in (*SCHEMAS[table], SOURCE_PATH)}
        for columns, keep in parts:
            columns = columns[table]
            if keep is None:
                for column, values in columns.items():
                    merged[column].extend(values)
                continue
            kept = [i for i, path in enumerate(columns[SOURCE_PATH]) if path in keep]
            for column, values in columns.items():
                merged[column].extend(values[i] for i in kept)
        df = pl.DataFrame(merged, schema={**SCHEMAS[table], SOURCE_PATH: pl.String})
        frames[table] = df.sort(SOURCE_PATH, maintain_order=True).drop(SOURCE_PATH)
    return frames


def finding_rows(findings: list[Finding]) -> list[dict]:
    return [{"source_path": f.source_path, "incident_id": f.incident_id, "line": f.line, "rule_id": f.rule_id,
             "rule": f.rule, "severity": f.severity, "message": f.message, "hint": f.hint} for f in findings]


def frame(table: str, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMAS[table], orient="row" if rows and not isinstance(rows[0], dict) else None)
