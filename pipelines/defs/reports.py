"""Report and export assets: the weekly pattern report, the quarterly retrospective, the
external post-mortems and the regression eval cases, then `published_reports`.

Each output is rendered into a staging folder next to the working warehouse; blocking asset
checks (checks.py) scan it for sensitive data, and only then does `published_reports` copy it
to data/reports and data/exports and deliver the headline reports to the chat webhook. A
failing check therefore stops the files and the delivery, not just a flag in the UI.

Which week and quarter: the run config's `week` / `quarter` (the schedules set the one their
tick is for), else the latest complete one in EMBERLINE_TIMEZONE. With `all_weeks` /
`all_quarters` (the default) every earlier period back to the first incident has its report
too; only the periods whose inputs changed since they were published are rendered again
(pipelines/reports/incremental.py), so the checks and publishing see only those.
"""

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from pydantic import Field

from pipelines.defs.evals import EVAL_TABLES
from pipelines.defs.ingest import INGEST_TABLES
from pipelines.defs.resources import Warehouse
from pipelines.defs.themes import THEME_TABLES
from pipelines.reports.delivery import deliver_report, delivery_log, webhook_url
from pipelines.reports.evals import EXPORT_FILES, write_eval_exports
from pipelines.reports.external import ExternalConfig, export_external_postmortems
from pipelines.reports.outputs import clean_copy, clear, drop_published, output_path, publish_tree, record_clean, \
    report_quarters, report_weeks, safe_stem
from pipelines.reports.periods import Quarter, Week, latest_complete_quarter, latest_complete_week
from pipelines.reports.incremental import plan_reports, write_plan
from pipelines.reports.quarterly import build_quarterly_report
from pipelines.reports.redact import describe, scan_files
from pipelines.reports.weekly import build_weekly_report
from pipelines.settings import load_settings
from pipelines.warehouse.fingerprints import (
    code_fingerprint,
    digest,
    file_fingerprint,
    record_reports,
    record_step,
    stored_reports,
    stored_step,
    warehouse_fingerprint,
)

# Every table the pipeline writes before the outputs. The outputs fingerprint the whole
# warehouse to know whether anything they read changed (pipelines/reports/incremental.py), so
# they run after every writer: a fingerprint taken while a table was still to be rewritten
# would never match the next run's.
WAREHOUSE_TABLES = [*INGEST_TABLES, *THEME_TABLES, "similar_incidents", "theme_trends", *EVAL_TABLES]
# The assets that stage files for `published_reports`, each with a manifest of the same name.
STAGED_OUTPUTS = ("weekly_report", "quarterly_retrospective", "external_postmortems", "eval_cases_export")


class ReportOutputs(dg.ConfigurableResource):
    """Where reports and exports go, the staging folder the checks scan, and the time zone
    that decides where a week ends."""

    reports_dir: str
    exports_dir: str
    staging_dir: str
    external_config: str
    timezone: str = "UTC"

    @property
    def staged_reports(self) -> Path:
        return Path(self.staging_dir) / "reports"

    @property
    def staged_exports(self) -> Path:
        return Path(self.staging_dir) / "exports"

    def manifest(self, name: str) -> Path:
        """What an asset staged (outside the published folders, so it is never published)."""
        return Path(self.staging_dir) / f"{name}.json"

    def now(self) -> datetime:
        return datetime.now(ZoneInfo(self.timezone))


def default_report_outputs() -> ReportOutputs:
    settings = load_settings()
    return ReportOutputs(reports_dir=str(settings.reports_dir), exports_dir=str(settings.exports_dir),
                         staging_dir=str(settings.build_database.parent / "outputs"),
                         external_config=str(settings.external_config), timezone=settings.timezone)


class WeeklyReportConfig(dg.Config):
    week: str = Field("", description="ISO week, e.g. 2026-W14; empty: the latest complete week")
    all_weeks: bool = Field(True, description="also render every earlier week back to the first incident")


class QuarterlyReportConfig(dg.Config):
    quarter: str = Field("", description="quarter, e.g. 2026-Q2; empty: the latest complete quarter")
    all_quarters: bool = Field(True, description="also render every earlier quarter back to the first incident")


def _write_manifest(outputs: ReportOutputs, name: str, content: dict) -> None:
    path = outputs.manifest(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2), encoding="utf-8")


def read_manifest(outputs: ReportOutputs, name: str) -> dict:
    path = outputs.manifest(name)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _preview(path: Path, lines: int = 40) -> dg.MetadataValue:
    text = path.read_text(encoding="utf-8").splitlines()
    return dg.MetadataValue.md("\n".join(text[:lines]) + ("\n\n…" if len(text) > lines else ""))


def _stage_period_reports(name: str, headline: Week | Quarter, all_periods: bool, list_periods,
                          warehouse: Warehouse, report_outputs: ReportOutputs) -> dg.MaterializeResult:
    """Render the headline period's report (and, with `all_periods`, every earlier one whose
    inputs changed since it was published: pipelines/reports/incremental.py) into the staging
    folder the blocking checks scan; `published_reports` copies them out and records their
    fingerprints."""
    kind = "weekly" if isinstance(headline, Week) else "quarterly"
    staging = report_outputs.staged_reports / kind
    clear(staging)
    with warehouse.connect() as con:
        periods = list_periods(con, headline) if all_periods else [headline]
        plan = plan_reports(con, periods, headline, tz=report_outputs.timezone,
                            published_dir=Path(report_outputs.reports_dir))
        files = write_plan(plan, staging)
    _write_manifest(report_outputs, name, {
        "kind": kind, "headline": headline.label, "periods": [p.label for p in periods],
        "fingerprints": {label: plan.fingerprints[label] for label in plan.rendered},
        "inputs_step": plan.step, "inputs_fingerprint": plan.inputs_fingerprint})
    latest = files[-1]
    return dg.MaterializeResult(metadata={
        "headline_period": headline.label,
        "reports": len(periods),
        "rendered": len(files),
        "unchanged_not_rendered": plan.skipped,
        "warehouse_unchanged": plan.nothing_changed,
        "rendered_periods": dg.MetadataValue.json(plan.rendered[-50:]),
        "staged_html": dg.MetadataValue.path(str(latest.html)),
        "published_html": dg.MetadataValue.path(str(Path(report_outputs.reports_dir) / latest.html.name)),
        "preview": _preview(latest.markdown),
    })


@dg.asset(
    group_name="reports",
    deps=WAREHOUSE_TABLES,
    kinds={"markdown", "html"},
    description="The weekly pattern report (data/reports/weekly-<ISO week>.md and .html): incidents resolved, "
    "post-mortems due or overdue against 72 h, new incidents and the themes they joined, rising themes, action "
    "items due or overdue, eval cases added. Computed as of the week's end.",
)
def weekly_report(config: WeeklyReportConfig, warehouse: Warehouse, report_outputs: ReportOutputs):
    headline = Week.parse(config.week) if config.week else latest_complete_week(report_outputs.now())
    return _stage_period_reports("weekly_report", headline, config.all_weeks, report_weeks, warehouse,
                                 report_outputs)


@dg.asset(
    group_name="reports",
    deps=WAREHOUSE_TABLES,
    kinds={"markdown", "html"},
    description="The quarterly retrospective (data/reports/quarterly-<quarter>.md and .html): repeating themes, "
    "burn-score ranking with the incidents behind each, did the fixes work, eval-gap themes, time to detect and "
    "resolve, post-mortem health, candidate systemic investments.",
)
def quarterly_retrospective(config: QuarterlyReportConfig, warehouse: Warehouse, report_outputs: ReportOutputs):
    headline = Quarter.parse(config.quarter) if config.quarter else latest_complete_quarter(report_outputs.now())
    return _stage_period_reports("quarterly_retrospective", headline, config.all_quarters, report_quarters,
                                 warehouse, report_outputs)


@dg.asset(
    group_name="reports",
    deps=WAREHOUSE_TABLES,
    kinds={"markdown"},
    description="Abridged public versions of published post-mortems marked `publication: external` "
    "(data/exports/external/<id>.md), without prompt diffs, samples, owners or internal names "
    "(data/external.yaml). A post-mortem with unredacted sensitive data is refused, and listed here.",
)
def external_postmortems(warehouse: Warehouse, report_outputs: ReportOutputs) -> dg.MaterializeResult:
    staging = report_outputs.staged_exports / "external"
    clear(staging)
    with warehouse.connect() as con:
        unchanged, fingerprint = _export_unchanged(con, report_outputs, "external_postmortems",
                                                   report_outputs.external_config)
        if unchanged:
            return dg.MaterializeResult(metadata={"inputs_unchanged": True})
        # Per post-mortem: one whose inputs are those its published file was made from is not
        # rendered again (recorded by published_reports, like the period reports).
        published_dir = Path(report_outputs.exports_dir)
        published = {incident_id: fp for incident_id, fp in stored_reports(con, "external").items()
                     if output_path(published_dir / "external", incident_id, ".md").is_file()}
        result = export_external_postmortems(con, report_outputs.staged_exports,
                                             ExternalConfig.load(report_outputs.external_config), published=published)
    exported = sorted([*result.exported, *result.unchanged])
    dropped = drop_published(staging, Path(report_outputs.exports_dir) / "external")
    _write_manifest(report_outputs, "external_postmortems", {
        "exported": exported, "refused": result.refused,
        "published": [f"external/{safe_stem(incident_id)}.md" for incident_id in exported],
        "kind": "external", "fingerprints": {i: fp for i, fp in result.fingerprints.items() if i in result.exported},
        "inputs_step": "external_postmortems", "inputs_fingerprint": fingerprint})
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(exported),
        "exported": dg.MetadataValue.json(exported),
        "rendered": len(result.exported) + len(result.refused),
        "unchanged_not_rendered": len(result.unchanged),
        "refused": dg.MetadataValue.json(result.refused),
        "inputs_unchanged": False,
        "same_as_published_not_staged": dropped,
        "staged_folder": dg.MetadataValue.path(str(staging)),
    })


def _export_unchanged(con, report_outputs: ReportOutputs, name: str, config_file: str | None = None):
    """(unchanged, fingerprint): an export whose inputs (the warehouse's tables, its config
    file, the code) are those recorded when it was last published, and whose published files
    are all there, would write the same files again."""
    fingerprint = digest(name, code_fingerprint(), warehouse_fingerprint(con), file_fingerprint(config_file))
    previous = read_manifest(report_outputs, name)
    unchanged = (fingerprint == stored_step(con, name) and "published" in previous
                 and all((Path(report_outputs.exports_dir) / rel).is_file() for rel in previous["published"]))
    return unchanged, fingerprint


def _clean_copies(con, report_outputs: ReportOutputs) -> dict[str, str]:
    """Eval export file name -> the text of its published copy, when that copy is what passed
    the scan (clean_copy): a staged file need only be scanned where it differs from it."""
    copies = {name: clean_copy(con, Path(report_outputs.exports_dir) / name) for name in EXPORT_FILES}
    return {name: text for name, text in copies.items() if text is not None}


def staged_clean_copies(con, report_outputs: ReportOutputs) -> dict[Path, str]:
    """The same, keyed by the staged file's path (for the scans of the staged files)."""
    return {report_outputs.staged_exports / name: text for name, text in _clean_copies(con, report_outputs).items()}


@dg.asset(
    group_name="reports",
    deps=WAREHOUSE_TABLES,
    kinds={"json", "yaml"},
    description="One regression eval case per incident (data/exports/eval_cases.inspect.jsonl, an Inspect AI "
    "dataset; eval_cases.promptfoo.yaml, a promptfoo config; eval_cases.jsonl: incident, themes, redacted failing "
    "examples and input, expected behaviour, eval case id), and ready-to-fill stubs in the same formats for the "
    "incidents still without one (eval_case_stubs.*, incidents_without_eval_case.jsonl).",
)
def eval_cases_export(warehouse: Warehouse, report_outputs: ReportOutputs) -> dg.MaterializeResult:
    staging = report_outputs.staged_exports
    for name in EXPORT_FILES:
        (staging / name).unlink(missing_ok=True)
    with warehouse.connect() as con:
        unchanged, fingerprint = _export_unchanged(con, report_outputs, "eval_cases_export")
        if unchanged:
            return dg.MaterializeResult(metadata={"inputs_unchanged": True})
        # Each incident's pieces are kept next to the manifests (never published), and each file
        # is scanned where it differs from its published, already checked copy.
        export = write_eval_exports(con, staging, cache=report_outputs.manifest("eval_cases_pieces"),
                                    clean_copies=_clean_copies(con, report_outputs))
    _write_manifest(report_outputs, "eval_cases_export", {
        "files": [str(p) for p in export.files.values()], "published": sorted(export.files),
        "inputs_step": "eval_cases_export", "inputs_fingerprint": fingerprint})
    first = export.eval_cases.read_text(encoding="utf-8").splitlines()[:3]
    dropped = drop_published(staging, Path(report_outputs.exports_dir), list(EXPORT_FILES))
    return dg.MaterializeResult(metadata={
        "dagster/row_count": export.cases,
        "inputs_unchanged": False,
        "incidents_rendered": export.rendered,
        "same_as_published_not_staged": dropped,
        "incidents_without_eval_case": export.without_case,
        "held_back": dg.MetadataValue.json(export.held_back),
        "staged_file": dg.MetadataValue.path(str(export.eval_cases)),
        "preview": dg.MetadataValue.md("```json\n" + "\n".join(first) + "\n```"),
    })


@dg.asset(
    group_name="reports",
    deps=[weekly_report, quarterly_retrospective, external_postmortems, eval_cases_export],
    kinds={"markdown", "html"},
    description="Copies the checked reports and exports to data/reports and data/exports (atomic per file), then "
    "posts the headline weekly report and quarterly retrospective to EMBERLINE_WEBHOOK_URL if set (once each, "
    "with retries; a failed delivery is recorded in data/reports/deliveries.jsonl and tried again next run).",
)
def published_reports(context: dg.AssetExecutionContext, warehouse: Warehouse,
                      report_outputs: ReportOutputs) -> dg.MaterializeResult:
    reports_dir, exports_dir = Path(report_outputs.reports_dir), Path(report_outputs.exports_dir)
    # The blocking checks scanned each output; scan again here so that materializing this
    # asset on its own can never publish a staged file that failed its check. (The manifests
    # next to the staged folders are never published: their fingerprints are not scanned.)
    staged = [report_outputs.staged_reports, report_outputs.staged_exports]
    with warehouse.connect() as con:
        clean = staged_clean_copies(con, report_outputs)
    leaks = scan_files([p for folder in staged if folder.exists() for p in folder.rglob("*") if p.is_file()], clean)
    if leaks:
        raise dg.Failure("staged outputs contain unredacted sensitive data; nothing was published",
                         metadata={"files": dg.MetadataValue.json({f: describe(m) for f, m in leaks.items()})})
    changed = publish_tree(report_outputs.staged_reports / "weekly", reports_dir)
    changed += publish_tree(report_outputs.staged_reports / "quarterly", reports_dir)
    changed += publish_tree(report_outputs.staged_exports, exports_dir)
    manifests = {name: read_manifest(report_outputs, name) for name in STAGED_OUTPUTS}
    with warehouse.connect() as con:  # published now: next run renders these only if their inputs change
        for manifest in manifests.values():
            if manifest.get("kind"):
                record_reports(con, manifest["kind"], manifest.get("fingerprints", {}))
            if manifest.get("inputs_step"):
                record_step(con, manifest["inputs_step"], manifest["inputs_fingerprint"])
        for path in changed:  # scanned above: the next change to them is scanned where it differs
            if path.parent == exports_dir and path.name in EXPORT_FILES:
                record_clean(con, path)
    headlines = {"weekly": manifests["weekly_report"].get("headline"),
                 "quarterly": manifests["quarterly_retrospective"].get("headline")}
    metadata = {"files_changed": len(changed), "reports_dir": dg.MetadataValue.path(str(reports_dir)),
                "exports_dir": dg.MetadataValue.path(str(exports_dir))}
    for kind, period in headlines.items():
        if period:
            metadata[f"{kind}_html"] = dg.MetadataValue.path(str(reports_dir / f"{kind}-{period}.html"))
    url = webhook_url()
    if not url:
        metadata["delivery"] = "EMBERLINE_WEBHOOK_URL not set: nothing delivered"
        return dg.MaterializeResult(metadata=metadata)
    outcomes = {}
    with warehouse.connect() as con:
        for kind, period in headlines.items():
            if not period:
                continue
            report = (build_weekly_report(con, Week.parse(period), tz=report_outputs.timezone) if kind == "weekly"
                      else build_quarterly_report(con, Quarter.parse(period), tz=report_outputs.timezone))
            result = deliver_report(report, url, delivery_log(reports_dir),
                                    link=str(reports_dir / f"{report.file_stem}.html"))
            if result is None:
                outcomes[report.file_stem] = "delivered earlier"
            elif result.delivered:
                outcomes[report.file_stem] = f"delivered ({result.attempts} attempts)"
            else:
                outcomes[report.file_stem] = f"FAILED after {result.attempts} attempts: {result.error}"
                context.log.warning(f"delivery of {report.file_stem} failed ({result.error}); the report is "
                                    f"published and the failure recorded in {delivery_log(reports_dir)}")
    metadata["delivery"] = dg.MetadataValue.json(outcomes)
    return dg.MaterializeResult(metadata=metadata)


# A module with `defs` contributes only what `defs` lists, so the assets are listed here.
defs = dg.Definitions(
    assets=[weekly_report, quarterly_retrospective, external_postmortems, eval_cases_export, published_reports],
    resources={"report_outputs": default_report_outputs()},
)
