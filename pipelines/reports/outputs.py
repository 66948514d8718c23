"""Writing report and export files: atomically, only when the content changed, and never
with unredacted sensitive data in them.

Dagster renders into a staging folder that the blocking asset checks scan before
`published_reports` copies it to data/reports and data/exports; the CLI writes straight to
those folders. Both go through `write_text`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.reports.document import Report
from pipelines.reports.periods import Quarter, Week, quarters_between, weeks_between
from pipelines.reports.redact import assert_clean
from pipelines.reports.render import to_html, to_markdown
from pipelines.warehouse.db import scalar


def write_text(path: Path, text: str) -> bool:
    """Write `text` to `path` unless it already holds exactly that; True when written."""
    assert_clean(text, str(path))
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


@dataclass
class ReportFiles:
    period: str
    markdown: Path
    html: Path
    changed: bool


def write_report(report: Report, out_dir: Path) -> ReportFiles:
    out_dir = Path(out_dir)
    md_path, html_path = out_dir / f"{report.file_stem}.md", out_dir / f"{report.file_stem}.html"
    changed = write_text(md_path, to_markdown(report))
    changed = write_text(html_path, to_html(report)) or changed
    return ReportFiles(report.period, md_path, html_path, changed)


def first_incident_date(con: duckdb.DuckDBPyConnection):
    return scalar(con, "SELECT min(incident_date) FROM postmortems")


def report_weeks(con: duckdb.DuckDBPyConnection, through: Week) -> list[Week]:
    """Every week from the first incident's through `through`: each has a report, quiet
    weeks included (overdue post-mortems and action items do not take weeks off)."""
    first = first_incident_date(con)
    return (weeks_between(Week.containing(first), through) if first else []) or [through]


def report_quarters(con: duckdb.DuckDBPyConnection, through: Quarter) -> list[Quarter]:
    first = first_incident_date(con)
    return (quarters_between(Quarter.containing(first), through) if first else []) or [through]


def publish_tree(staging: Path, target: Path) -> list[Path]:
    """Copy every file under `staging` to the same place under `target` (each by an atomic
    rename); return the files that changed."""
    changed = []
    staging, target = Path(staging), Path(target)
    if not staging.exists():
        return changed
    for source in sorted(p for p in staging.rglob("*") if p.is_file() and not p.name.startswith(".")):
        destination = target / source.relative_to(staging)
        if destination.exists() and destination.read_bytes() == source.read_bytes():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, destination)
        changed.append(destination)
    return changed


def clear(folder: Path) -> None:
    """Empty a staging folder, so files of a previous run never slip into this one."""
    if Path(folder).exists():
        shutil.rmtree(folder)
    Path(folder).mkdir(parents=True, exist_ok=True)
