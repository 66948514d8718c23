"""Stand-in theme rows for unit tests: one theme per root-cause category and a few eval-gap
themes by keyword, written into the real theme tables (pipelines/themes/schema.sql) with the
real analytics views (pipelines/themes/views.sql). Integration tests use the real pipeline."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.themes.build import create_theme_views

THEMES_DIR = Path(__file__).resolve().parents[2] / "pipelines" / "themes"

CATEGORY_THEME_NAMES = {
    "prompt": "prompt change shipped without evals",
    "retrieval": "stale or mismatched retrieval index",
    "model": "model behaviour changed under us",
    "config": "sampling config drift",
    "upstream-provider": "upstream provider degradation",
    "data": "data leaking into outputs",
    "infrastructure": "serving capacity exhausted",
    "process": "process skipped the eval gate",
    "other": "other",
}
EVAL_GAP_KEYWORDS = {"fixture": "evals use fixtures, not production", "production": "evals use fixtures, not production",
                     "version": "evals pinned to an old version"}


def plant_themes(con: duckdb.DuckDBPyConnection, *, leave_unclustered: set[str] = frozenset()) -> None:
    con.execute((THEMES_DIR / "schema.sql").read_text())
    for table in ("theme_items", "theme_assignments", "themes", "theme_lineage", "similar_incidents"):
        con.execute(f"DELETE FROM {table}")
    categories = [r[0] for r in con.execute(
        "SELECT DISTINCT coalesce(category, 'other') FROM root_causes ORDER BY 1").fetchall()]
    theme_ids = {c: f"RC-{i + 1:03d}" for i, c in enumerate(categories)}
    for category, theme_id in theme_ids.items():
        con.execute("""
            INSERT INTO theme_assignments (theme_set, item_id, incident_id, theme_id, similarity, status, reason)
            SELECT 'root_cause', cause_id, incident_id,
                   CASE WHEN list_contains(?, cause_id) THEN NULL ELSE ? END, 0.8,
                   CASE WHEN list_contains(?, cause_id) THEN 'unclustered' ELSE 'clustered' END,
                   CASE WHEN list_contains(?, cause_id) THEN 'too far from every theme' END
            FROM root_causes WHERE coalesce(category, 'other') = ?""",
                    [list(leave_unclustered), theme_id, list(leave_unclustered), list(leave_unclustered), category])
    gap_names = sorted(set(EVAL_GAP_KEYWORDS.values()))
    gap_ids = {name: f"EG-{i + 1:03d}" for i, name in enumerate(gap_names)}
    for word, name in EVAL_GAP_KEYWORDS.items():
        con.execute("""
            INSERT INTO theme_assignments (theme_set, item_id, incident_id, theme_id, similarity, status, reason)
            SELECT 'eval_gap', gap_id, incident_id, ?, 0.7, 'clustered', NULL FROM eval_gaps
            WHERE lower(text) LIKE ? AND gap_id NOT IN (SELECT item_id FROM theme_assignments WHERE theme_set = 'eval_gap')
            """, [gap_ids[name], f"%{word}%"])
    con.execute("""
        INSERT INTO theme_assignments (theme_set, item_id, incident_id, theme_id, similarity, status, reason)
        SELECT 'eval_gap', gap_id, incident_id, NULL, NULL, 'unclustered', 'no close theme' FROM eval_gaps
        WHERE gap_id NOT IN (SELECT item_id FROM theme_assignments WHERE theme_set = 'eval_gap')""")
    names = {**{theme_ids[c]: CATEGORY_THEME_NAMES.get(c, c) for c in categories},
             **{gap_ids[n]: n for n in gap_names}}
    con.execute("""
        INSERT INTO themes (theme_set, theme_id, name, name_source, keywords, representative_item_ids,
                            representative_texts, category_mix, top_category, n_items, n_incidents, incident_ids,
                            first_seen, last_seen, centroid, stability)
        SELECT a.theme_set, a.theme_id, NULL, 'generated', ['k1', 'k2'], list(a.item_id ORDER BY a.item_id)[:3],
               ['text'], '{}', NULL, count(*), count(DISTINCT a.incident_id),
               list(DISTINCT a.incident_id ORDER BY a.incident_id), min(p.incident_date), max(p.incident_date), NULL,
               -- Some stable, some not, so the marks for unstable themes have something to show.
               CASE WHEN count(*) % 2 = 0 THEN 0.9 ELSE 0.5 END
        FROM theme_assignments a JOIN postmortems p USING (incident_id)
        WHERE a.theme_id IS NOT NULL GROUP BY a.theme_set, a.theme_id""")
    for theme_id, name in names.items():
        con.execute("UPDATE themes SET name = ? WHERE theme_id = ?", [name, theme_id])
    plant_action_links(con)
    create_theme_views(con)


def plant_action_links(con: duckdb.DuckDBPyConnection) -> None:
    """Stand-in for pipelines.themes.fixes: each systemic action item addresses the first
    item of its incident in each theme set (the real build picks the most similar one)."""
    con.execute("DELETE FROM action_item_links")
    con.execute("""
        INSERT INTO action_item_links (theme_set, action_id, incident_id, item_id, similarity)
        SELECT ta.theme_set, a.action_id, a.incident_id, min(ta.item_id), NULL
        FROM action_items a JOIN theme_assignments ta ON ta.incident_id = a.incident_id
        WHERE a.kind = 'systemic' GROUP BY ALL""")
