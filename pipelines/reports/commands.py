"""`emberline report …` and `emberline export …`: thin over the same functions the Dagster
assets call, reading the published warehouse read-only.

Wire into pipelines/cli.py's build_parser with `register(sub)`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipelines.settings import load_settings

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def _connect(args: argparse.Namespace):
    from pipelines.warehouse.db import connect_readonly

    return connect_readonly(Path(args.db) if args.db else load_settings().database)


def _period(args: argparse.Namespace, kind: str):
    from pipelines.reports.periods import Quarter, Week, latest_complete_quarter, latest_complete_week

    now = datetime.now(ZoneInfo(load_settings().timezone))
    if kind == "weekly":
        return Week.parse(args.week) if args.week else latest_complete_week(now)
    return Quarter.parse(args.quarter) if args.quarter else latest_complete_quarter(now)


def cmd_report(args: argparse.Namespace) -> int:
    from pipelines.reports.delivery import deliver_report, delivery_log, webhook_url
    from pipelines.reports.outputs import report_quarters, report_weeks, write_report
    from pipelines.reports.quarterly import build_quarterly_report
    from pipelines.reports.redact import SensitiveDataError
    from pipelines.reports.weekly import build_weekly_report

    settings = load_settings()
    out_dir = Path(args.out) if args.out else settings.reports_dir
    try:
        period = _period(args, args.kind)
    except ValueError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    if args.deliver and not webhook_url():
        print("--deliver needs EMBERLINE_WEBHOOK_URL (a Slack-compatible incoming webhook)", file=sys.stderr)
        return EXIT_USAGE
    build = build_weekly_report if args.kind == "weekly" else build_quarterly_report
    try:
        with _connect(args) as con:
            if args.all:
                periods = report_weeks(con, period) if args.kind == "weekly" else report_quarters(con, period)
            else:
                periods = [period]
            reports = [build(con, p, tz=settings.timezone) for p in periods]
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    try:
        written = [write_report(report, out_dir) for report in reports]
    except SensitiveDataError as err:
        print(f"refused: {err}", file=sys.stderr)
        return EXIT_REFUSED
    for files in written[-1:] if args.all else written:
        print(f"{files.period}: {files.markdown}\n{' ' * (len(files.period) + 2)}{files.html}")
    if args.all:
        print(f"({len(written)} reports, {sum(f.changed for f in written)} changed, in {out_dir})")
    if args.deliver:
        result = deliver_report(reports[-1], webhook_url(), delivery_log(out_dir), link=str(written[-1].html),
                                force=True)
        if not result.delivered:
            print(f"delivery failed after {result.attempts} attempts ({result.error}); the report is written "
                  f"and the failure recorded in {delivery_log(out_dir)}", file=sys.stderr)
            return EXIT_REFUSED
        print(f"delivered to {result.endpoint} ({result.attempts} attempt{'s' if result.attempts > 1 else ''})")
    return EXIT_OK


def cmd_export_external(args: argparse.Namespace) -> int:
    from pipelines.reports.external import ExportRefused, ExternalConfig, write_external_postmortem

    settings = load_settings()
    out_dir = Path(args.out) if args.out else settings.exports_dir
    config = ExternalConfig.load(Path(args.config) if args.config else settings.external_config)
    try:
        with _connect(args) as con:
            path = write_external_postmortem(con, args.incident_id, out_dir, config)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    except ExportRefused as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"{args.incident_id}: wrote {path}")
    return EXIT_OK


def cmd_export_evals(args: argparse.Namespace) -> int:
    from pipelines.reports.evals import CASE_FILES, FORMATS, STUB_FILES, write_eval_exports
    from pipelines.reports.redact import SensitiveDataError

    out_dir = Path(args.out) if args.out else load_settings().exports_dir
    formats = [f for f in FORMATS if f in (args.format or FORMATS)]
    try:
        with _connect(args) as con:
            export = write_eval_exports(con, out_dir, formats)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    except SensitiveDataError as err:
        print(f"refused: {err}", file=sys.stderr)
        return EXIT_REFUSED
    for reason in export.held_back.values():
        print(reason, file=sys.stderr)
    for fmt in formats:
        print(f"{fmt}: {export.cases} eval cases: {out_dir / CASE_FILES[fmt]}")
        print(f"{' ' * len(fmt)}  {export.without_case} incidents without an eval case (stubs): "
              f"{out_dir / STUB_FILES[fmt]}")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `report` and `export` to the `emberline` command."""
    settings = load_settings()
    db_help = "warehouse file (default: EMBERLINE_DB)"

    report = subparsers.add_parser(
        "report", help="write the weekly pattern report or the quarterly retrospective (Markdown and HTML)",
        description=f"Reports are computed as of the end of the period, so a past period's report is reproducible. "
                    f"Files go to EMBERLINE_REPORTS ({settings.reports_dir}).")
    kinds = report.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, flag, example, what in (("weekly", "--week", "2026-W14", "ISO week"),
                                      ("quarterly", "--quarter", "2026-Q2", "quarter")):
        p = kinds.add_parser(kind, help=f"the {kind} report for one {what}",
                             description=f"Write {kind}-<{what}>.md and .html. Default: the latest complete {what} "
                                         f"in EMBERLINE_TIMEZONE ({settings.timezone}).")
        p.add_argument(flag, metavar=what.split()[-1].upper(), help=f"{what} to report on, e.g. {example}")
        p.add_argument("--all", action="store_true",
                       help=f"also every earlier {what} back to the first incident")
        p.add_argument("--deliver", action="store_true",
                       help="post the report's summary to EMBERLINE_WEBHOOK_URL (Slack-compatible), with retries")
        p.add_argument("--out", help=f"output folder (default: {settings.reports_dir})")
        p.add_argument("--db", help=db_help)
        p.set_defaults(func=cmd_report)

    export = subparsers.add_parser("export", help="the external post-mortem, or the regression eval cases",
                                   description=f"Files go to EMBERLINE_EXPORTS ({settings.exports_dir}).")
    targets = export.add_subparsers(dest="target", required=True, metavar="WHAT")
    p = targets.add_parser(
        "external", help="the abridged public version of one post-mortem",
        description="What happened, who was affected, what we did and how we will prevent it, without prompt "
                    "diffs, sample outputs, owners or internal names (data/external.yaml). Refused, with the "
                    "reason and exit status 1, when the post-mortem has unredacted sensitive data.")
    p.add_argument("incident_id", metavar="ID", help="e.g. PM-2026-014")
    p.add_argument("--config", help=f"internal names to strip (default: {settings.external_config})")
    p.add_argument("--out", help=f"output folder (default: {settings.exports_dir}); the file is external/ID.md")
    p.add_argument("--db", help=db_help)
    p.set_defaults(func=cmd_export_external)

    p = targets.add_parser(
        "evals", help="one regression eval case per incident: Inspect AI dataset, promptfoo tests, JSON Lines",
        description="Each case: incident, themes, redacted failing examples and input, expected behaviour, eval "
                    "case id. Writes eval_cases.inspect.jsonl (an Inspect AI dataset), eval_cases.promptfoo.yaml "
                    "(a promptfoo config) and eval_cases.jsonl, and for the incidents still without an eval case "
                    "ready-to-fill stubs: eval_case_stubs.inspect.jsonl, eval_case_stubs.promptfoo.yaml and "
                    "incidents_without_eval_case.jsonl. Refused (exit 1) if any file would carry unredacted "
                    "sensitive data.")
    p.add_argument("--format", action="append", choices=["inspect", "promptfoo", "jsonl"],
                   help="write only this format (repeat for several; default: all three)")
    p.add_argument("--out", help=f"output folder (default: {settings.exports_dir})")
    p.add_argument("--db", help=db_help)
    p.set_defaults(func=cmd_export_evals)
