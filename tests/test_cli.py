from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipelines.cli import main, next_free_id
from pipelines.warehouse.db import connect
from pipelines.warehouse.ingest import ingest_store
from tests.conftest import PROJECT_ROOT, postmortem, write


def emberline(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=900)


@pytest.mark.parametrize("command", ["run", "ingest", "lint", "new", "sql", "similar", "explain"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: emberline {command}" in capsys.readouterr().out


def test_new_writes_the_template_with_the_next_free_id(store, capsys):
    write(store / "2026" / "PM-2026-007-old.md", postmortem("PM-2026-007"))
    write(store / "misc" / "renamed.md", postmortem("PM-2026-012"))  # id only in front matter
    assert next_free_id(store, 2026) == "PM-2026-013"
    assert main(["new", "Agent looped on a tool error", "--store", str(store)]) == 0
    [created] = [p for p in store.rglob("PM-2026-013-*.md")]
    assert created.name == "PM-2026-013-agent-looped-on-a-tool-error.md"
    text = created.read_text()
    assert "id: PM-2026-013" in text and "title: Agent looped on a tool error" in text
    assert "PM-2026-013" in capsys.readouterr().out


def test_lint_exit_status_and_json(store, capsys):
    clean = write(store / "clean.md", postmortem())
    blamed = write(store / "blamed.md", postmortem("PM-2026-002", extra="Dave made a mistake."))
    assert main(["lint", str(clean)]) == 0
    capsys.readouterr()
    assert main(["lint", str(blamed), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["files"] == 1
    assert {f["rule_id"] for f in report["findings"]} == {"EL006"}
    assert all(f["line"] and f["hint"] for f in report["findings"])
    assert main(["lint", str(store)]) == 1
    out = capsys.readouterr().out
    assert "blamed.md:" in out and "EL006 blame-language" in out and "2 files checked: 1 errors" in out  # "Dave made a mistake": one finding


def test_lint_reports_unreadable_input_as_an_error(store, capsys):
    (store / "empty.md").write_bytes(b"")
    assert main(["lint", str(store)]) == 1
    assert "empty_file" in capsys.readouterr().out


@pytest.fixture
def warehouse(tmp_path, store):
    write(store / "PM-2026-001.md", postmortem())
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as con:
        ingest_store(con, store)
    return path


def test_sql_prints_tables_csv_and_json(warehouse, capsys):
    assert main(["sql", "SELECT incident_id, severity FROM postmortems", "--db", str(warehouse)]) == 0
    assert "PM-2026-001" in capsys.readouterr().out
    assert main(["sql", "SELECT incident_id, services FROM postmortems", "--db", str(warehouse), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["incident_id,services", 'PM-2026-001,"[""support-assistant""]"']
    assert main(["sql", "SELECT quarter FROM postmortems", "--db", str(warehouse), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"quarter": "2026-Q1"}]


@pytest.mark.parametrize("query, reason", [
    ("DELETE FROM postmortems", "read-only"),
    ("CREATE TABLE x AS SELECT 1", "read-only"),
    ("SELECT * FROM read_csv('/etc/passwd')", "disabled"),
    ("COPY postmortems TO '/tmp/leak.csv'", "disabled"),
    ("SELECT nonsense FROM nowhere", "nowhere"),
])
def test_sql_refuses_writes_files_and_reports_errors(warehouse, capsys, query, reason):
    assert main(["sql", query, "--db", str(warehouse)]) == 2
    assert reason in capsys.readouterr().err


def test_sql_without_a_warehouse_says_how_to_build_one(tmp_path, capsys):
    assert main(["sql", "SELECT 1", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "make run" in capsys.readouterr().err


def test_ingest_command_runs_through_dagster_and_publishes(tmp_path, store):
    write(store / "PM-2026-001.md", postmortem())
    env = {"EMBERLINE_POSTMORTEMS": str(store), "EMBERLINE_DB": str(tmp_path / "wh.duckdb"),
           "DAGSTER_HOME": str(tmp_path / "dagster")}
    result = emberline("ingest", env=env)
    assert result.returncode == 0, result.stderr
    assert "incidents loaded:   1" in result.stdout
    assert (tmp_path / "wh.duckdb").exists() and (tmp_path / "build" / "wh.duckdb").exists()
    # The run is recorded in the Dagster instance, so the UI shows it.
    assert any((tmp_path / "dagster").rglob("*.db"))


def test_explain_shows_what_the_parser_reads_with_lines(tmp_path):
    from tests.postmortems.test_freeform import GOOGLE_DOC

    path = tmp_path / "batch-scoring.md"
    path.write_text(GOOGLE_DOC)
    result = emberline("explain", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "line 9: 'Root Causes' -> root_causes (rule)" in out
    assert "line 13: The feature export job wrote an empty partition" in out
    assert "started: 2026-03-12 01:00 (from timeline)" in out
    assert "None" not in out and "Traceback" not in out
