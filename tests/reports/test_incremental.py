"""Which reports a run renders (pipelines/reports/incremental.py), on a store whose history
starts in 1998: after publication nothing is loaded but the headline week, and a changed
incident re-renders the weeks whose inputs changed, no other."""

from __future__ import annotations

import pytest

from pipelines.reports.incremental import plan_reports, write_plan
from pipelines.reports.outputs import report_weeks
from pipelines.reports.periods import Week
from pipelines.warehouse.db import connect
from pipelines.warehouse.fingerprints import record_reports, record_step
from pipelines.warehouse.ingest import ingest_store
from tests.conftest import postmortem, write

HEADLINE = Week.parse("2026-W20")


@pytest.fixture
def long_history(store, tmp_path):
    write(store / "old.md", postmortem("PM-1998-001", title="Batch scorer read a stale feature table",
                                       started="1998-03-02T14:05:00+00:00", resolved="1998-03-02T18:00:00+00:00",
                                       published="1998-03-04T10:00:00+00:00"))
    write(store / "new.md", postmortem("PM-2026-001"))
    con = connect(tmp_path / "warehouse.duckdb")
    ingest_store(con, store)
    yield con, store, tmp_path / "reports"
    con.close()


def publish(con, plan, out) -> None:
    """What `published_reports` does after copying the files: record the fingerprints."""
    write_plan(plan, out)
    record_reports(con, plan.kind, {label: plan.fingerprints[label] for label in plan.rendered})
    record_step(con, plan.step, plan.inputs_fingerprint)


def test_a_long_history_costs_nothing_when_nothing_changed(long_history):
    con, _, out = long_history
    weeks = report_weeks(con, HEADLINE)
    assert len(weeks) > 1400
    first = plan_reports(con, weeks, HEADLINE, published_dir=out)
    assert not first.nothing_changed and first.rendered == [w.label for w in weeks]
    publish(con, first, out)

    again = plan_reports(con, weeks, HEADLINE, published_dir=out)
    assert again.nothing_changed
    assert again.rendered == [HEADLINE.label] and set(again.fingerprints) == {HEADLINE.label}  # nothing else loaded

    (out / "weekly-1998-W20.md").unlink()  # a published file gone: that week is rendered again
    assert plan_reports(con, weeks, HEADLINE, published_dir=out).rendered == ["1998-W20", HEADLINE.label]


def test_a_changed_incident_re_renders_the_weeks_that_show_it(long_history):
    con, store, out = long_history
    weeks = report_weeks(con, HEADLINE)
    publish(con, plan_reports(con, weeks, HEADLINE, published_dir=out), out)
    text = (store / "old.md").read_text()
    (store / "old.md").write_text(text.replace("Batch scorer read a stale feature table",
                                               "Batch scorer read last week's feature table"))
    ingest_store(con, store)

    plan = plan_reports(con, weeks, HEADLINE, published_dir=out)
    assert not plan.nothing_changed and len(plan.fingerprints) == len(weeks)
    # The title is shown in the week the incident started, resolved and was published in.
    assert plan.rendered == ["1998-W10", HEADLINE.label]
    publish(con, plan, out)
    assert "last week's feature table" in (out / "weekly-1998-W10.md").read_text()
    assert plan_reports(con, weeks, HEADLINE, published_dir=out).nothing_changed


# --------------------------------------------------------------------------------------
# The eval case export: each incident's pieces are rendered again only when its inputs
# change, and the files are the bytes a render of every incident gives.


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_the_eval_export_renders_only_changed_incidents_and_equals_a_full_render(sample_warehouse, tmp_path):
    import shutil

    import duckdb

    from pipelines.reports.evals import EXPORT_FILES, write_eval_exports

    shutil.copy(sample_warehouse, tmp_path / "w.duckdb")
    cache, out = tmp_path / "pieces.json", tmp_path / "incremental"
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        incidents = [r[0] for r in con.execute("SELECT incident_id FROM postmortems ORDER BY 1").fetchall()]
        first = write_eval_exports(con, out, cache=cache)
        assert first.rendered == len(incidents) > 3 and set(_files(out)) == set(EXPORT_FILES)
        again = write_eval_exports(con, out, cache=cache)
        assert again.rendered == 0 and not again.changed  # nothing changed: nothing rendered or written

        edited = incidents[len(incidents) // 2]
        con.execute("UPDATE postmortems SET title = title || ' (revised)', new_eval_case_id = NULL, "
                    "new_eval_case_checks = NULL "
                    "WHERE incident_id = ?", [edited])  # now a stub instead of a case
        con.execute("DELETE FROM postmortems WHERE incident_id = ?", [incidents[0]])
        after = write_eval_exports(con, out, cache=cache)
        full = write_eval_exports(con, tmp_path / "full")
    assert after.rendered == 1 and after.changed and full.rendered == len(incidents) - 1
    assert _files(out) == _files(tmp_path / "full")
    assert "(revised)" in (out / "incidents_without_eval_case.jsonl").read_text()
    assert incidents[0] not in (out / "eval_cases.jsonl").read_text()


def test_the_promptfoo_file_from_pieces_is_the_yaml_of_the_whole_config(sample_con):
    from pipelines.reports.evals import _yaml, eval_case_records, promptfoo_config, render_exports

    cases, missing = eval_case_records(sample_con)
    files = render_exports(cases, missing)
    assert files["eval_cases.promptfoo.yaml"] == _yaml(promptfoo_config(cases))
    assert files["eval_case_stubs.promptfoo.yaml"] == _yaml(promptfoo_config(missing, stub=True))
    assert render_exports([], [])["eval_cases.promptfoo.yaml"] == _yaml(promptfoo_config([]))
