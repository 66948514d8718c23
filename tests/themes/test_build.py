"""Integration: the real packaged model on the sample corpus."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from pipelines.cli import main
from pipelines.themes.build import (
    MIN_INCIDENTS_PER_THEME,
    build_themes,
    min_incidents_setting,
    within_too_few_incidents,
)
from pipelines.themes.curation import written_against
from pipelines.themes.embed import load_embedder
from pipelines.themes.similar import build_similar_incidents
from pipelines.warehouse.db import connect, scalar
from pipelines.warehouse.ingest import ingest_store
from tests.conftest import SAMPLE_STORE, postmortem

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedder():
    return load_embedder()


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder):
    """The sample store ingested and clustered once; tests copy it before changing it."""
    root = tmp_path_factory.mktemp("themes")
    store = root / "store"
    shutil.copytree(SAMPLE_STORE, store)
    db = root / "warehouse.duckdb"
    with connect(db) as con:
        ingest_store(con, store)
        summaries = build_themes(con, embedder, {}, run_id="run-1")
        build_similar_incidents(con, embedder.model_id)
    return root, store, db, summaries


def copy_of(built, tmp_path):
    root, store, db, _ = built
    shutil.copytree(store, tmp_path / "store")
    shutil.copy(db, tmp_path / "warehouse.duckdb")
    return tmp_path / "store", tmp_path / "warehouse.duckdb"


def test_every_item_has_a_theme_or_a_reason_and_few_are_unclustered(built):
    _, _, db, summaries = built
    assert summaries["root_cause"].mode == "refit" and summaries["root_cause"].themes >= 8
    assert summaries["root_cause"].unclustered_share < 0.10
    with duckdb.connect(str(db), read_only=True) as con:
        assert scalar(con, "SELECT count(*) FROM theme_assignments WHERE theme_id IS NULL AND reason IS NULL") == 0
        assert scalar(con, "SELECT count(*) FROM theme_items") == scalar(
            con, "SELECT (SELECT count(*) FROM root_causes) + (SELECT count(*) FROM eval_gaps)")
        names = [r[0] for r in con.execute("SELECT name FROM themes").fetchall()]
        assert all(n and n != "Unnamed theme" for n in names)
        reps = con.execute("SELECT len(representative_texts), n_items FROM themes").fetchall()
        assert all(r == min(3, n) for r, n in reps)


def test_stale_index_incidents_share_a_theme(built):
    _, _, db, _ = built
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("""
            SELECT a.incident_id, a.theme_id, t.name FROM theme_assignments a JOIN themes t USING (theme_set, theme_id)
            WHERE a.theme_set = 'root_cause'
              AND a.item_id IN ('PM-2025-004#1', 'PM-2025-030#1', 'PM-2026-003#1', 'PM-2026-018#1')
            """).fetchall()
    # Four re-index jobs that silently kept stale content, written by three teams in their own words.
    assert len(rows) == 4 and len({r[1] for r in rows}) == 1, rows
    # Its generated name says what they share: the index, or the freshness it lost.
    assert {"index", "freshness", "re-index"} & set(rows[0][2].lower().split()), rows[0][2]


def test_rerun_gives_identical_themes_and_writes_no_lineage(built, embedder, tmp_path):
    _, db = copy_of(built, tmp_path)
    query = "SELECT theme_set, item_id, theme_id, cluster_theme_id FROM theme_assignments ORDER BY 1, 2"
    with connect(db) as con:
        before = con.execute(query).fetchall()
        themes_before = con.execute("SELECT theme_id, name, keywords FROM themes ORDER BY 1").fetchall()
        lineage_before = scalar(con, "SELECT count(*) FROM theme_lineage")
        summaries = build_themes(con, embedder, {}, run_id="run-2", refit=True)
        assert all(s.newly_embedded == 0 for s in summaries.values())  # the cache: nothing embedded again
        assert con.execute(query).fetchall() == before
        assert con.execute("SELECT theme_id, name, keywords FROM themes ORDER BY 1").fetchall() == themes_before
        assert scalar(con, "SELECT count(*) FROM theme_lineage") == lineage_before


def test_curation_is_applied_and_survives_a_refit(built, embedder, tmp_path):
    _, db = copy_of(built, tmp_path)
    with connect(db) as con:
        first, second = [r[0] for r in con.execute(
            "SELECT theme_id FROM themes WHERE theme_set = 'root_cause' ORDER BY n_items DESC, theme_id LIMIT 2"
        ).fetchall()]
        members = {}
        for item, theme in con.execute("SELECT item_id, cluster_theme_id FROM theme_assignments "
                                       "WHERE theme_set = 'root_cause' AND cluster_theme_id IS NOT NULL").fetchall():
            members.setdefault(theme, []).append(item)
        rules = {"rename": {first: "Our biggest theme"}, "not_a_theme": [second]}
        curation = {"root_cause": {**rules, "written_against": written_against(rules, members)}}
        for refit in (False, True):
            build_themes(con, embedder, curation, run_id="curated", refit=refit)
            assert scalar(con, f"SELECT name FROM themes WHERE theme_id = '{first}'") == "Our biggest theme"
            assert scalar(con, f"SELECT name_source FROM themes WHERE theme_id = '{first}'") == "curated"
            assert scalar(con, f"SELECT count(*) FROM themes WHERE theme_id = '{second}'") == 0
            assert scalar(con, f"SELECT count(*) FROM theme_assignments WHERE cluster_theme_id = '{second}' "
                               "AND theme_id IS NULL AND reason LIKE '%not a real theme%'") > 0


def test_a_rule_written_against_another_theme_is_stale_and_the_generated_name_stays(built, embedder, tmp_path):
    _, db = copy_of(built, tmp_path)
    with connect(db) as con:
        first, generated = con.execute("SELECT theme_id, name FROM themes WHERE theme_set = 'root_cause' "
                                       "ORDER BY theme_id LIMIT 1").fetchone()
        curation = {"root_cause": {"rename": {first: "A name from another store"},
                                   "written_against": {first: ["PM-1999-001#1", "PM-1999-002#1"]}}}
        summaries = build_themes(con, embedder, curation, run_id="stale")
        assert con.execute(f"SELECT name, name_source FROM themes WHERE theme_id = '{first}'").fetchone() == (
            generated, "generated")
    [stale] = summaries["root_cause"].curation_stale
    assert first in stale and "0 of the 2 items" in stale


def test_one_new_postmortem_joins_existing_themes_without_reshuffling(built, embedder, tmp_path):
    store, db = copy_of(built, tmp_path)
    source = next(SAMPLE_STORE.rglob("PM-2026-003-*.md")).read_text()
    (store / "PM-2026-099-new.md").write_text(source.replace("PM-2026-003", "PM-2026-099"))
    with connect(db) as con:
        before = dict(con.execute("SELECT item_id, theme_id FROM theme_assignments").fetchall())
        ingest_store(con, store)
        summaries = build_themes(con, embedder, {}, run_id="run-3")
        assert summaries["root_cause"].mode == "assign"
        # Its causes are word for word PM-2026-003's: the vector cache answers, nothing is embedded.
        assert summaries["root_cause"].newly_embedded == 0
        after = dict(con.execute("SELECT item_id, theme_id FROM theme_assignments").fetchall())
        assert {k: v for k, v in after.items() if k in before} == before
        # An identical copy of PM-2026-003's first cause joins PM-2026-003's theme.
        assert after["PM-2026-099#1"] == after["PM-2026-003#1"]


def test_small_corpus_of_about_twenty_items(embedder, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    files = sorted(SAMPLE_STORE.rglob("*.md"))[:8]
    for f in files:
        shutil.copy(f, store / f.name)
    with connect(tmp_path / "w.duckdb") as con:
        ingest_store(con, store)
        n = scalar(con, "SELECT count(*) FROM root_causes")
        assert 15 <= n <= 30
        summary = build_themes(con, embedder, {}, run_id="small")["root_cause"]
        assert summary.items == n and summary.themes >= 2
        assert scalar(con, "SELECT count(*) FROM theme_assignments WHERE theme_id IS NULL AND reason IS NULL") == 0


def test_similar_incidents_table_and_command(built, capsys, tmp_path):
    _, _, db, _ = built
    with duckdb.connect(str(db), read_only=True) as con:
        # Each incident's five closest among the incidents that had happened by its date: fewer
        # only for the first ones, and never a later incident (filing one changes no old list).
        rows = con.execute("""
            WITH with_causes AS (SELECT DISTINCT e.incident_id, e.incident_date FROM postmortems e
                                 JOIN theme_items i ON i.incident_id = e.incident_id AND i.theme_set = 'root_cause')
            SELECT p.incident_id,
                   (SELECT count(*) FROM similar_incidents s WHERE s.incident_id = p.incident_id) AS listed,
                   (SELECT count(*) FROM similar_incidents s JOIN postmortems o ON o.incident_id = s.similar_incident_id
                    WHERE s.incident_id = p.incident_id AND o.incident_date > p.incident_date) AS later,
                   (SELECT count(*) FROM with_causes e WHERE e.incident_date <= p.incident_date
                                                         AND e.incident_id <> p.incident_id) AS earlier
            FROM with_causes p WHERE p.incident_date IS NOT NULL""").fetchall()
        assert rows and all(later == 0 for _, _, later, _ in rows)
        assert all(listed == min(5, earlier) for _, listed, _, earlier in rows)
        assert {listed for _, listed, _, _ in rows} > {5}  # the first incidents have fewer to list
    copy = tmp_path / "PM-2026-100-copy.md"
    copy.write_text(next(SAMPLE_STORE.rglob("PM-2026-003-*.md")).read_text().replace("PM-2026-003", "PM-2026-100"))
    assert main(["similar", str(copy), "--db", str(db), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["similar_incidents"][0]["incident_id"] == "PM-2026-003"
    assert report["similar_incidents"][0]["similarity"] > 0.99
    assert all(c["theme_id"] for c in report["causes"])
    assert main(["similar", str(copy), "--db", str(db)]) == 0
    assert "Most similar past incidents" in capsys.readouterr().out


def test_each_systemic_action_item_is_linked_to_the_cause_it_fixes(built):
    _, _, db, _ = built
    with duckdb.connect(str(db), read_only=True) as con:
        unlinked = scalar(con, """
            SELECT count(*) FROM action_items a WHERE a.kind = 'systemic'
              AND a.incident_id IN (SELECT incident_id FROM root_causes)
              AND a.action_id NOT IN (SELECT action_id FROM action_item_links WHERE theme_set = 'root_cause')""")
        foreign = scalar(con, """
            SELECT count(*) FROM action_item_links l JOIN theme_items i USING (theme_set, item_id)
            WHERE i.incident_id <> l.incident_id""")
        links = dict(con.execute("""
            SELECT a.text, i.text FROM action_item_links l JOIN action_items a USING (action_id)
            JOIN theme_items i USING (theme_set, item_id)
            WHERE l.theme_set = 'root_cause' AND l.incident_id = 'PM-2025-005'""").fetchall())
    assert unlinked == 0 and foreign == 0
    # PM-2025-005 has three causes (retries, an unlimited bulk fan-out, an unconfirmed quota
    # increase); each fix must land on its own cause, not on the incident as a whole.
    def cause_fixed_by(words: str) -> str:
        return next(cause for action, cause in links.items() if words in action).split(".")[0]

    assert [cause_fixed_by(w) for w in ("retry budget", "Token-bucket", "quota increase confirmed")] == [
        "Retries amplified the overload", "Bulk drafting fanned out without a rate limiter",
        "The quota increase was requested but never confirmed"]


def test_similar_recognises_a_file_already_in_the_store_and_states_its_floor(built, capsys, tmp_path):
    _, store, db, _ = built
    # The same bytes at another path: recognised by content, never its own best match.
    original = next(store.rglob("PM-2026-003-*.md"))
    outside = tmp_path / "elsewhere.md"
    outside.write_bytes(original.read_bytes())
    assert main(["similar", str(outside), "--db", str(db), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["already_ingested_as"] == "PM-2026-003"
    assert "PM-2026-003" not in [s["incident_id"] for s in report["similar_incidents"]]
    with duckdb.connect(str(db), read_only=True) as con:
        with_causes = scalar(con, "SELECT count(DISTINCT incident_id) FROM theme_items WHERE theme_set = 'root_cause'")
    assert report["compared_incidents"] == with_causes - 1
    assert all(s["similarity"] >= report["similarity_floor"] for s in report["similar_incidents"])
    assert main(["similar", str(outside), "--db", str(db), "--floor", "0.99"]) == 0
    text = capsys.readouterr().out
    assert "already in the warehouse as PM-2026-003" in text and "cosine >= 0.99" in text
    assert f"with {with_causes - 1} past incidents" in text and "No past incident is that similar." in text


def test_similar_falls_back_to_the_summary_without_a_cause(built, capsys, tmp_path):
    _, _, db, _ = built
    path = tmp_path / "note.md"
    path.write_text("# Answers quoted stale prices\n\n## Summary\nThe search index kept serving last week's "
                    "documents after the nightly re-index job failed silently.\n")
    assert main(["similar", str(path), "--db", str(db), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["compared_by"].startswith("its summary") and report["causes"]
    assert report["similar_incidents"]  # the sample store has stale-index incidents


def test_within_too_few_incidents_names_the_incident():
    groups = {"RC-001": [0, 1, 2], "RC-002": [3, 4]}
    incidents = ["PM-1", "PM-1", "PM-2", "PM-3", "PM-3"]
    found = within_too_few_incidents(groups, incidents, ["a", "b", "c", "d", "e"], 2)
    assert set(found) == {"d", "e"} and {theme for theme, _ in found.values()} == {"RC-002"}
    assert "PM-3" in found["d"][1] and "2 incidents" in found["d"][1]
    assert within_too_few_incidents(groups, incidents, ["a", "b", "c", "d", "e"], 1) == {}
    assert set(within_too_few_incidents(groups, incidents, list("abcde"), 3)) == set("abcde")


def test_min_incidents_setting_reads_the_store_config():
    assert min_incidents_setting({}) == MIN_INCIDENTS_PER_THEME == 2
    assert min_incidents_setting({"themes": {"min_incidents_per_theme": 3}}) == 3
    for bad in ({"themes": {"min_incidents_per_theme": "two"}}, {"themes": {"min_incidents_per_theme": 0}},
                {"themes": "yes"}, None):
        assert min_incidents_setting(bad) == MIN_INCIDENTS_PER_THEME


LOOKALIKE_CAUSES = """
    ### 1. Greenhouse irrigation timer kept the summer watering schedule
    - Category: infrastructure
    - Description: The greenhouse irrigation timer kept its summer schedule after the clocks changed, so the orchid beds were watered twice each morning.
    - Why evals missed it: Nothing tests the irrigation timers.

    ### 2. Greenhouse irrigation timer reset restored the summer watering schedule
    - Category: infrastructure
    - Description: Resetting the greenhouse irrigation timer restored its summer schedule, so the orchid beds were watered twice each morning again.
    - Why evals missed it: Nothing tests the irrigation timers.
    """


def test_themes_span_incidents_and_a_group_within_one_incident_is_shown_with_it(built, embedder, tmp_path):
    _, _, db, _ = built
    with duckdb.connect(str(db), read_only=True) as con:
        assert scalar(con, "SELECT min(n_incidents) FROM themes") >= MIN_INCIDENTS_PER_THEME
        assert scalar(con, "SELECT count(*) FROM themes WHERE stability IS NULL") == 0
        assert scalar(con, "SELECT count(*) FROM themes WHERE stability < 0 OR stability > 1") == 0
        # Generated names are in words: 2-9 of them, no keyword lists, no ids, distinct per set.
        for theme_set, names in con.execute("SELECT theme_set, list(name) FROM themes GROUP BY 1").fetchall():
            assert len(set(names)) == len(names), theme_set
            assert all(2 <= len(n.split()) <= 9 and "/" not in n and not any(c.isdigit() for c in n)
                       for n in names), names
    # One post-mortem whose two causes are alike and unlike every other cause (nothing else in the
    # sample is about anything but software): a pattern inside one incident, not a recurrence.
    store, copy = copy_of(built, tmp_path)
    (store / "PM-2026-098-badges.md").write_text(postmortem("PM-2026-098", causes=LOOKALIKE_CAUSES))
    with connect(copy) as con:
        ingest_store(con, store)
        build_themes(con, embedder, {}, run_id="lookalike", refit=True)
        within = con.execute("""SELECT item_id, theme_id, cluster_theme_id, reason FROM theme_assignments
                                WHERE status = 'one_incident'""").fetchall()
        assert {r[0] for r in within if r[0].startswith("PM-2026-098")} == {"PM-2026-098#1", "PM-2026-098#2"}, \
            con.execute("SELECT item_id, theme_id, status FROM theme_assignments WHERE cluster_theme_id IN "
                        "(SELECT cluster_theme_id FROM theme_assignments WHERE item_id = 'PM-2026-098#1')").fetchall()
        # Every such group is shown with its own incident, never as a theme.
        assert all(theme is None and cluster and item.split("#")[0] in reason for item, theme, cluster, reason in within)
        assert not {r[2] for r in within} & {r[0] for r in con.execute("SELECT theme_id FROM themes").fetchall()}
        # Asking for more incidents per theme turns more groups into within-incident groups, never loses items.
        build_themes(con, embedder, {}, run_id="strict", refit=True, min_incidents=4)
        assert scalar(con, "SELECT min(n_incidents) FROM themes") >= 4
        assert scalar(con, "SELECT count(*) FROM theme_assignments WHERE status = 'one_incident'") > len(within)
        assert scalar(con, "SELECT count(*) FROM theme_assignments WHERE theme_id IS NULL AND reason IS NULL") == 0
