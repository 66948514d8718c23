"""No id writes outside its folder; a post-mortem that fails the sensitive check is held back
and the others still go out."""

from __future__ import annotations

import json

import pytest

from pipelines.reports.evals import write_eval_exports
from pipelines.reports.external import ExternalConfig, export_external_postmortems
from pipelines.reports.outputs import UnsafeOutputPath, ensure_inside, output_path, safe_stem
from pipelines.warehouse.db import connect
from pipelines.warehouse.ingest import ingest_store
from tests.conftest import write
from tests.reports.test_exports import external


@pytest.mark.parametrize("incident_id", ["../../escape", "/tmp/absolute", "..", "a/b\\c", "PM 1\n2", ""])
def test_an_id_becomes_a_slug_inside_the_folder(tmp_path, incident_id):
    path = output_path(tmp_path / "out", incident_id, ".md")
    assert path.parent == tmp_path / "out" and "/" not in path.name and not path.name.startswith(".")
    assert safe_stem("PM-2026-014") == "PM-2026-014" and safe_stem("PM/1") != safe_stem("PM-1")


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafeOutputPath):
        ensure_inside(tmp_path / "out", tmp_path / "out" / "link" / "x.md")


def test_external_export_with_hostile_ids_stays_in_the_exports_folder(store, tmp_path):
    for name, incident_id in (("up.md", "../../../escape"), ("abs.md", str(tmp_path / "absolute")),
                              ("ok.md", "PM-2026-001")):
        write(store / name, external(incident_id))
    con = connect(tmp_path / "warehouse.duckdb")
    ingest_store(con, store)
    result = export_external_postmortems(con, tmp_path / "exports", ExternalConfig())
    assert len(result.exported) == 3 and not result.refused
    assert all(path.parent == tmp_path / "exports" / "external" for path in result.exported.values())
    assert not (tmp_path / "escape.md").exists() and not (tmp_path / "absolute.md").exists()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.md")
                  if "postmortems" not in p.parts) == sorted(
        f"exports/external/{p.name}" for p in result.exported.values())


def test_an_eval_row_with_sensitive_data_is_held_back_and_the_rest_export(store, tmp_path):
    write(store / "a.md", external("PM-2026-001"))
    write(store / "b.md", external("PM-2026-002"))
    con = connect(tmp_path / "warehouse.duckdb")
    ingest_store(con, store)
    # A value the parser would have refused, planted after it: the export is the last guard.
    con.execute("UPDATE postmortems SET severity = 'jane.doe@example.com' WHERE incident_id = 'PM-2026-002'")
    export = write_eval_exports(con, tmp_path / "exports")
    rows = [json.loads(line) for line in export.eval_cases.read_text().splitlines()]
    assert [r["incident_id"] for r in rows] == ["PM-2026-001"]
    assert list(export.held_back) == ["PM-2026-002"] and "held back" in export.held_back["PM-2026-002"]
    assert "jane" not in export.held_back["PM-2026-002"]


# --------------------------------------------------------------------------------------
# A changed file is scanned where it changed (find_sensitive_since): it must find whatever a
# scan of the whole file finds, wherever the change and the value lie.

def _clean_lines(n: int) -> list[str]:
    return [json.dumps({"id": f"PM-2026-{k:05d}", "title": f"Answer {k} quoted a retired policy"}) for k in range(n)]


PLANTED = {
    "an email": "contact jane.doe@example.com for the refund",
    "a key": "token sk-proj-" + "A1b2C3d4E5f6G7h8J9k0" * 3,
    "a spelled-out email": "write to jane dot doe at example dot com today",
    "a private key with no END": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\nq9Z3",
}


@pytest.mark.parametrize("what", sorted(PLANTED))
@pytest.mark.parametrize("where", [0, 1, 2500, 4999, 5000])
def test_a_value_added_anywhere_is_found_as_a_whole_scan_finds_it(what, where):
    from pipelines.postmortems.sensitive import find_sensitive
    from pipelines.reports.redact import find_sensitive_since

    lines = _clean_lines(5000)
    clean = "\n".join(lines) + "\n"
    assert not find_sensitive(clean)
    changed = "\n".join(lines[:where] + PLANTED[what].split("\n") + lines[where:]) + "\n"
    whole = find_sensitive(changed)
    assert whole, what  # the planted value is one the scanner finds
    since = find_sensitive_since(changed, clean)
    assert since[0] == whole[0] and set(since) <= set(whole)
    if "END" not in what:  # a key with no END runs to the end of the text; the scan reports it as far as it reads
        assert since == whole


def test_a_value_completed_by_an_edit_next_to_it_is_found():
    """Half a value in the unchanged part and the rest in the edit: the context around the
    change covers it."""
    from pipelines.reports.redact import find_sensitive_since

    lines = _clean_lines(3000)
    clean = "\n".join(lines[:1500] + ["reach the on-call at jane.doe"] + lines[1500:]) + "\n"
    changed = clean.replace("at jane.doe", "at jane.doe@example.com", 1)
    assert [m.kind for m in find_sensitive_since(changed, clean)] == ["email"]


def test_an_unchanged_or_shortened_clean_file_needs_no_scan():
    from pipelines.reports.redact import changed_span, find_sensitive_since

    clean = "\n".join(_clean_lines(2000)) + "\n"
    assert changed_span(clean, clean) is None and find_sensitive_since(clean, clean) == []
    shorter = clean.replace(_clean_lines(2000)[700] + "\n", "", 1)
    start, end = changed_span(shorter, clean)
    assert 0 < end - start < len(shorter) // 10  # only around the removed line
