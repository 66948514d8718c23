"""Incremental runs through `emberline run` (the CLI's runner, real Dagster materializations):
a re-run that changes nothing rewrites no report or export file; editing one post-mortem
re-renders exactly the reports of its week and quarter (plus the current ones, always fresh),
its own external post-mortem and its own eval case; adding one touches no older incident's
similar incidents and no older period's report; and the incremental exports are the bytes a
full render gives.

The store is made for the test with dates relative to today, so "the current week and
quarter" are known: incident X lies in the quarter before the current one, every other
incident before X.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.reports.periods import Quarter, Week, latest_complete_quarter, latest_complete_week
from tests.conftest import PROJECT_ROOT, postmortem, write


def _stamp(day, hour: int) -> str:
    return datetime.combine(day, time(hour), UTC).isoformat()


def _incident(store: Path, n: int, wednesday) -> Path:
    return write(store / f"PM-{n:03d}.md", postmortem(
        f"PM-2026-{n:03d}", title=f"Support bot quoted a retired refund policy ({n})",
        started=_stamp(wednesday, 10), resolved=_stamp(wednesday, 14),
        published=_stamp(wednesday + timedelta(days=1), 9)).replace("publication: internal", "publication: external"))


@pytest.fixture
def outputs(tmp_path):
    """A store of five incidents, its warehouse, reports and Dagster home, all under tmp_path."""
    now = datetime.now(UTC)
    headline_quarter = latest_complete_quarter(now)
    x_week = Week.containing(headline_quarter.shift(-1).start + timedelta(days=21))
    store = tmp_path / "store"
    for n, weeks_before in enumerate((30, 24, 18, 12), start=1):
        _incident(store, n, x_week.shift(-weeks_before).start + timedelta(days=2))
    x_path = _incident(store, 5, x_week.start + timedelta(days=2))
    env = {**os.environ, "EMBERLINE_POSTMORTEMS": str(store), "EMBERLINE_DB": str(tmp_path / "out" / "wh.duckdb"),
           "EMBERLINE_REPORTS": str(tmp_path / "out" / "reports"),
           "EMBERLINE_EXPORTS": str(tmp_path / "out" / "exports"), "EMBERLINE_TIMEZONE": "UTC",
           "DAGSTER_HOME": str(tmp_path / "dagster"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("EMBERLINE_WEBHOOK_URL", None)
    return {"env": env, "out": tmp_path / "out", "x_path": x_path, "x_week": x_week,
            "x_quarter": Quarter.containing(x_week.start), "headline_week": latest_complete_week(now),
            "headline_quarter": headline_quarter}


def run(env: dict) -> None:
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "run"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def staged(out: Path) -> set[str]:
    """The reports the last run rendered: the staging folder holds exactly those."""
    return {p.stem for p in (out / "build" / "outputs" / "reports").rglob("*.md")}


def last_metadata(env: dict, asset: str, key: str):
    """A value the last run's materialization of `asset` recorded."""
    import dagster as dg

    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    return event.asset_materialization.metadata[key].value


def skipped(env: dict) -> dict[str, bool]:
    """Which steps found their inputs unchanged in the last run (and so did no work)."""
    return {"themes": last_metadata(env, "themes", "inputs_unchanged"),
            "similar_incidents": last_metadata(env, "similar_incidents", "inputs_unchanged"),
            "weekly_report": last_metadata(env, "weekly_report", "warehouse_unchanged"),
            "quarterly_retrospective": last_metadata(env, "quarterly_retrospective", "warehouse_unchanged"),
            "external_postmortems": last_metadata(env, "external_postmortems", "inputs_unchanged"),
            "eval_cases_export": last_metadata(env, "eval_cases_export", "inputs_unchanged")}


def stems(names) -> set[str]:
    return {Path(name).stem for name in names}


def test_unchanged_rerun_rewrites_nothing_and_one_edit_rewrites_its_week_and_quarter(outputs):
    out, env = outputs["out"], outputs["env"]
    run(env)
    assert not any(skipped(env).values())
    reports = out / "reports"
    x_files = {f"weekly-{outputs['x_week']}", f"quarterly-{outputs['x_quarter']}"}
    current = {f"weekly-{outputs['headline_week']}", f"quarterly-{outputs['headline_quarter']}"}
    first = mtimes(out / "reports") | mtimes(out / "exports")
    assert stems(mtimes(reports)) >= x_files | current  # every week back to the first incident has its report
    assert len(stems(mtimes(reports))) > 20

    run(env)
    assert mtimes(out / "reports") | mtimes(out / "exports") == first  # not one file rewritten
    assert staged(out) == current  # only the current week and quarter were rendered again
    assert all(skipped(env).values())

    before = mtimes(reports)
    text = outputs["x_path"].read_text()
    outputs["x_path"].write_text(text.replace("severity: SEV2", "severity: SEV1", 1))
    run(env)
    after = mtimes(reports)
    rewritten = stems(name for name in after if after[name] != before.get(name))
    assert staged(out) == x_files | current
    assert x_files <= rewritten <= x_files | current
    assert "SEV1" in (reports / f"weekly-{outputs['x_week']}.md").read_text()
    # Severity is not among what the themes are built from; the reports and exports read it.
    assert skipped(env) == {"themes": True, "similar_incidents": True, "weekly_report": False,
                            "quarterly_retrospective": False, "external_postmortems": False,
                            "eval_cases_export": False}
    with duckdb.connect(str(out / "build" / "wh.duckdb"), read_only=True) as con:
        recorded = dict(con.execute("""SELECT kind || '-' || period, fingerprint FROM report_fingerprints
                                       WHERE kind IN ('weekly', 'quarterly')""").fetchall())
        external = dict(con.execute("SELECT period, fingerprint FROM report_fingerprints WHERE kind = 'external'"
                                    ).fetchall())
    assert stems(mtimes(reports)) == set(recorded)  # every published report has its fingerprint
    assert set(external) == {f"PM-2026-{n:03d}" for n in range(1, 6)}
    # The external post-mortems and the eval cases: only the edited incident was rendered again.
    assert last_metadata(env, "external_postmortems", "rendered") == 1
    assert last_metadata(env, "external_postmortems", "unchanged_not_rendered") == 4
    assert last_metadata(env, "eval_cases_export", "incidents_rendered") == 1
    assert_exports_as_a_full_render(out)


def assert_exports_as_a_full_render(out: Path) -> None:
    """The published eval export files are, byte for byte, what a render of every incident
    from the warehouse gives (no cache)."""
    from pipelines.reports.evals import EXPORT_FILES, write_eval_exports

    full = out / "full-render"
    with duckdb.connect(str(out / "build" / "wh.duckdb"), read_only=True) as con:
        write_eval_exports(con, full)
    for name in EXPORT_FILES:
        assert (out / "exports" / name).read_bytes() == (full / name).read_bytes(), name


def similar_lists(out: Path) -> dict[str, list]:
    with duckdb.connect(str(out / "build" / "wh.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT incident_id, rank, similar_incident_id, similarity FROM similar_incidents "
                           "ORDER BY ALL").fetchall()
    lists: dict[str, list] = {}
    for incident, *rest in rows:
        lists.setdefault(incident, []).append(tuple(rest))
    return lists


def test_adding_an_incident_touches_only_its_own_periods(outputs):
    out, env = outputs["out"], outputs["env"]
    run(env)
    reports = out / "reports"
    before, similar_before = mtimes(reports), similar_lists(out)
    assert similar_before["PM-2026-005"] and "PM-2026-001" not in similar_before  # the first has none earlier
    # Filed now: an incident of the week just ended. Every period before it stays as it was
    # (a later period would not: it counts the incidents that had happened by its end).
    _incident(outputs["x_path"].parent, 6, outputs["headline_week"].start + timedelta(days=2))
    run(env)
    after, similar_after = mtimes(reports), similar_lists(out)
    rewritten = stems(name for name in after if after[name] != before.get(name))
    assert rewritten == {f"weekly-{outputs['headline_week']}"}
    # Each incident lists the incidents that had happened by its date: a later one changes no list.
    assert {k: v for k, v in similar_after.items() if k != "PM-2026-006"} == similar_before
    assert {s for _, s, _ in similar_after["PM-2026-006"]} == {f"PM-2026-{n:03d}" for n in range(1, 6)}
    assert last_metadata(env, "external_postmortems", "unchanged_not_rendered") == 5
    assert_exports_as_a_full_render(out)
