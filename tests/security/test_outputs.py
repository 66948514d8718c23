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
