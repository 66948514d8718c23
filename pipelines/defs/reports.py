"""Report and export assets: the weekly pattern report, the quarterly retrospective, the
external post-mortems and the regression eval cases, then `published_reports`.

Each output is rendered into a staging folder next to the working warehouse; blocking asset
checks (checks.py) scan it for sensitive data, and only then does `published_reports` copy it
to data/reports and data/exports and deliver the headline reports to the chat webhook. A
failing check therefore stops the files and the delivery, not just a flag in the UI.

Which week and quarter: the run config's `week` / `quarter` (the schedules set the one their
tick is for), else the latest complete one in EMBERLINE_TIMEZONE. With `all_weeks` /
`all_quarters` (the default) every earlier period back to the first incident is rendered too,
so every past week and quarter has its report; unchanged files are not rewritten.
"""

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from pydantic import Field

from pipelines.defs.resources import Warehouse
from pipelines.reports.delivery import deliver_report, delivery_log, webhook_url
from pipelines.reports.evals import EXPORT_FILES, write_eval_exports
from pipelines.reports.external import ExternalConfig, export_external_postmortems
from pipelines.reports.outputs import clear, publish_tree, report_quarters, report_weeks
from pipelines.reports.periods import Quarter, Week, latest_complete_quarter, latest_complete_week
from pipelines.reports.quarterly import build_quarterly_report, write_quarterly_reports
from pipelines.reports.redact import describe, scan_files
from pipelines.reports.weekly import build_weekly_report, write_weekly_reports
from pipelines.settings import load_settings

THEME_INPUTS = ["theme_trends", "similar_incidents", "themes", "theme_assignments"]


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


def _stage_period_reports(name: str, headline: Week | Quarter, all_periods: bool, list_periods, write_reports,
                          warehouse: Warehouse, report_outputs: ReportOutputs) -> dg.MaterializeResult:
    """Render the headline period's report (and, with `all_periods`, every earlier one) into
    the staging folder the blocking checks scan; `published_reports` copies them out."""
    kind = "weekly" if isinstance(headline, Week) else "quarterly"
    staging = report_outputs.staged_reports / kind
    clear(staging)
    with warehouse.connect() as con:
        periods = list_periods(con, headline) if all_periods else [headline]
        files = write_reports(con, periods, staging, tz=report_outputs.timezone)
    _write_manifest(report_outputs, name, {"headline": headline.label, "periods": [p.label for p in periods]})
    latest = files[-1]
    return dg.MaterializeResult(metadata={
        "headline_period": headline.label,
        "reports": len(files),
        "staged_html": dg.MetadataValue.path(str(latest.html)),
        "published_html": dg.MetadataValue.path(str(Path(report_outputs.reports_dir) / latest.html.name)),
        "preview": _preview(latest.markdown),
    })


@dg.asset(
    group_name="reports",
    deps=["postmortems", "action_items", "lint_findings", *THEME_INPUTS],
    kinds={"markdown", "html"},
    description="The weekly pattern report (data/reports/weekly-<ISO week>.md and .html): incidents resolved, "
    "post-mortems due or overdue against 72 h, new incidents and the themes they joined, rising themes, action "
    "items due or overdue, eval cases added. Computed as of the week's end.",
)
def weekly_report(config: WeeklyReportConfig, warehouse: Warehouse, report_outputs: ReportOutputs):
    headline = Week.parse(config.week) if config.week else latest_complete_week(report_outputs.now())
    return _stage_period_reports("weekly_report", headline, config.all_weeks, report_weeks, write_weekly_reports,
                                 warehouse, report_outputs)


@dg.asset(
    group_name="reports",
    deps=["postmortems", "action_items", "lint_findings", *THEME_INPUTS],
    kinds={"markdown", "html"},
    description="The quarterly retrospective (data/reports/quarterly-<quarter>.md and .html): repeating themes, "
    "burn-score ranking with the incidents behind each, did the fixes work, eval-gap themes, time to detect and "
    "resolve, post-mortem health, candidate systemic investments.",
)
def quarterly_retrospective(config: QuarterlyReportConfig, warehouse: Warehouse, report_outputs: ReportOutputs):
    headline = Quarter.parse(config.quarter) if config.quarter else latest_complete_quarter(report_outputs.now())
    return _stage_period_reports("quarterly_retrospective", headline, config.all_quarters, report_quarters,
                                 write_quarterly_reports, warehouse, report_outputs)


@dg.asset(
    group_name="reports",
    deps=["postmortems", "action_items", "timeline_events"],
    kinds={"markdown"},
    description="Abridged public versions of published post-mortems marked `publication: external` "
    "(data/exports/external/<id>.md), without prompt diffs, samples, owners or internal names "
    "(data/external.yaml). A post-mortem with unredacted sensitive data is refused, and listed here.",
)
def external_postmortems(warehouse: Warehouse, report_outputs: ReportOutputs) -> dg.MaterializeResult:
    staging = report_outputs.staged_exports / "external"
    clear(staging)
    with warehouse.connect() as con:
        result = export_external_postmortems(con, report_outputs.staged_exports,
                                             ExternalConfig.load(report_outputs.external_config))
    _write_manifest(report_outputs, "external_postmortems",
                    {"exported": sorted(result.exported), "refused": result.refused})
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(result.exported),
        "exported": dg.MetadataValue.json(sorted(result.exported)),
        "refused": dg.MetadataValue.json(result.refused),
        "staged_folder": dg.MetadataValue.path(str(staging)),
    })


@dg.asset(
    group_name="reports",
    deps=["postmortems", "sample_outputs", "eval_gaps", "themes", "theme_assignments", "eval_case_status"],
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
        export = write_eval_exports(con, staging)
    _write_manifest(report_outputs, "eval_cases_export", {"files": [str(p) for p in export.files.values()]})
    first = export.eval_cases.read_text(encoding="utf-8").splitlines()[:3]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": export.cases,
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
    # asset on its own can never publish a staged file that failed its check.
    leaks = scan_files([p for p in Path(report_outputs.staging_dir).rglob("*") if p.is_file()])
    if leaks:
        raise dg.Failure("staged outputs contain unredacted sensitive data; nothing was published",
                         metadata={"files": dg.MetadataValue.json({f: describe(m) for f, m in leaks.items()})})
    changed = publish_tree(report_outputs.staged_reports / "weekly", reports_dir)
    changed += publish_tree(report_outputs.staged_reports / "quarterly", reports_dir)
    changed += publish_tree(report_outputs.staged_exports, exports_dir)
    headlines = {"weekly": read_manifest(report_outputs, "weekly_report").get("headline"),
                 "quarterly": read_manifest(report_outputs, "quarterly_retrospective").get("headline")}
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
