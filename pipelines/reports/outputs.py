"""Writing report and export files: atomically, only when the content changed, never with
unredacted sensitive data in them, and never outside their output folder.

File names built from data (an incident id, a report period) go through `output_path`: the
name is reduced to a slug, and the resolved path must lie inside the folder, so an id such
as `../../etc/x` or `/tmp/x` cannot write anywhere else.

Dagster renders into a staging folder that the blocking asset checks scan before
`published_reports` copies it to data/reports and data/exports; the CLI writes straight to
those folders. Both go through `write_text`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.reports.document import Report
from pipelines.reports.periods import Quarter, Week, quarters_between, weeks_between
from pipelines.reports.redact import assert_clean
from pipelines.reports.render import to_html, to_markdown
from pipelines.warehouse.db import scalar
from pipelines.warehouse.fingerprints import digest, record_step, stored_step


_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
MAX_STEM_CHARS = 80


class UnsafeOutputPath(Exception):
    """A file name built from data would land outside its output folder."""


def safe_stem(name: str) -> str:
    """`name` as a file stem: letters, digits, "-" and "_" only, at most MAX_STEM_CHARS. A
    name that had to change gets a short hash of the original, so two different ids never
    share a file ("PM/1" and "PM-1")."""
    slug = _UNSAFE_NAME_CHARS.sub("-", str(name)).strip("-_")[:MAX_STEM_CHARS] or "untitled"
    if slug != name:
        slug = f"{slug[:MAX_STEM_CHARS - 9]}-{hashlib.sha256(str(name).encode()).hexdigest()[:8]}"
    return slug


def output_path(folder: Path, name: str, suffix: str) -> Path:
    """`folder`/<safe stem of name><suffix>, checked to resolve inside `folder`."""
    folder = Path(folder)
    path = folder / f"{safe_stem(name)}{suffix}"
    ensure_inside(folder, path)
    return path


def ensure_inside(folder: Path, path: Path) -> None:
    root = Path(folder).resolve()
    if not Path(path).resolve().is_relative_to(root):
        raise UnsafeOutputPath(f"refused to write {path}: it resolves outside the output folder {folder}")


def write_text(path: Path, text: str, clean: str | None = None) -> bool:
    """Write `text` to `path` unless it already holds exactly that; True when written. With
    `clean` (a version of the text known to hold no sensitive data: clean_copy) only what
    differs from it is scanned."""
    assert_clean(text, str(path), clean)
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def _scanner_fingerprint() -> str:
    """The code that decides what is sensitive: a scan by other rules proves nothing."""
    sources = [Path(__file__).with_name("redact.py"), Path(__file__).parent.parent / "postmortems" / "sensitive.py"]
    return hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()


def _scan_step(path: Path) -> str:
    return f"scanned {Path(path).resolve()}"


def record_clean(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """`path` (a published file) passed the sensitive-data scan as it is now."""
    record_step(con, _scan_step(path), digest(_scanner_fingerprint(), hashlib.sha256(Path(path).read_bytes()).hexdigest()))


def clean_copy(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """The text of `path` when it is, byte for byte, what passed the scan of the current rules
    (record_clean), else None: a staged version of it need only be scanned where it differs."""
    path = Path(path)
    if not path.is_file():
        return None
    data = path.read_bytes()
    if stored_step(con, _scan_step(path)) != digest(_scanner_fingerprint(), hashlib.sha256(data).hexdigest()):
        return None
    return data.decode("utf-8", errors="replace")


@dataclass
class ReportFiles:
    period: str
    markdown: Path
    html: Path
    changed: bool


def write_report(report: Report, out_dir: Path) -> ReportFiles:
    out_dir = Path(out_dir)
    md_path, html_path = output_path(out_dir, report.file_stem, ".md"), output_path(out_dir, report.file_stem, ".html")
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


def drop_published(staging: Path, target: Path, names: list[str] | None = None) -> int:
    """Remove from `staging` each file (of `names`, else all) whose published copy under
    `target` holds the same bytes: that copy passed its check when it was published, so the
    checks and publishing see only what changed. Returns how many were dropped."""
    staging, target = Path(staging), Path(target)
    if not staging.exists():
        return 0
    files = ([staging / n for n in names if (staging / n).is_file()] if names is not None
             else [p for p in staging.rglob("*") if p.is_file()])
    dropped = 0
    for source in files:
        published = target / source.relative_to(staging)
        if published.is_file() and published.stat().st_size == source.stat().st_size \
                and published.read_bytes() == source.read_bytes():
            source.unlink()
            dropped += 1
    return dropped


def clear(folder: Path) -> None:
    """Empty a staging folder, so files of a previous run never slip into this one."""
    if Path(folder).exists():
        shutil.rmtree(folder)
    Path(folder).mkdir(parents=True, exist_ok=True)
