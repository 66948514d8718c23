from __future__ import annotations

import builtins
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipelines.warehouse.db import connect, scalar
from pipelines.warehouse.ingest import ingest_store
from tests.conftest import postmortem, write

TABLES = ("postmortems", "timeline_events", "root_causes", "eval_gaps", "action_items", "prompt_diffs",
          "sample_outputs", "model_configs", "lint_findings", "ingest_issues", "source_files")


def snapshot(con) -> dict[str, list]:
    return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES}


@pytest.fixture
def con(tmp_path):
    con = connect(tmp_path / "build" / "warehouse.duckdb")
    yield con
    con.close()


def test_ingest_loads_every_table(store, con):
    write(store / "2026" / "PM-2026-001-refunds.md", postmortem())
    summary = ingest_store(con, store)
    assert (summary.files_seen, summary.incidents_loaded, summary.files_with_errors) == (1, 1, 0)
    row = con.execute("SELECT severity, minutes_to_detect, minutes_to_resolve, hours_to_postmortem, iso_week, quarter, "
                      "completeness, source_path FROM postmortems").fetchall()[0]
    assert row == ("SEV2", 55.0, 235.0, 40.0, "2026-W10", "2026-Q1", 1.0, "2026/PM-2026-001-refunds.md")
    counts = {t: scalar(con, f"SELECT count(*) FROM {t}") for t in TABLES}
    assert counts == {"postmortems": 1, "timeline_events": 5, "root_causes": 1, "eval_gaps": 1, "action_items": 4,
                      "prompt_diffs": 1, "sample_outputs": 2, "model_configs": 1, "lint_findings": 0,
                      "ingest_issues": 0, "source_files": 1}
    assert scalar(con, "SELECT count(*) FROM incidents") == 1  # views are created


def test_rerun_with_nothing_changed_changes_nothing(store, con):
    for i in range(1, 4):
        write(store / f"PM-2026-00{i}.md", postmortem(f"PM-2026-00{i}"))
    ingest_store(con, store)
    before = snapshot(con)
    summary = ingest_store(con, store)
    assert summary.files_read == 0 and summary.incidents_changed == 0
    assert snapshot(con) == before


def test_touched_but_identical_file_is_not_rewritten(store, con):
    path = write(store / "PM-2026-001.md", postmortem())
    ingest_store(con, store)
    before = snapshot(con)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000_000))
    summary = ingest_store(con, store)
    assert summary.incidents_changed == 0
    after = snapshot(con)
    assert {t: v for t, v in after.items() if t != "source_files"} == {t: v for t, v in before.items() if t != "source_files"}
    assert ingest_store(con, store).files_read == 0  # the new mtime was remembered


def test_edited_file_updates_only_its_incident(store, con):
    write(store / "PM-2026-001.md", postmortem("PM-2026-001"))
    edited = write(store / "PM-2026-002.md", postmortem("PM-2026-002"))
    ingest_store(con, store)
    other_before = con.execute("SELECT * FROM postmortems WHERE incident_id = 'PM-2026-001'").fetchall()
    edited.write_text(postmortem("PM-2026-002").replace("severity: SEV2", "severity: SEV1"), encoding="utf-8")
    os.utime(edited, ns=(0, edited.stat().st_mtime_ns + 1_000_000_000))
    summary = ingest_store(con, store)
    assert summary.changed_ids == ["PM-2026-002"] and summary.files_read == 1
    assert scalar(con, "SELECT severity FROM postmortems WHERE incident_id = 'PM-2026-002'") == "SEV1"
    assert con.execute("SELECT * FROM postmortems WHERE incident_id = 'PM-2026-001'").fetchall() == other_before
    assert scalar(con, "SELECT count(*) FROM root_causes WHERE incident_id = 'PM-2026-002'") == 1


def test_deleted_file_removes_its_incident_and_rows(store, con):
    write(store / "PM-2026-001.md", postmortem("PM-2026-001"))
    gone = write(store / "PM-2026-002.md", postmortem("PM-2026-002"))
    ingest_store(con, store)
    gone.unlink()
    summary = ingest_store(con, store)
    assert summary.incidents_removed == 1
    for table in ("postmortems", "root_causes", "action_items", "timeline_events", "model_configs"):
        assert scalar(con, f"SELECT count(*) FROM {table} WHERE incident_id = 'PM-2026-002'") == 0
    assert scalar(con, "SELECT count(*) FROM source_files") == 1


def test_duplicate_ids_are_both_reported_and_not_merged(store, con):
    write(store / "a" / "PM-2026-001-first.md", postmortem("PM-2026-001", title="First"))
    write(store / "b" / "PM-2026-001-second.md", postmortem("PM-2026-001", title="Second"))
    summary = ingest_store(con, store)
    assert summary.incidents_loaded == 1 and summary.files_with_errors == 1
    assert scalar(con, "SELECT title FROM postmortems") == "First"
    issues = con.execute("SELECT source_path, kind, severity, loaded FROM ingest_issues ORDER BY 1").fetchall()
    assert issues == [("a/PM-2026-001-first.md", "duplicate_id", "warning", True),
                      ("b/PM-2026-001-second.md", "duplicate_id", "error", False)]
    # A re-run keeps reporting both; removing the keeper lets the other one load.
    ingest_store(con, store)
    assert scalar(con, "SELECT count(*) FROM ingest_issues WHERE kind = 'duplicate_id'") == 2
    (store / "a" / "PM-2026-001-first.md").unlink()
    ingest_store(con, store)
    assert scalar(con, "SELECT title FROM postmortems") == "Second"
    assert scalar(con, "SELECT count(*) FROM ingest_issues") == 0


def test_new_file_claiming_a_loaded_id_is_reported(store, con):
    write(store / "b.md", postmortem("PM-2026-001", title="Loaded first"))
    ingest_store(con, store)
    write(store / "c.md", postmortem("PM-2026-001", title="Came later"))
    ingest_store(con, store)
    assert scalar(con, "SELECT title FROM postmortems") == "Loaded first"
    assert scalar(con, "SELECT count(*) FROM ingest_issues WHERE kind = 'duplicate_id'") == 2


def test_a_touched_keeper_re_read_for_a_new_clash_loads_once(store, con):
    # The keeper's bytes are unchanged but its mtime moved, and a new file claims its id: the
    # keeper is parsed twice in that run (once as changed, once to name the clash), and its
    # rows must go in once.
    keeper = write(store / "a.md", postmortem("PM-2026-001", title="Keeper"))
    ingest_store(con, store)
    before = {t: scalar(con, f"SELECT count(*) FROM {t} WHERE incident_id = 'PM-2026-001'")
              for t in ("postmortems", "timeline_events", "root_causes", "action_items", "model_configs")}
    os.utime(keeper, ns=(keeper.stat().st_atime_ns, keeper.stat().st_mtime_ns + 10_000_000_000))
    write(store / "b.md", postmortem("PM-2026-001", title="Newcomer"))
    ingest_store(con, store)
    after = {t: scalar(con, f"SELECT count(*) FROM {t} WHERE incident_id = 'PM-2026-001'") for t in before}
    assert after == before and scalar(con, "SELECT title FROM postmortems") == "Keeper"
    assert scalar(con, "SELECT count(*) FROM ingest_issues WHERE kind = 'duplicate_id'") == 2


def test_parse_workers_load_what_one_process_loads(store, tmp_path, monkeypatch):
    # Workers send back columns of rows, not parsed post-mortems; the warehouse must not tell.
    import pipelines.warehouse.ingest as ingest

    monkeypatch.setattr(ingest, "PARALLEL_THRESHOLD", 2)
    for i in range(1, 8):
        write(store / f"PM-2026-00{i}.md", postmortem(f"PM-2026-00{i}", title=f"Incident {i}"))
    write(store / "dup.md", postmortem("PM-2026-003", title="dup"))
    write(store / "broken.md", "---\nid: PM-2026-009\ntitle: [oops\n---\n# Broken\n")
    snapshots = []
    for workers in (1, 2):
        con = connect(tmp_path / f"w{workers}" / "warehouse.duckdb")
        ingest_store(con, store, workers=workers, now=datetime(2026, 12, 1, tzinfo=timezone.utc))
        snapshots.append({t: [r for r in snapshot(con)[t]] for t in TABLES if t not in ("source_files", "ingest_issues")}
                         | {"issues": con.execute("SELECT source_path, line, kind, message FROM ingest_issues "
                                                  "ORDER BY ALL").fetchall()})
        con.close()
    assert snapshots[0]["postmortems"] and snapshots[0]["issues"]
    assert snapshots[0] == snapshots[1]


def test_bad_input_is_reported_per_file_and_everything_else_loads(store, con, monkeypatch):
    good = [write(store / f"PM-2026-00{i}.md", postmortem(f"PM-2026-00{i}")) for i in (1, 2)]
    write(store / "bad-yaml.md", "---\nid: PM-2026-003\ntitle: [oops\n---\n# Bad yaml\n\n## Summary\nText.\n")
    write(store / "bad-date.md", postmortem("PM-2026-004").replace("started_at: 2026-03-02T14:05:00+00:00",
                                                                   "started_at: 2026-13-45"))
    write(store / "dup.md", postmortem("PM-2026-001", title="dup"))
    (store / "latin1.md").write_bytes(postmortem("PM-2026-005").encode() + "caf\xe9\n".encode("latin-1"))
    (store / "empty.md").write_bytes(b"")
    (store / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with open(store / "huge.md", "wb") as fh:  # 50 MB
        fh.write(b"# Huge\n" + b"x" * 80 + b"\n")
        fh.truncate(50_000_000)
    (store / "sub").mkdir()
    os.symlink(store, store / "sub" / "back-to-top")  # a folder loop
    unreadable = write(store / "unreadable.md", postmortem("PM-2026-006"))
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):  # root reads anything, so refuse this one file by hand
        if Path(file) == unreadable:
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    summary = ingest_store(con, store)

    loaded = {r[0] for r in con.execute("SELECT incident_id FROM postmortems").fetchall()}
    assert loaded == {"PM-2026-001", "PM-2026-002", "PM-2026-003", "PM-2026-004", "PM-2026-005"}
    issues = {(r[0], r[1]) for r in con.execute("SELECT source_path, kind FROM ingest_issues").fetchall()}
    assert issues >= {("bad-yaml.md", "malformed_yaml"), ("bad-date.md", "invalid_date"), ("dup.md", "duplicate_id"),
                      ("latin1.md", "not_utf8"), ("empty.md", "empty_file"), ("image.md", "binary_file"),
                      ("huge.md", "too_large"),
                      ("sub/back-to-top", "symlink_loop"), ("unreadable.md", "unreadable")}
    # Line numbers where there is one.
    lines = dict(con.execute("SELECT source_path, line FROM ingest_issues WHERE kind IN "
                             "('malformed_yaml', 'invalid_date', 'not_utf8')").fetchall())
    assert lines["bad-yaml.md"] in (3, 4) and lines["bad-date.md"] == 6 and lines["latin1.md"] > 40
    messages = [r[0] for r in con.execute("SELECT message FROM ingest_issues").fetchall()]
    assert all(len(m) > 20 for m in messages)
    # Nothing is dropped silently: every file is an incident or an ingest issue.
    md_files = {p for p in store.rglob("*.md") if not p.is_symlink()}
    loaded_paths = {r[0] for r in con.execute("SELECT source_path FROM postmortems").fetchall()}
    accounted = loaded_paths | {r[0] for r in con.execute("SELECT source_path FROM ingest_issues").fetchall()}
    assert {p.relative_to(store).as_posix() for p in md_files} <= accounted
    assert summary.files_seen == len(md_files) + 1  # + the folder loop
    assert summary.incidents_loaded + summary.files_with_errors == summary.files_seen
    assert all(g.relative_to(store).as_posix() in loaded_paths for g in good)


def test_symlinked_file_loop_is_reported(store, con):
    write(store / "PM-2026-001.md", postmortem())
    os.symlink(store / "self.md", store / "self.md")
    ingest_store(con, store)
    assert con.execute("SELECT source_path, kind FROM ingest_issues").fetchall() == [("self.md", "symlink_loop")]
    assert scalar(con, "SELECT count(*) FROM postmortems") == 1


def test_lint_findings_land_in_the_warehouse(store, con):
    write(store / "PM-2026-001.md", postmortem(extra="Dave made a mistake."))
    ingest_store(con, store)
    assert con.execute("SELECT incident_id, rule_id, severity FROM lint_findings").fetchall() == [
        ("PM-2026-001", "EL006", "error")]  # "Dave made a mistake": one finding for the one phrase


def test_missing_store_is_a_clear_error(tmp_path, con):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ingest_store(con, tmp_path / "nope")
