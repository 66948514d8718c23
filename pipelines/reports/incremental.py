"""Incremental reports: which weekly and quarterly reports a run renders again.

A period's report is a pure function of its inputs and of the code that renders them. Its
inputs are what `weekly_inputs` / `quarterly_inputs` return for it: already cut down to what
that one report reads, which includes the figures "as of" the period that come from outside
it (how often a theme had occurred by then, post-mortems and action items overdue from
earlier weeks, the trailing baseline of rising themes, whether a theme came back after its
fix, today's theme names and action item statuses, the eval suite, the undated-incident
note). The fingerprint of a period is the digest of those inputs, the time zone and the
pipeline's code (`code_fingerprint`), so a stale report needs a changed input that the
report does not read, which cannot change it.

A period is rendered when it is the headline period (the current week or quarter: always
fresh), when its fingerprint differs from the one recorded when it was last published, or
when its published files are missing.

Before any of that, one fingerprint of the whole warehouse (every table a report can read,
`warehouse_fingerprint`), the periods, the time zone and the code: when it equals the one
recorded at the last publication, no period's inputs can have changed, so only the headline
(and any period whose files are missing) is loaded and rendered. A long history then costs
a hash of the tables on a run that changes nothing; on a run that changes something, the
queries run for every period (one round for all weeks, a few per quarter) and rendering,
the redaction scan and publishing cover only the periods whose inputs changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.reports.document import Report
from pipelines.reports.outputs import ReportFiles, output_path, write_report
from pipelines.reports.periods import Period, Quarter
from pipelines.reports.quarterly import quarterly_inputs, render_quarterly
from pipelines.reports.weekly import render_weekly, weekly_inputs
from pipelines.warehouse.fingerprints import code_fingerprint, digest, stored_reports, stored_step, \
    warehouse_fingerprint


@dataclass(frozen=True)
class ReportKind:
    name: str
    load: Callable  # (con, periods, *, tz) -> list of inputs, each with `.period`
    render: Callable  # inputs -> Report


KINDS = {
    "weekly": ReportKind("weekly", weekly_inputs, render_weekly),
    "quarterly": ReportKind("quarterly", quarterly_inputs, render_quarterly),
}


def kind_of(period: Period) -> ReportKind:
    return KINDS["quarterly" if isinstance(period, Quarter) else "weekly"]


@dataclass
class ReportPlan:
    kind: str
    periods: list[Period]
    fingerprints: dict[str, str]  # period label -> fingerprint of its inputs (every period loaded)
    due: list  # the inputs of the periods to render, oldest first
    inputs_fingerprint: str  # of everything the kind's reports can read: record it with the reports
    nothing_changed: bool  # it equals the recorded one: only the headline was loaded

    @property
    def step(self) -> str:
        return inputs_step(self.kind)

    @property
    def rendered(self) -> list[str]:
        return [inputs.period.label for inputs in self.due]

    @property
    def skipped(self) -> int:
        return len(self.periods) - len(self.due)


def fingerprint(kind: str, inputs, tz: str) -> str:
    return digest(kind, inputs.period.label, tz, code_fingerprint(), inputs)


def _published(published_dir: Path | None, kind: str, label: str) -> bool:
    if published_dir is None:
        return False
    stem = f"{kind}-{label}"
    return all(output_path(published_dir, stem, suffix).exists() for suffix in (".md", ".html"))


def inputs_step(kind: str) -> str:
    return f"{kind}_reports"


def plan_reports(con: duckdb.DuckDBPyConnection, periods: list[Period], headline: Period, *, tz: str = "UTC",
                 published_dir: Path | None = None) -> ReportPlan:
    """Fingerprint every period's inputs and pick the ones to render: the headline, the changed
    ones and the ones whose published files are missing (`published_dir` None: all)."""
    kind = kind_of(headline)
    everything = digest(kind.name, tz, code_fingerprint(), [p.label for p in periods], warehouse_fingerprint(con))
    nothing_changed = everything == stored_step(con, inputs_step(kind.name))
    if nothing_changed:
        periods_to_load = [p for p in periods if p == headline or not _published(published_dir, kind.name, p.label)]
    else:
        periods_to_load = list(periods)
    recorded = stored_reports(con, kind.name)
    fingerprints, due = {}, []
    for inputs in kind.load(con, periods_to_load, tz=tz):
        label = inputs.period.label
        fingerprints[label] = fingerprint(kind.name, inputs, tz)
        if (label == headline.label or recorded.get(label) != fingerprints[label]
                or not _published(published_dir, kind.name, label)):
            due.append(inputs)
    return ReportPlan(kind.name, list(periods), fingerprints, due, everything, nothing_changed)


def render_plan(plan: ReportPlan) -> list[Report]:
    return [KINDS[plan.kind].render(inputs) for inputs in plan.due]


def write_plan(plan: ReportPlan, out_dir: Path) -> list[ReportFiles]:
    """Render and write the planned reports (Markdown and HTML) into `out_dir`."""
    return [write_report(report, out_dir) for report in render_plan(plan)]
