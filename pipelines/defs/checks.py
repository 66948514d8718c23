"""Asset checks: data quality of the warehouse, and the guards on every published output.

Quality checks name the offending incidents (or files) in their metadata and never stop a
run: bad post-mortems are what the reports are for. The output guards are blocking: a report
or export with unredacted sensitive data (or, for external exports, an internal name) fails
its check and `published_reports` does not run, so nothing reaches data/reports,
data/exports or the webhook. The embedding check blocks too: clustering bad vectors would
silently corrupt every theme downstream.
"""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from pipelines.defs.reports import ReportOutputs, staged_clean_copies
from pipelines.defs.resources import Warehouse
from pipelines.postmortems.policy import POSTMORTEM_DEADLINE_HOURS
from pipelines.reports import quality
from pipelines.reports.evals import EXPORT_FILES
from pipelines.reports.external import ExternalConfig

WARN, ERROR = dg.AssetCheckSeverity.WARN, dg.AssetCheckSeverity.ERROR


def _result(result: quality.QualityResult, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=severity,
        description=result.summary,
        metadata={"offending": dg.MetadataValue.json(result.offending),
                  "offending_count": len(result.offending),
                  "details": dg.MetadataValue.json(result.details)},
    )


def _warehouse_check(name: str, asset: str, severity: dg.AssetCheckSeverity, description: str, finder,
                     *, blocking: bool = False):
    @dg.asset_check(name=name, asset=asset, description=description, blocking=blocking)
    def check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            return _result(finder(con), severity)

    return check


files_failed_to_ingest = _warehouse_check(
    "files_failed_to_ingest", "ingest_issues", WARN,
    "Files under the store that did not load (malformed, empty, binary, too large, duplicate id, unreadable).",
    quality.failed_ingest)
postmortems_missing_sections = _warehouse_check(
    "postmortems_missing_sections", "postmortems", WARN,
    "Published or in-review post-mortems with a required section missing or empty (drafts listed apart).",
    quality.missing_sections)
no_blame_language = _warehouse_check(
    "no_blame_language", "postmortems", ERROR,
    "Post-mortems are blameless: no person named as the cause, no 'human error' or 'careless' (lint EL006).",
    quality.blame_language)
no_unredacted_sensitive_data = _warehouse_check(
    "no_unredacted_sensitive_data", "postmortems", ERROR,
    "No email address, phone number, API key, card number or IP address in a post-mortem (lint EL007). Reports "
    "mask them and the external export refuses the post-mortem, but the file itself must be fixed.",
    quality.sensitive_data)
action_items_have_owner_and_deadline = _warehouse_check(
    "action_items_have_owner_and_deadline", "action_items", WARN,
    "Every systemic action item has an owner and a deadline.",
    quality.action_items_without_owner_or_deadline)
every_incident_has_eval_case = _warehouse_check(
    "every_incident_has_eval_case", "postmortems", WARN,
    "Each incident names a new eval case: it becomes a regression test.",
    quality.incidents_without_eval_case)
embedding_dimensions_and_vectors = _warehouse_check(
    "embedding_dimensions_and_vectors", "embeddings", ERROR,
    "One dimension per model, every vector of that length, no null, NaN or all-zero vectors, every theme item "
    "embedded. Blocking: bad vectors would corrupt the themes.",
    quality.embedding_integrity, blocking=True)
unclustered_share_below_threshold = _warehouse_check(
    "unclustered_share_below_threshold", "theme_assignments", WARN,
    f"At most {quality.MAX_UNCLUSTERED_SHARE:.0%} of root causes and of eval gaps are left unclustered.",
    quality.unclustered_share)


@dg.asset_check(asset="postmortems", description=f"Post-mortems published within {POSTMORTEM_DEADLINE_HOURS} hours of "
                f"resolution, and none resolved more than {POSTMORTEM_DEADLINE_HOURS} hours ago still unpublished.")
def postmortems_within_72_hours(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        return _result(quality.late_postmortems(con, datetime.now(UTC)), WARN)


def _staged(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern)) if folder.exists() else []


@dg.asset_check(asset="weekly_report", blocking=True,
                description="Blocking: no unredacted sensitive data in any staged weekly report.")
def weekly_report_is_redacted(report_outputs: ReportOutputs) -> dg.AssetCheckResult:
    return _result(quality.outputs_clean(_staged(report_outputs.staged_reports / "weekly", "weekly-*")), ERROR)


@dg.asset_check(asset="quarterly_retrospective", blocking=True,
                description="Blocking: no unredacted sensitive data in any staged quarterly retrospective.")
def quarterly_retrospective_is_redacted(report_outputs: ReportOutputs) -> dg.AssetCheckResult:
    return _result(quality.outputs_clean(_staged(report_outputs.staged_reports / "quarterly", "quarterly-*")),
                   ERROR)


@dg.asset_check(asset="external_postmortems", blocking=True,
                description="Blocking: no sensitive data and no internal name from data/external.yaml in any "
                "staged external post-mortem.")
def external_postmortems_are_public_safe(report_outputs: ReportOutputs) -> dg.AssetCheckResult:
    paths = _staged(report_outputs.staged_exports / "external", "*.md")
    return _result(quality.outputs_clean(paths, ExternalConfig.load(report_outputs.external_config)), ERROR)


@dg.asset_check(asset="eval_cases_export", blocking=True,
                description="Blocking: no unredacted sensitive data in any staged eval case export (Inspect "
                "dataset, promptfoo config, JSON Lines, and their stubs).")
def eval_cases_export_is_redacted(warehouse: Warehouse, report_outputs: ReportOutputs) -> dg.AssetCheckResult:
    staged = report_outputs.staged_exports
    with warehouse.connect() as con:  # a file is scanned where it differs from its checked, published copy
        clean = staged_clean_copies(con, report_outputs)
    return _result(quality.outputs_clean([staged / name for name in EXPORT_FILES if (staged / name).exists()],
                                         clean_copies=clean), ERROR)
