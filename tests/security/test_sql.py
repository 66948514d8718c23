"""Ad-hoc SQL cannot change the session, the warehouse or the machine, on the dashboard page
and in `emberline sql` alike; and one query cannot take the memory of everyone else."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from dashboards import queries
from pipelines.cli import main
from pipelines.warehouse.query import QueryLimits, QueryRefused, checked_statements, run_readonly_query


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE postmortems AS SELECT 'PM-2026-00' || i AS incident_id FROM range(3) t(i)")
    return path


@pytest.mark.parametrize("sql", [
    "ATTACH ':memory:' AS m", "DETACH warehouse", "USE memory", "SET threads = 64", "RESET memory_limit",
    "PRAGMA enable_profiling", "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", "LOAD httpfs",
    "INSTALL httpfs", "COPY postmortems TO 'x.csv'", "EXPORT DATABASE 'x'", "CREATE TABLE t AS SELECT 1",
    "INSERT INTO postmortems VALUES ('x')", "BEGIN TRANSACTION", "CHECKPOINT", "CALL pragma_version()",
    "SELECT 1; ATTACH ':memory:' AS m", "EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1",
])
def test_anything_but_a_query_is_refused_before_it_runs(sql):
    with pytest.raises(QueryRefused, match="^refused: "):
        checked_statements(sql)


def test_queries_explain_and_describe_are_allowed():
    for sql in ("SELECT 1", "FROM postmortems", "WITH a AS (SELECT 1) SELECT * FROM a", "EXPLAIN SELECT 1",
                "DESCRIBE postmortems", "SHOW TABLES", "SELECT 1; SELECT 2"):
        assert checked_statements(sql)


def test_a_comment_only_query_gets_a_clear_refusal():
    with pytest.raises(QueryRefused, match="^refused: the query has no statement"):
        checked_statements("-- what about this?\n/* or this */")


def test_a_failing_query_says_error_and_duckdbs_message(warehouse):
    with pytest.raises(QueryRefused, match="^error: .*nowhere"):
        run_readonly_query(warehouse, "SELECT nonsense FROM nowhere")


def test_attach_use_detach_cannot_break_the_page_for_other_sessions(warehouse):
    version = queries.current_version(warehouse)
    for sql in ("ATTACH ':memory:' AS m", "USE m", "DETACH warehouse", "ATTACH ':memory:' AS m; USE m"):
        with pytest.raises(QueryRefused, match="^refused: "):
            queries.run_sql(version, sql)
    assert queries.run_sql(version, "SELECT count(*) AS n FROM postmortems").frame["n"].to_list() == [3]


def test_a_result_is_capped_in_bytes_as_well_as_rows(warehouse):
    limits = QueryLimits(max_bytes=2_000_000)
    result = run_readonly_query(warehouse, "SELECT repeat('x', 100000) AS big FROM range(5000)", limits=limits)
    assert result.truncated_by == "bytes" and result.frame.height <= 20
    result = run_readonly_query(warehouse, "SELECT * FROM range(20000)", limits=limits)
    assert result.truncated_by == "rows" and result.frame.height == 10_000


def test_twenty_thousand_wide_rows_stay_bounded_in_memory(warehouse):
    # In a child process, so the peak is this query's. The probe (5,000 rows of 1 MB)
    # reached 12.5 GB before the byte cap and about 4 GB after: what is left is DuckDB's own
    # result chunk of 2,048 rows (about 1.5 GB here, varying by a tenth from run to run). Rows
    # of 200 KB, 20,000 of them: 4 GB of results without the cap, so a bound well above the
    # chunk's cost still tells a capped query from an uncapped one.
    code = ("import resource; from pipelines.warehouse.query import run_readonly_query; "
            f"r = run_readonly_query({str(warehouse)!r}, \"SELECT repeat('x', 200000) AS big FROM range(20000)\"); "
            "print(r.truncated_by, r.frame.height, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    truncated_by, rows, peak_mb = out.stdout.split()
    assert truncated_by == "bytes" and int(rows) <= 400 and int(peak_mb) < 3_000


def test_the_cli_has_the_same_limits_and_a_time_limit(warehouse, capsys):
    assert main(["sql", "-- nothing here", "--db", str(warehouse)]) == 2
    assert capsys.readouterr().err.startswith("refused: the query has no statement")
    assert main(["sql", "ATTACH ':memory:' AS m", "--db", str(warehouse)]) == 2
    assert capsys.readouterr().err.startswith("refused: ATTACH")
    assert main(["sql", "SELECT count(*) FROM range(100000000000) a", "--db", str(warehouse), "--timeout", "0.5"]) == 2
    assert "stopped after 0.5 s" in capsys.readouterr().err
    assert main(["sql", "SELECT repeat('x', 100000) FROM range(100)", "--db", str(warehouse), "--max-mb", "1",
                 "--format", "csv"]) == 0
    assert "stopped at 1 MB" in capsys.readouterr().err
