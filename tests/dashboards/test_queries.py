"""The dashboard's data access: read-only and sandboxed, fresh after every publish, never a
half-written warehouse, long queries stopped."""

from __future__ import annotations

import shutil
import threading

import duckdb
import pytest

from dashboards import queries
from pipelines.warehouse.db import publish
from pipelines.warehouse.query import QueryRefused
from tests.conftest import postmortem, write
from tests.dashboards.warehouses import build_warehouse


@pytest.fixture
def store_of(tmp_path):
    """store_of(n) -> a store with post-mortems PM-2026-001 .. PM-2026-00n."""
    def make(n: int, name: str = "store"):
        store = tmp_path / name
        shutil.rmtree(store, ignore_errors=True)
        for i in range(1, n + 1):
            write(store / f"PM-2026-{i:03d}.md", postmortem(f"PM-2026-{i:03d}", title=f"Incident number {i}"))
        return store
    return make


def incident_count(version) -> int:
    return queries.read_rows(version, "SELECT count(*) FROM postmortems")[0][0]


def test_version_is_the_files_identity_and_none_without_a_file(tmp_path, store_of):
    assert queries.current_version(tmp_path / "nothing.duckdb") is None
    published = build_warehouse(store_of(1), tmp_path / "pub" / "warehouse.duckdb")
    first = queries.current_version(published)
    assert first == queries.current_version(published)
    build_warehouse(store_of(2), published)
    assert queries.current_version(published) != first


def test_a_newly_published_warehouse_is_read_while_the_old_connection_is_open(tmp_path, store_of):
    """DuckDB hands back the already-open database for a path, even after the file was
    replaced: the dashboard must not, or it would serve the old warehouse forever."""
    published = build_warehouse(store_of(1), tmp_path / "pub" / "warehouse.duckdb")
    old = queries.current_version(published)
    assert incident_count(old) == 1
    build_warehouse(store_of(3), published)
    new = queries.current_version(published)
    assert incident_count(new) == 3
    assert incident_count(old) == 1  # a render that started on the old version finishes on it


def test_a_file_replaced_while_opening_is_not_cached_under_the_old_version(tmp_path, store_of):
    published = build_warehouse(store_of(1), tmp_path / "pub" / "warehouse.duckdb")
    pinned = queries.current_version(published)
    build_warehouse(store_of(2), published)  # published again after the run pinned its version
    with pytest.raises(queries.WarehouseChanged):
        queries.connection(pinned)
    assert incident_count(queries.current_version(published)) == 2


def test_cached_results_are_keyed_by_version(tmp_path, store_of):
    published = build_warehouse(store_of(1), tmp_path / "pub" / "warehouse.duckdb")
    before = queries.warehouse_summary(queries.current_version(published))
    build_warehouse(store_of(2), published)
    after = queries.warehouse_summary(queries.current_version(published))
    assert (before["incidents"], after["incidents"]) == (1, 2)


def test_readers_never_see_a_half_written_warehouse(tmp_path, store_of):
    """Publish two different warehouses over each other again and again while readers
    query: every reader sees one whole warehouse, whose tables agree with each other."""
    small = build_warehouse(store_of(1, "small"), tmp_path / "small" / "warehouse.duckdb")
    large = build_warehouse(store_of(4, "large"), tmp_path / "large" / "warehouse.duckdb")
    published = tmp_path / "pub" / "warehouse.duckdb"
    publish(small, published)
    stop = threading.Event()
    seen, errors = [], []

    def publisher():
        sources = [small, large]
        i = 0
        while not stop.is_set():
            publish(sources[i % 2], published)
            i += 1

    def reader():
        while not stop.is_set():
            try:
                with queries.open_readonly(published) as connection:
                    cursor = connection.cursor()
                    seen.append(cursor.execute(
                        "SELECT (SELECT count(*) FROM postmortems), (SELECT count(*) FROM root_causes), "
                        "(SELECT count(DISTINCT incident_id) FROM timeline_events)").fetchall()[0])
            except Exception as err:  # noqa: BLE001 - any failure is what this test looks for
                errors.append(err)

    threads = [threading.Thread(target=publisher)] + [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    while len(seen) < 60 and not errors:
        threading.Event().wait(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert set(seen) == {(1, 1, 1), (4, 4, 4)}  # both versions were read, each whole


def test_connection_is_read_only_and_sandboxed(tmp_path, store_of):
    published = build_warehouse(store_of(1), tmp_path / "pub" / "warehouse.duckdb")
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    with queries.open_readonly(published) as con:
        for statement in ("CREATE TABLE t (i INTEGER)", "UPDATE postmortems SET title = 'x'",
                          f"SELECT * FROM read_csv('{outside}')", f"COPY postmortems TO '{tmp_path / 'leak.csv'}'",
                          f"ATTACH '{tmp_path / 'other.duckdb'}' AS other", "SET enable_external_access = true",
                          "INSTALL httpfs", "CREATE TABLE memory.main.t AS SELECT 1"):
            with pytest.raises(duckdb.Error):
                con.cursor().execute(statement).fetchall()
    assert not (tmp_path / "leak.csv").exists() and not (tmp_path / "other.duckdb").exists()


def test_run_sql_caps_rows_and_explains_refusals(sample_warehouse):
    version = queries.current_version(sample_warehouse)
    result = queries.run_sql(version, "SELECT * FROM range(50)", max_rows=10)
    assert result.frame.height == 10 and result.truncated
    result = queries.run_sql(version, "SELECT incident_id FROM postmortems WHERE severity = 'SEV1'")
    assert not result.truncated and result.frame.height > 0
    with pytest.raises(QueryRefused, match="read-only"):
        queries.run_sql(version, "DROP TABLE postmortems")
    # the connection is still usable after a refusal
    assert queries.run_sql(version, "SELECT 1 AS one").frame["one"].to_list() == [1]


def test_run_sql_stops_long_queries(sample_warehouse):
    version = queries.current_version(sample_warehouse)
    with pytest.raises(QueryRefused, match="stopped after 0.5 s"):
        queries.run_sql(version, "SELECT count(*) FROM range(100000000000) a", timeout_s=0.5)
    assert queries.run_sql(version, "SELECT 2 AS two").frame["two"].to_list() == [2]


def test_example_queries_are_the_documented_ten_and_all_run(sample_warehouse):
    examples = queries.parse_example_queries((queries.PROJECT_ROOT / "docs" / "warehouse.md").read_text())
    assert len(examples) == 10
    assert examples[0].title == "Incidents per quarter by root-cause category"
    version = queries.current_version(sample_warehouse)
    for example in queries.example_queries():
        queries.run_sql(version, example.sql)  # raises QueryRefused if one no longer matches the schema


def test_search_words_must_all_appear(sample_warehouse, sql):
    version = queries.current_version(sample_warehouse)
    both = set(queries.search_incidents(version, "index stale", {})["incident_id"])
    one = set(queries.search_incidents(version, "index", {})["incident_id"])
    assert both and both < one
    assert set(queries.search_incidents(version, "", {"severity": ["SEV4"]})["incident_id"]) == {
        r[0] for r in sql("SELECT incident_id FROM postmortems WHERE severity = 'SEV4'")}


# Stand-ins for two warehouse definitions, planted in a copy of the warehouse: what the
# dashboard shows must change with them, so it reads the definitions rather than its own SQL.
PLANTED_DEFINITIONS = ("""
    CREATE OR REPLACE MACRO theme_fix_effectiveness_as_of(as_of := NULL) AS TABLE
    SELECT theme_set, theme_id, fixed_incident_id, action_id, action_text, owner, deadline, status,
           DATE '1900-01-01' AS fixed_after, 7 AS incidents_after
    FROM theme_fixes""", """
    CREATE OR REPLACE MACRO rising_themes(week_ends) AS TABLE
    SELECT CAST(unnest(week_ends) AS DATE) AS week_end, theme_set, theme_id, name, first_seen,
           9 AS recent, 0 AS baseline, 0.5 AS expected, ['PM-X'] AS recent_ids
    FROM themes""")


def test_theme_analytics_come_from_the_warehouse_definitions(sample_warehouse, sql, tmp_path):
    planted = tmp_path / "warehouse.duckdb"
    shutil.copyfile(sample_warehouse, planted)
    with duckdb.connect(str(planted)) as con:
        for statement in PLANTED_DEFINITIONS:
            con.execute(statement)
    version = queries.current_version(planted)

    items = queries.fix_effectiveness(version, "root_cause", limit=100_000)
    assert items.height == items["total"][0] > 0 and set(items["incidents_after"]) == {7}
    done = {r[0] for r in sql("SELECT DISTINCT theme_id FROM theme_fixes "
                              "WHERE theme_set = 'root_cause' AND status = 'done'")}
    ranking = queries.burn_ranking(version, "root_cause", None)
    assert done and {r["theme_id"] for r in ranking.iter_rows(named=True) if r["came_back_after_fix"]} == done
    rising = queries.rising_themes(version, "root_cause", queries.weeks(version)[0])
    assert rising.height and set(rising["recent"]) == {9}


def test_burn_ranking_over_a_quarter_counts_that_quarter_only(sample_warehouse, sql):
    version = queries.current_version(sample_warehouse)
    quarter = queries.quarters(version)[0]
    ranking = queries.burn_ranking(version, "root_cause", quarter)
    counted = dict(sql("SELECT theme_id, count(*) FROM theme_incidents "
                       "WHERE theme_set = 'root_cause' AND quarter = ? GROUP BY ALL", [quarter]))
    assert counted and dict(zip(ranking["theme_id"], ranking["incidents"])) == counted
