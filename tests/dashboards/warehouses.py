"""Warehouses for the dashboard tests.

`build_warehouse` ingests a store with the real ingest code and publishes it the way the
pipeline does. `add_fixture_themes` fills the theme tables (schema fixed by
pipelines/themes/schema.sql, views from pipelines/themes/views.sql) with small, deterministic
rows: one root-cause theme per category, eval-gap themes by the incident's first category,
8-dimensional one-hot-by-category vectors. The dashboard only reads these tables, so their
contents need to be plausible, not produced by the clustering.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.settings import PROJECT_ROOT
from pipelines.themes.build import create_theme_views
from pipelines.warehouse.db import connect, publish
from pipelines.warehouse.ingest import ingest_store
from tests.reports.themes_fixture import plant_action_links

THEMES_SQL = PROJECT_ROOT / "pipelines" / "themes"
FIXTURE_MODEL_ID = "fixture-onehot-8"
CATEGORIES = ("prompt", "retrieval", "model", "config", "upstream-provider", "data", "infrastructure", "process")


def category_vector(category: str | None) -> list[float]:
    """The fixture embedding: one-hot on the category, 'other'/unknown spread evenly."""
    if category in CATEGORIES:
        return [1.0 if c == category else 0.0 for c in CATEGORIES]
    return [1.0 / len(CATEGORIES) ** 0.5] * len(CATEGORIES)


def build_warehouse(store: Path, published: Path, *, themes: bool = True) -> Path:
    build = published.parent / "build" / published.name
    con = connect(build)
    try:
        ingest_store(con, store)
        if themes:
            add_fixture_themes(con)
    finally:
        con.close()
    return publish(build, published)


def add_fixture_themes(con) -> None:
    con.execute((THEMES_SQL / "schema.sql").read_text(encoding="utf-8"))
    con.execute("CREATE TABLE IF NOT EXISTS embeddings (model_id VARCHAR, text_hash VARCHAR, dim INTEGER, vector FLOAT[])")
    for table in ("theme_items", "theme_assignments", "themes", "theme_lineage", "similar_incidents"):
        con.execute(f"DELETE FROM {table}")
    con.execute("DELETE FROM embeddings WHERE model_id = ?", [FIXTURE_MODEL_ID])
    con.execute("""
        INSERT INTO theme_items (theme_set, item_id, incident_id, text, text_hash, category)
        SELECT 'root_cause', cause_id, incident_id, concat_ws(': ', title, description),
               md5(concat_ws(': ', title, description)), category
        FROM root_causes;
        INSERT INTO theme_items (theme_set, item_id, incident_id, text, text_hash, category)
        SELECT 'eval_gap', g.gap_id, g.incident_id, g.text, md5(g.text),
               (SELECT r.category FROM root_causes r WHERE r.incident_id = g.incident_id ORDER BY r.seq LIMIT 1)
        FROM eval_gaps g;
    """)
    rows = con.execute("SELECT DISTINCT text_hash, category FROM theme_items ORDER BY text_hash").fetchall()
    con.executemany("INSERT INTO embeddings (model_id, text_hash, dim, vector) VALUES (?, ?, 8, ?)",
                    [[FIXTURE_MODEL_ID, text_hash, category_vector(category)] for text_hash, category in rows])
    # Theme ids by category in a fixed order; 'other' and uncategorised causes stay unclustered.
    con.execute("""
        CREATE TEMP TABLE fixture_theme_ids AS
        SELECT theme_set, category,
               CASE theme_set WHEN 'root_cause' THEN 'RC-' ELSE 'EG-' END
               || lpad(CAST(row_number() OVER (PARTITION BY theme_set ORDER BY category) AS VARCHAR), 3, '0') AS theme_id
        FROM (SELECT DISTINCT theme_set, category FROM theme_items
              WHERE category IS NOT NULL AND category <> 'other');
        INSERT INTO theme_assignments (theme_set, item_id, incident_id, theme_id, similarity, status, reason)
        SELECT i.theme_set, i.item_id, i.incident_id, f.theme_id,
               CASE WHEN f.theme_id IS NULL THEN NULL ELSE 0.8 END,
               CASE WHEN f.theme_id IS NULL THEN 'unclustered' ELSE 'clustered' END,
               CASE WHEN f.theme_id IS NULL THEN 'no category in the fixture' END
        FROM theme_items i LEFT JOIN fixture_theme_ids f USING (theme_set, category);
        INSERT INTO themes (theme_set, theme_id, name, name_source, keywords, representative_item_ids,
                            representative_texts, category_mix, top_category, n_items, n_incidents, incident_ids,
                            first_seen, last_seen, stability)
        SELECT f.theme_set, f.theme_id,
               CASE f.theme_set WHEN 'root_cause' THEN upper(f.category[1]) || replace(f.category[2:], '-', ' ') || ' failures'
                                ELSE 'Evals blind to ' || f.category END,
               'generated', [f.category, 'fixture'],
               list(i.item_id ORDER BY i.item_id)[1:3], list(i.text ORDER BY i.item_id)[1:3],
               '{"' || f.category || '": 1.0}', f.category,
               count(*), count(DISTINCT i.incident_id), list(DISTINCT i.incident_id ORDER BY i.incident_id),
               min(p.incident_date), max(p.incident_date),
               -- Some stable, some not, so the dashboard's marks for unstable themes show.
               CASE WHEN count(DISTINCT i.incident_id) % 2 = 0 THEN 0.9 ELSE 0.55 END
        FROM fixture_theme_ids f
        JOIN theme_items i USING (theme_set, category)
        JOIN postmortems p USING (incident_id)
        GROUP BY f.theme_set, f.theme_id, f.category;
        INSERT INTO theme_lineage (run_id, run_at, theme_set, theme_id, event, related_theme_ids, n_items)
        SELECT 'run-1', TIMESTAMPTZ '2026-01-05 09:00:00+00', theme_set, theme_id, 'new', [], n_items FROM themes;
        INSERT INTO theme_lineage (run_id, run_at, theme_set, theme_id, event, related_theme_ids, n_items)
        SELECT 'run-2', TIMESTAMPTZ '2026-02-02 09:00:00+00', theme_set, theme_id, 'continued', [], n_items FROM themes;
        INSERT INTO similar_incidents (incident_id, rank, similar_incident_id, similarity)
        SELECT incident_id, rank, similar_incident_id, similarity FROM (
            SELECT a.incident_id, b.incident_id AS similar_incident_id,
                   count(*) / 4.0 AS similarity,
                   row_number() OVER (PARTITION BY a.incident_id ORDER BY count(*) DESC, b.incident_id) AS rank
            FROM root_causes a JOIN root_causes b ON a.category = b.category AND a.incident_id <> b.incident_id
            GROUP BY a.incident_id, b.incident_id)
        WHERE rank <= 5;
    """)
    con.execute("UPDATE themes SET centroid = ?", [[0.0] * 8])
    for theme_id, category in con.execute("SELECT theme_id, top_category FROM themes").fetchall():
        con.execute("UPDATE themes SET centroid = ? WHERE theme_id = ?", [category_vector(category), theme_id])
    plant_action_links(con)
    create_theme_views(con)
