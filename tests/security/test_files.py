"""Only regular files are read, and a file that takes too long becomes an ingest issue."""

from __future__ import annotations

import os
import subprocess
import sys

from pipelines.warehouse.db import connect
from pipelines.warehouse.ingest import ingest_store
from tests.conftest import postmortem, write


def test_lint_given_a_fifo_reports_it_instead_of_blocking(tmp_path):
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    # A child process: the timeout only guards against the old behaviour, a hang.
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "lint", str(fifo)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and "not a regular file" in done.stdout


def test_ingest_with_a_fifo_in_the_store_loads_everything_else(store, tmp_path):
    write(store / "ok.md", postmortem("PM-2026-001"))
    os.mkfifo(store / "pipe.md")
    con = connect(tmp_path / "warehouse.duckdb")
    ingest_store(con, store)
    assert con.execute("SELECT incident_id FROM postmortems").fetchall() == [("PM-2026-001",)]
    assert con.execute("SELECT source_path FROM ingest_issues").fetchall() == [("pipe.md",)]


def test_a_file_over_its_time_budget_is_an_ingest_issue(store, tmp_path, monkeypatch):
    write(store / "ok.md", postmortem("PM-2026-001"))
    monkeypatch.setenv("EMBERLINE_FILE_SECONDS", "0")
    con = connect(tmp_path / "warehouse.duckdb")
    ingest_store(con, store)  # does not fail the run
    [(kind, message)] = con.execute("SELECT kind, message FROM ingest_issues").fetchall()
    assert kind == "over_time_budget" and "EMBERLINE_FILE_SECONDS" in message
