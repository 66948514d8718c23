from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import duckdb

from pipelines.definitions import defs
from pipelines.defs.ingest import INGEST_TABLES, ingest_postmortems
from pipelines.defs.publish import published_warehouse
from pipelines.defs.resources import Warehouse
from tests.conftest import PROJECT_ROOT, postmortem, write


def test_definitions_load_with_the_expected_assets_and_jobs():
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"postmortem_files", "published_warehouse", *INGEST_TABLES} <= keys
    assert {"emberline_job", "ingest_job"} <= {job.name for job in defs.resolve_all_job_defs()}


def test_dagster_validates_the_code_location(tmp_path):
    # Dagster's CLI refuses a DAGSTER_HOME that does not exist; a clean clone has no
    # data/dagster_home yet, so the test brings its own instead of relying on the Makefile's.
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_materialize_ingest_into_a_temporary_warehouse(tmp_path):
    store = tmp_path / "store"
    write(store / "PM-2026-001.md", postmortem("PM-2026-001"))
    write(store / "PM-2026-002.md", postmortem("PM-2026-002", extra="Dave made a mistake."))
    write(store / "broken.md", "---\nid: [\n---\n")
    warehouse = Warehouse(postmortems_dir=str(store), database=str(tmp_path / "warehouse.duckdb"))
    result = dg.materialize([ingest_postmortems, published_warehouse], resources={"warehouse": warehouse})
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert set(INGEST_TABLES) | {"published_warehouse"} <= materialized
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        # The broken file still loads (under its path) and carries an ingest issue.
        assert con.execute("SELECT count(*) FROM postmortems").fetchall() == [(3,)]
        assert con.execute("SELECT count(*) FROM lint_findings WHERE rule_id = 'EL006'").fetchall() == [(1,)]
        assert con.execute("SELECT source_path, kind FROM ingest_issues").fetchall() == [("broken.md", "malformed_yaml")]
