"""Asset checks fire on planted bad post-mortems, name the offenders, and the blocking ones
stop the outputs they guard."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from pipelines.defs import checks
from pipelines.defs.ingest import ingest_postmortems
from pipelines.defs.reports import (
    ReportOutputs,
    eval_cases_export,
    external_postmortems,
    published_reports,
    quarterly_retrospective,
    weekly_report,
)
from pipelines.defs.resources import Warehouse
from tests.conftest import postmortem, write
from tests.reports.test_exports import external

WAREHOUSE_CHECKS = [checks.files_failed_to_ingest, checks.postmortems_missing_sections, checks.no_blame_language,
                    checks.no_unredacted_sensitive_data, checks.action_items_have_owner_and_deadline,
                    checks.every_incident_has_eval_case, checks.postmortems_within_72_hours]
OUTPUT_ASSETS = [weekly_report, quarterly_retrospective, external_postmortems, eval_cases_export, published_reports]
OUTPUT_CHECKS = [checks.weekly_report_is_redacted, checks.quarterly_retrospective_is_redacted,
                 checks.external_postmortems_are_public_safe, checks.eval_cases_export_is_redacted]


@pytest.fixture
def planted(store, tmp_path):
    write(store / "good.md", postmortem("PM-2026-001"))
    write(store / "blame.md", postmortem("PM-2026-002", extra="Dave made a mistake and was careless."))
    write(store / "leak.md", external("PM-2026-003", sample="Call me on +1 415 555 0182, dana.kim@example.com"))
    write(store / "late.md", postmortem("PM-2026-004", published="2026-03-09T10:00:00+00:00"))
    write(store / "no-owner.md", postmortem("PM-2026-005").replace(
        "| Alert on index age over 26 hours | support-ai | 2026-04-01 | open |",
        "| Alert on index age over 26 hours | | | open |"))
    write(store / "no-eval.md", postmortem("PM-2026-006").replace(
        "- Eval case: evals/support/refund-policy-freshness.yaml\n", "").replace(
        "- Checks: answers about refunds cite an article updated after the last policy change.\n", ""))
    write(store / "no-samples.md", postmortem("PM-2026-007").replace(
        "> You can get a full refund within 60 days, [CUSTOMER_NAME].", "").replace(
        "> Our 60-day refund window applies to order [ORDER_ID].", ""))
    (store / "empty.md").write_bytes(b"")
    warehouse = Warehouse(postmortems_dir=str(store), database=str(tmp_path / "warehouse.duckdb"))
    outputs = ReportOutputs(reports_dir=str(tmp_path / "reports"), exports_dir=str(tmp_path / "exports"),
                            staging_dir=str(tmp_path / "build" / "outputs"), external_config=str(tmp_path / "none.yaml"))
    return warehouse, outputs


def evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}


def offending(evaluation) -> list[str]:
    return evaluation.metadata["offending"].value


def test_quality_checks_name_the_planted_post_mortems(planted):
    warehouse, _ = planted
    result = dg.materialize([ingest_postmortems, *WAREHOUSE_CHECKS], resources={"warehouse": warehouse})
    assert result.success  # quality findings never stop a run
    found = evaluations(result)
    expected = {
        "no_blame_language": (["PM-2026-002"], dg.AssetCheckSeverity.ERROR),
        "no_unredacted_sensitive_data": (["PM-2026-003"], dg.AssetCheckSeverity.ERROR),
        "postmortems_within_72_hours": (["PM-2026-004"], dg.AssetCheckSeverity.WARN),
        "action_items_have_owner_and_deadline": (["PM-2026-005"], dg.AssetCheckSeverity.WARN),
        "every_incident_has_eval_case": (["PM-2026-006"], dg.AssetCheckSeverity.WARN),
        # PM-2026-006 misses its "new eval case" section, PM-2026-007 its sample outputs.
        "postmortems_missing_sections": (["PM-2026-006", "PM-2026-007"], dg.AssetCheckSeverity.WARN),
        "files_failed_to_ingest": (["empty.md"], dg.AssetCheckSeverity.WARN),
    }
    for name, (ids, severity) in expected.items():
        assert not found[name].passed, name
        assert offending(found[name]) == ids, name
        assert found[name].severity == severity, name
    # Metadata says what is wrong without repeating the sensitive value.
    details = str(found["no_unredacted_sensitive_data"].metadata["details"].value)
    assert "unredacted email" in details and "dana.kim@example.com" not in details


def test_clean_store_passes_every_quality_check(store, tmp_path):
    write(store / "good.md", postmortem("PM-2026-001"))
    warehouse = Warehouse(postmortems_dir=str(store), database=str(tmp_path / "warehouse.duckdb"))
    result = dg.materialize([ingest_postmortems, *WAREHOUSE_CHECKS], resources={"warehouse": warehouse})
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_planted_sensitive_post_mortem_never_reaches_the_external_export(planted, tmp_path):
    warehouse, outputs = planted
    result = dg.materialize([ingest_postmortems, *OUTPUT_ASSETS, *OUTPUT_CHECKS],
                            resources={"warehouse": warehouse, "report_outputs": outputs})
    assert result.success
    exported = result.asset_materializations_for_node("external_postmortems")[0].metadata
    assert "PM-2026-003" in exported["refused"].value and exported["exported"].value == []
    assert not (tmp_path / "exports" / "external" / "PM-2026-003.md").exists()
    assert all(e.passed for e in result.get_asset_check_evaluations())
    # Everything else was published, and the sample with the email is masked in the eval export.
    evals = (tmp_path / "exports" / "eval_cases.jsonl").read_text()
    assert "[EMAIL]" in evals and "[PHONE]" in evals and "dana.kim" not in evals
    assert sorted(p.name for p in (tmp_path / "reports").glob("weekly-*.html"))


def test_a_leaking_report_fails_its_check_and_nothing_is_published(planted, tmp_path, monkeypatch):
    warehouse, outputs = planted

    from pipelines.reports.incremental import write_plan

    def leaky_writer(plan, out_dir):
        if plan.kind != "weekly":
            return write_plan(plan, out_dir)
        # Simulates a renderer bug: the staged file bypasses masking.
        (out_dir / "weekly-2026-W10.md").write_text("escalate to dana.kim@example.com\n")
        from pipelines.reports.outputs import ReportFiles

        return [ReportFiles("2026-W10", out_dir / "weekly-2026-W10.md", out_dir / "weekly-2026-W10.md", True)]

    monkeypatch.setattr("pipelines.defs.reports.write_plan", leaky_writer)
    result = dg.materialize([ingest_postmortems, *OUTPUT_ASSETS, *OUTPUT_CHECKS],
                            resources={"warehouse": warehouse, "report_outputs": outputs}, raise_on_error=False)
    assert not result.success
    guard = evaluations(result)["weekly_report_is_redacted"]
    assert not guard.passed and guard.severity == dg.AssetCheckSeverity.ERROR
    assert offending(guard) == [str(tmp_path / "build" / "outputs" / "reports" / "weekly" / "weekly-2026-W10.md")]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "weekly_report" in materialized and "published_reports" not in materialized
    assert not (tmp_path / "reports").exists() and not (tmp_path / "exports").exists()


def test_internal_names_in_an_external_export_block_publication(planted, tmp_path, monkeypatch):
    warehouse, outputs = planted
    (tmp_path / "none.yaml").write_text("replacements:\n  Langfuse: tracing tool\n")

    def careless_export(con, out_dir, config, **kwargs):
        from pipelines.reports.external import ExternalExport

        path = out_dir / "external" / "PM-2026-001.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("We saw it in Langfuse.\n")
        return ExternalExport(exported={"PM-2026-001": path})

    monkeypatch.setattr("pipelines.defs.reports.export_external_postmortems", careless_export)
    result = dg.materialize([ingest_postmortems, *OUTPUT_ASSETS, *OUTPUT_CHECKS],
                            resources={"warehouse": warehouse, "report_outputs": outputs}, raise_on_error=False)
    guard = evaluations(result)["external_postmortems_are_public_safe"]
    assert not guard.passed and "internal names: Langfuse" in str(guard.metadata["details"].value)
    assert "published_reports" not in {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


# --------------------------------------------------------------------------------------
# The checks on the theme assets, against stand-in assets that write the documented tables.


def _theme_stub(name: str, sql: str):
    @dg.asset(name=name)
    def stub(warehouse: Warehouse) -> None:
        with warehouse.connect() as con:
            con.execute(sql)

    return stub


EMBEDDINGS_DDL = """
    CREATE TABLE IF NOT EXISTS embeddings (model_id VARCHAR, text_hash VARCHAR, dim INTEGER, vector FLOAT[],
                                           embedded_at TIMESTAMPTZ);
    CREATE TABLE IF NOT EXISTS theme_items (theme_set VARCHAR, item_id VARCHAR, incident_id VARCHAR, text VARCHAR,
                                            text_hash VARCHAR, category VARCHAR);
    DELETE FROM embeddings; DELETE FROM theme_items;
    INSERT INTO theme_items VALUES ('root_cause', 'PM-1#1', 'PM-1', 'a', 'h1', 'prompt'),
                                   ('root_cause', 'PM-2#1', 'PM-2', 'b', 'h2', 'prompt'),
                                   ('root_cause', 'PM-3#1', 'PM-3', 'c', 'h3', 'prompt'),
                                   ('root_cause', 'PM-4#1', 'PM-4', 'd', 'h4', 'prompt');
"""


def test_embedding_check_blocks_what_is_built_on_bad_vectors(tmp_path):
    warehouse = Warehouse(postmortems_dir=str(tmp_path), database=str(tmp_path / "w.duckdb"))
    embeddings = _theme_stub("embeddings", EMBEDDINGS_DDL + """
        INSERT INTO embeddings VALUES ('m', 'h1', 3, [0.1, 0.2, 0.3], now()), ('m', 'h2', 3, NULL, now()),
                                      ('m', 'h3', 3, [0.1, 0.2], now());""")

    @dg.asset(deps=[embeddings])
    def clustered() -> None:
        pass

    result = dg.materialize([embeddings, clustered, checks.embedding_dimensions_and_vectors],
                            resources={"warehouse": warehouse}, raise_on_error=False)
    guard = evaluations(result)["embedding_dimensions_and_vectors"]
    assert not guard.passed and offending(guard) == ["PM-2", "PM-3", "PM-4"]  # null, wrong length, missing
    assert "null vectors 1" in guard.description and "wrong length 1" in guard.description
    assert "clustered" not in {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_embedding_check_passes_on_sound_vectors(tmp_path):
    warehouse = Warehouse(postmortems_dir=str(tmp_path), database=str(tmp_path / "w.duckdb"))
    embeddings = _theme_stub("embeddings", EMBEDDINGS_DDL + """
        INSERT INTO embeddings SELECT 'm', 'h' || i, 3, [0.1, 0.2, i::FLOAT], now() FROM range(1, 5) t(i);""")
    result = dg.materialize([embeddings, checks.embedding_dimensions_and_vectors], resources={"warehouse": warehouse})
    assert evaluations(result)["embedding_dimensions_and_vectors"].passed


@pytest.mark.parametrize("unclustered, passed", [(1, True), (3, False)])
def test_unclustered_share_is_checked_against_ten_percent(tmp_path, unclustered, passed):
    warehouse = Warehouse(postmortems_dir=str(tmp_path), database=str(tmp_path / "w.duckdb"))
    assignments = _theme_stub("theme_assignments", f"""
        CREATE TABLE theme_assignments (theme_set VARCHAR, item_id VARCHAR, incident_id VARCHAR, theme_id VARCHAR,
                                        similarity DOUBLE, status VARCHAR, reason VARCHAR);
        INSERT INTO theme_assignments
        SELECT 'root_cause', 'PM-' || i || '#1', 'PM-' || i,
               CASE WHEN i <= {unclustered} THEN NULL ELSE 'RC-001' END, 0.9,
               CASE WHEN i <= {unclustered} THEN 'unclustered' ELSE 'clustered' END,
               CASE WHEN i <= {unclustered} THEN 'too far from every theme' END
        FROM range(1, 21) t(i);""")
    result = dg.materialize([assignments, checks.unclustered_share_below_threshold], resources={"warehouse": warehouse})
    check = evaluations(result)["unclustered_share_below_threshold"]
    assert check.passed is passed and check.severity == dg.AssetCheckSeverity.WARN
    assert offending(check) == sorted(f"PM-{i}" for i in range(1, unclustered + 1))
    assert f"root_cause: {unclustered / 20:.1%} unclustered" in check.description


def test_checks_read_the_working_warehouse_not_the_published_one(planted):
    warehouse, _ = planted
    dg.materialize([ingest_postmortems], resources={"warehouse": warehouse})
    with duckdb.connect(str(warehouse.build_database), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM postmortems").fetchall()[0][0] == 7
