"""Warehouses for report tests: the bundled sample corpus with stand-in themes (built once
per session), and small hand-made stores where a test needs exact control."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.themes.build import create_theme_views
from pipelines.warehouse.db import connect
from pipelines.warehouse.ingest import ingest_store
from tests.conftest import SAMPLE_STORE, postmortem, write
from tests.reports.themes_fixture import THEMES_DIR, plant_action_links, plant_themes


def build_warehouse(store: Path, database: Path, *, themes: bool = True) -> Path:
    with connect(database) as con:
        ingest_store(con, store, workers=1)
        if themes:
            plant_themes(con)
    return database


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The sample corpus, ingested, with one stand-in theme per root-cause category."""
    return build_warehouse(SAMPLE_STORE, tmp_path_factory.mktemp("sample") / "warehouse.duckdb")


@pytest.fixture
def sample_con(sample_warehouse):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        yield con


# --------------------------------------------------------------------------------------
# A hand-made store: exact recurrence wording, rising themes, 72-hour states, as-of.

STALE = "stale retrieval index"


def write_small_store(store):
    def pm(incident_id, started, resolved, published, **kw):
        write(store / f"{incident_id}.md", postmortem(incident_id, f"Incident {incident_id}", started=started,
                                                      resolved=resolved, published=published, **kw))
    pm("PM-2026-050", "2026-02-10T09:00:00+00:00", "2026-02-10T12:00:00+00:00", "2026-02-11T09:00:00+00:00")
    pm("PM-2026-001", "2026-04-01T09:00:00+00:00", "2026-04-01T12:00:00+00:00", "2026-04-02T09:00:00+00:00")
    pm("PM-2026-002", "2026-04-20T09:00:00+00:00", "2026-04-21T12:00:00+00:00", "2026-05-05T09:00:00+00:00")
    pm("PM-2026-003", "2026-05-06T09:00:00+00:00", "2026-05-06T10:00:00+00:00", "2026-05-12T09:00:00+00:00")
    pm("PM-2026-004", "2026-05-07T09:00:00+00:00", "2026-05-08T18:00:00+00:00", "2026-05-12T09:00:00+00:00")


def plant_assignments(con, assignments: dict[str, tuple[str, str]]):
    con.execute((THEMES_DIR / "schema.sql").read_text())
    con.execute("DELETE FROM theme_assignments; DELETE FROM themes")
    for incident_id, (theme_id, _) in assignments.items():
        con.execute("""INSERT INTO theme_assignments (theme_set, item_id, incident_id, theme_id, status)
                       VALUES ('root_cause', ? || '#1', ?, ?, 'clustered')""", [incident_id, incident_id, theme_id])
    for theme_id, name in sorted(set(assignments.values())):
        con.execute("INSERT INTO themes (theme_set, theme_id, name) VALUES ('root_cause', ?, ?)", [theme_id, name])
    plant_action_links(con)
    create_theme_views(con)


ASSIGNMENTS = {"PM-2026-050": ("RC-001", STALE), "PM-2026-001": ("RC-001", STALE), "PM-2026-002": ("RC-001", STALE),
               "PM-2026-003": ("RC-001", STALE), "PM-2026-004": ("RC-002", "provider rate limits")}


@pytest.fixture
def small_warehouse(store, tmp_path):
    write_small_store(store)
    database = build_warehouse(store, tmp_path / "w.duckdb", themes=False)
    with duckdb.connect(str(database)) as con:
        plant_assignments(con, ASSIGNMENTS)
    return store, database
