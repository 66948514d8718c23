"""The eval suite assets through real Dagster materializations, and the blocking check that
guards every eval export format."""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.defs import checks
from pipelines.defs.evals import EVAL_TABLES, EvalSources, eval_suite_tables
from pipelines.defs.ingest import ingest_postmortems
from pipelines.defs.reports import ReportOutputs, eval_cases_export, published_reports
from pipelines.defs.resources import Warehouse
from pipelines.definitions import defs
from tests.conftest import postmortem, write


def _resources(store, tmp_path, suite="", results=""):
    return {"warehouse": Warehouse(postmortems_dir=str(store), database=str(tmp_path / "warehouse.duckdb")),
            "eval_sources": EvalSources(suite=suite, results=results),
            "report_outputs": ReportOutputs(reports_dir=str(tmp_path / "reports"), exports_dir=str(tmp_path / "exports"),
                                            staging_dir=str(tmp_path / "build" / "outputs"),
                                            external_config=str(tmp_path / "none.yaml"))}


def test_definitions_have_the_eval_tables_in_the_main_job():
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert set(EVAL_TABLES) <= keys
    job_keys = {k.to_user_string() for k in defs.resolve_job_def("emberline_job").asset_layer.selected_asset_keys}
    assert set(EVAL_TABLES) <= job_keys


def test_materialize_links_the_suite_and_exports_every_format(store, tmp_path):
    write(store / "a.md", postmortem("PM-2026-001"))
    write(store / "b.md", postmortem("PM-2026-002").replace("refund-policy-freshness", "refund-tone"))
    suite = tmp_path / "evals"
    write(suite / "support" / "refund-policy-freshness.yaml", "tests: []\n")
    result = dg.materialize([ingest_postmortems, eval_suite_tables, eval_cases_export,
                             checks.eval_cases_export_is_redacted],
                            resources=_resources(store, tmp_path, str(suite), str(tmp_path / "no-results")))
    assert result.success
    metadata = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in result.get_asset_materialization_events()}
    assert metadata["eval_case_status"]["present"].value == 1 and metadata["eval_case_status"]["missing"].value == 1
    assert metadata["eval_issues"]["errors"].value == 1  # the results folder does not exist
    with duckdb.connect(str(tmp_path / "build" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT incident_id, status FROM eval_case_status ORDER BY 1").fetchall() == [
            ("PM-2026-001", "present"), ("PM-2026-002", "missing")]
        assert con.execute("SELECT kind FROM eval_issues").fetchall() == [("results_missing",)]
    staged = tmp_path / "build" / "outputs" / "exports"
    assert {"eval_cases.inspect.jsonl", "eval_cases.promptfoo.yaml", "eval_case_stubs.promptfoo.yaml"} <= {
        p.name for p in staged.iterdir()}
    assert "PM-2026-002" in (staged / "eval_case_stubs.inspect.jsonl").read_text()


def test_a_leaking_promptfoo_export_fails_its_check_and_is_not_published(store, tmp_path, monkeypatch):
    write(store / "a.md", postmortem("PM-2026-001"))

    def leaky(con, out_dir, formats=None, **kwargs):
        from pipelines.reports.evals import EvalExport

        path = out_dir / "eval_cases.promptfoo.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("tests:\n- vars: {input: 'mail dana.kim@example.com'}\n")
        return EvalExport(path, path, 1, 0, True, {path.name: path})

    monkeypatch.setattr("pipelines.defs.reports.write_eval_exports", leaky)
    result = dg.materialize([ingest_postmortems, eval_cases_export, checks.eval_cases_export_is_redacted,
                             published_reports], resources=_resources(store, tmp_path), raise_on_error=False)
    assert not result.success
    [guard] = [e for e in result.get_asset_check_evaluations()
               if e.asset_check_key.name == "eval_cases_export_is_redacted"]
    assert not guard.passed and guard.metadata["offending"].value == [
        str(tmp_path / "build" / "outputs" / "exports" / "eval_cases.promptfoo.yaml")]
    assert not (tmp_path / "exports").exists()
