"""Build both theme sets in the warehouse: embed (cached), cluster, keep ids, curate, name.

Two modes, chosen per run and per theme set:
- refit: cluster every item from scratch, then match the clusters to the previous run's
  themes (pipelines.themes.track). Used on the first run, and whenever more than
  `REFIT_SHARE` of the items are new or edited since the last run, or when asked.
- assign: keep every known item where it was and put each new item into the nearest theme
  (or leave it unclustered below the similarity floor). A weekly run that adds a handful of
  post-mortems to a history of thousands does not reshuffle the themes people know, and it
  costs milliseconds instead of a full clustering.
Unchanged input gives identical tables and ids in both modes (fixed seed, sorted inputs), and
then no lineage rows are written.

A theme answers "where do we keep getting burned?", so it must span at least
`MIN_INCIDENTS_PER_THEME` incidents (the store's `emberline.yaml` may set
`themes: {min_incidents_per_theme: N}`). A group whose items all come from fewer incidents is a
pattern inside one post-mortem, not a recurrence: its items get status `one_incident` and a
reason naming the incident, and it is shown with that incident instead of ranked as a theme.
The clustering's own id stays in `cluster_theme_id`, so the group keeps its id if a later
incident joins it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources

import duckdb
import numpy as np
import polars as pl

from pipelines.themes.curation import apply_curation
from pipelines.themes.embed import Embedder, embed_with_cache
from pipelines.themes.fixes import link_actions_to_items
from pipelines.themes.items import ID_PREFIX, THEME_SETS, load_items
from pipelines.themes.stability import bootstrap_labelings, theme_stability
from pipelines.themes.track import Cluster, PreviousTheme, assign_ids
from pipelines.themes.vectors import nearest_centroid, unit_rows
from pipelines.warehouse.db import execute_sql_file, insert_frame, query_frame
from pipelines.warehouse.fingerprints import code_fingerprint, digest, file_fingerprint, relation_fingerprint

REFIT_SHARE = 0.05
MIN_INCIDENTS_PER_THEME = 2


def min_incidents_setting(store_config: dict | None) -> int:
    """`themes.min_incidents_per_theme` from the store's emberline.yaml, else the default;
    a value that is not a whole number of at least 1 falls back to the default."""
    value = ((store_config or {}).get("themes") or {}).get("min_incidents_per_theme") \
        if isinstance((store_config or {}).get("themes"), dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return MIN_INCIDENTS_PER_THEME


def _sql(name: str) -> str:
    return resources.files("pipelines.themes").joinpath(name).read_text(encoding="utf-8")


def ensure_theme_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_sql("schema.sql"))


def create_theme_views(con: duckdb.DuckDBPyConnection) -> None:
    execute_sql_file(con, "pipelines.themes", "views.sql")


@dataclass
class SetSummary:
    theme_set: str
    mode: str
    items: int = 0
    newly_embedded: int = 0
    themes: int = 0
    unclustered: int = 0
    changed: bool = False
    lineage: dict[str, int] = field(default_factory=dict)
    curation_warnings: list[str] = field(default_factory=list)
    # Rules not applied because their theme is no longer the one they were written against.
    curation_stale: list[str] = field(default_factory=list)

    @property
    def unclustered_share(self) -> float:
        return round(self.unclustered / self.items, 4) if self.items else 0.0


def _centroids(vectors: np.ndarray, groups: dict[str, list[int]]) -> dict[str, np.ndarray]:
    return {g: unit_rows(vectors[idx].mean(axis=0)) for g, idx in groups.items() if idx}


def _previous_state(con, theme_set: str) -> tuple[dict[str, str | None], dict[str, str], set[str]]:
    """(item -> cluster theme id, item -> text hash, every id this set ever used)."""
    rows = con.execute("""
        SELECT a.item_id, a.cluster_theme_id, i.text_hash
        FROM theme_assignments a JOIN theme_items i USING (theme_set, item_id)
        WHERE a.theme_set = ?""", [theme_set]).fetchall()
    used = {r[0] for r in con.execute(
        "SELECT DISTINCT theme_id FROM theme_lineage WHERE theme_set = ?", [theme_set]).fetchall()}
    return {r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows}, used | {r[1] for r in rows if r[1]}


def build_theme_set(con: duckdb.DuckDBPyConnection, theme_set: str, embedder: Embedder, rules: dict | None, *,
                    run_id: str, now: datetime | None = None, refit: bool | None = None,
                    random_state: int = 0, min_incidents: int = MIN_INCIDENTS_PER_THEME) -> SetSummary:
    # scikit-learn loads here, not at import: a run whose themes are unchanged never needs it.
    from pipelines.themes.cluster import ThemeClusterer, lexical_features

    # Below this cosine to the nearest theme, a new item in assign mode stays unclustered: the
    # same floor the clusterer uses, so both modes draw the line in one place.
    assign_floor = ThemeClusterer().similarity_floor
    now = now or datetime.now(timezone.utc)
    items = load_items(con, theme_set)
    item_ids: list[str] = items["item_id"].to_list()
    texts: list[str] = items["text"].to_list()
    vectors, newly_embedded = embed_with_cache(con, texts, embedder)
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1) if texts else np.zeros((0, embedder.dim))

    previous, previous_hash, used_ids = _previous_state(con, theme_set)
    hashes = dict(zip(item_ids, items["text_hash"].to_list()))
    fresh = [i for i in item_ids if i not in previous or previous_hash.get(i) != hashes[i]]
    if refit is None:
        refit = not previous or len(fresh) > REFIT_SHARE * max(len(item_ids), 1)
    summary = SetSummary(theme_set, "refit" if refit else "assign", len(item_ids), newly_embedded)
    index = {item: k for k, item in enumerate(item_ids)}

    # Previous themes as they look in this run's data (members that still exist).
    prev_groups: dict[str, list[int]] = {}
    for item, theme in previous.items():
        if theme and item in index:
            prev_groups.setdefault(theme, []).append(index[item])
    prev_centroids = _centroids(vectors, prev_groups)

    reasons: dict[str, str] = {}
    cluster_of: dict[str, str | None] = {}
    bootstrap_runs: list = []
    previous_stability = dict(con.execute(
        "SELECT theme_id, stability FROM themes WHERE theme_set = ?", [theme_set]).fetchall())
    if refit:
        clusterer = ThemeClusterer(random_state=random_state)
        lexical = lexical_features(texts)
        labels = clusterer.fit(vectors, lexical=lexical).labels_ if len(item_ids) else np.array([], dtype=int)
        bootstrap_runs = bootstrap_labelings(len(item_ids), lambda sample, seed: ThemeClusterer(
            random_state=seed).fit(vectors[sample], lexical=None if lexical is None else lexical[sample]).labels_,
            random_state=random_state) if len(item_ids) > 2 else []
        unclustered_reason = list(getattr(clusterer, "unclustered_reason_", [None] * len(item_ids))) \
            if len(item_ids) else []
        groups: dict[int, list[int]] = {}
        for k, label in enumerate(labels):
            if label >= 0:
                groups.setdefault(int(label), []).append(k)
            else:
                reasons[item_ids[k]] = unclustered_reason[k] or "not similar enough to any theme"
        ordered = sorted(groups.values(), key=lambda idx: item_ids[idx[0]])
        clusters = [Cluster([item_ids[k] for k in idx], unit_rows(vectors[idx].mean(axis=0))) for idx in ordered]
        previous_themes = [PreviousTheme(t, {item_ids[k] for k in idx}, prev_centroids.get(t))
                           for t, idx in sorted(prev_groups.items())]
        ids, events = assign_ids(previous_themes, clusters, ID_PREFIX[theme_set], used_ids)
        for theme_id, cluster in zip(ids, clusters):
            for item in cluster.members:
                cluster_of[item] = theme_id
        for item in item_ids:
            cluster_of.setdefault(item, None)
    else:
        events = []
        theme_ids = sorted(prev_centroids)
        centroid_matrix = np.stack([prev_centroids[t] for t in theme_ids]) if theme_ids else None
        joining = [item for item in item_ids if item in fresh]
        nearest = {}
        if centroid_matrix is not None and joining:
            best, similarity = nearest_centroid(vectors[[index[item] for item in joining]], centroid_matrix)
            nearest = {item: (theme_ids[b], float(s)) for item, b, s in zip(joining, best, similarity)}
        for item in item_ids:
            if item not in fresh:
                cluster_of[item] = previous.get(item)
                continue
            if centroid_matrix is None:
                cluster_of[item], reasons[item] = None, "no themes to join yet"
                continue
            theme_id, similarity = nearest[item]
            if similarity >= assign_floor:
                cluster_of[item] = theme_id
            else:
                cluster_of[item] = None
                reasons[item] = f"no theme within cosine {assign_floor} (nearest {theme_id} at {similarity:.2f})"
        for item in item_ids:  # keep reasons of items that stayed unclustered
            if cluster_of[item] is None and item not in reasons:
                reasons[item] = "not similar enough to any theme"

    curation = apply_curation(cluster_of, dict(zip(item_ids, texts)), rules)
    summary.curation_warnings = curation.warnings
    summary.curation_stale = curation.stale
    reasons.update({k: v for k, v in curation.reasons.items()})
    final_groups: dict[str, list[int]] = {}
    for item, theme in curation.theme_of.items():
        if theme:
            final_groups.setdefault(theme, []).append(index[item])
    final_groups = {t: sorted(idx) for t, idx in sorted(final_groups.items())}
    one_incident = within_too_few_incidents(final_groups, items["incident_id"].to_list(), item_ids, min_incidents)
    for theme in {t for t, _ in one_incident.values()}:
        del final_groups[theme]
    reasons.update({item: reason for item, (_, reason) in one_incident.items()})
    centroids = _centroids(vectors, final_groups)
    if bootstrap_runs:
        stability = dict(zip(final_groups, theme_stability(list(final_groups.values()), bootstrap_runs)))
    else:  # assign mode: nothing was re-clustered, so the last measurement stands
        stability = {t: previous_stability.get(t) for t in final_groups}

    changed = (previous != cluster_of) or not previous
    summary.changed = changed
    embed = _cached_embed(con, embedder)
    _write_set(con, theme_set, items, vectors, cluster_of, curation, reasons, final_groups, centroids,
               stability, set(one_incident), embed)
    summary.newly_embedded += _write_action_links(con, theme_set, items, vectors, embedder)
    if changed and events:
        lineage = [{"run_id": run_id, "run_at": now, "theme_set": theme_set, "theme_id": e.theme_id,
                    "event": e.event, "related_theme_ids": e.related, "n_items": e.n_items, "detail": e.detail}
                   for e in events]
        insert_frame(con, "theme_lineage", pl.DataFrame(lineage, schema={
            "run_id": pl.String, "run_at": pl.Datetime("us", "UTC"), "theme_set": pl.String, "theme_id": pl.String,
            "event": pl.String, "related_theme_ids": pl.List(pl.String), "n_items": pl.Int32, "detail": pl.String}))
        for e in events:
            summary.lineage[e.event] = summary.lineage.get(e.event, 0) + 1
    summary.themes = len(final_groups)
    summary.unclustered = sum(1 for item, t in curation.theme_of.items() if not t or item in one_incident)
    return summary


def within_too_few_incidents(groups: dict[str, list[int]], incidents: list[str], item_ids: list[str],
                         min_incidents: int) -> dict[str, tuple[str, str]]:
    """item -> (its group, reason) for every group spanning fewer than `min_incidents` incidents."""
    found: dict[str, tuple[str, str]] = {}
    for theme, idx in groups.items():
        spanned = sorted({incidents[k] for k in idx})
        if len(spanned) >= min_incidents:
            continue
        reason = (f"a group of {len(idx)} items within {', '.join(spanned)} only; a theme needs "
                  f"{min_incidents} incidents, so it is shown with {'that incident' if len(spanned) == 1 else 'them'}")
        for k in idx:
            found[item_ids[k]] = (theme, reason)
    return found


def _cached_embed(con, embedder: Embedder):
    """Unit vectors for short texts (theme name candidates), through the vector cache."""
    def embed(texts: list[str]) -> np.ndarray:
        found, _ = embed_with_cache(con, texts, embedder)
        return unit_rows(np.asarray(found, dtype=np.float32).reshape(len(texts), -1))
    return embed


def _write_set(con, theme_set, items: pl.DataFrame, vectors, cluster_of, curation, reasons, final_groups,
               centroids, stability, one_incident: set[str], embed) -> None:
    from pipelines.themes.name import describe, distinctive_terms, name_themes, representatives

    item_ids = items["item_id"].to_list()
    incidents = items["incident_id"].to_list()
    categories = items["category"].to_list()
    dates = items["incident_date"].to_list()
    texts = items["text"].to_list()

    keywords = distinctive_terms([" ".join(texts[k] for k in idx) for idx in final_groups.values()])
    # Curated names win, so only the other themes need a generated one (and pay for embedding it).
    generated = [t for t in final_groups if t not in curation.names]
    generated_names = dict(zip(generated, name_themes(
        [[texts[k] for k in final_groups[t]] for t in generated],
        np.stack([centroids[t] for t in generated]) if generated else np.zeros((0, vectors.shape[1])),
        [representatives(vectors[final_groups[t]], centroids[t], 5) for t in generated], embed)))
    theme_rows = []
    for (theme_id, idx), words in zip(final_groups.items(), keywords):
        description = describe(generated_names.get(theme_id, ""), vectors[idx], centroids[theme_id],
                               [categories[k] for k in idx], words)
        reps = [idx[r] for r in description.representative_idx]
        theme_incidents = sorted({incidents[k] for k in idx})
        known_dates = [dates[k] for k in idx if dates[k] is not None]
        theme_rows.append({
            "theme_set": theme_set, "theme_id": theme_id,
            "name": curation.names.get(theme_id, description.name),
            "name_source": "curated" if theme_id in curation.names else "generated",
            "keywords": description.keywords,
            "representative_item_ids": [item_ids[k] for k in reps],
            "representative_texts": [texts[k] for k in reps],
            "category_mix": json.dumps(description.category_mix, sort_keys=True),
            "top_category": description.top_category,
            "n_items": len(idx), "n_incidents": len(theme_incidents), "incident_ids": theme_incidents,
            "first_seen": min(known_dates) if known_dates else None,
            "last_seen": max(known_dates) if known_dates else None,
            "centroid": centroids[theme_id].astype(np.float32).tolist(),
            "stability": stability.get(theme_id),
        })

    assignment_rows = []
    for k, item in enumerate(item_ids):
        theme = curation.theme_of.get(item)
        if item in one_incident:
            theme = None
        status = ("one_incident" if item in one_incident else "pinned" if item in curation.pinned
                  else "clustered" if theme else "unclustered")
        assignment_rows.append({
            "theme_set": theme_set, "item_id": item, "incident_id": incidents[k], "theme_id": theme,
            "cluster_theme_id": cluster_of.get(item),
            "similarity": round(float(vectors[k] @ centroids[theme]), 6) if theme else None,
            "status": status, "reason": reasons.get(item) if status != "clustered" else None,
        })

    for table in ("theme_items", "theme_assignments", "themes"):
        con.execute(f"DELETE FROM {table} WHERE theme_set = ?", [theme_set])
    insert_frame(con, "theme_items", items.select("theme_set", "item_id", "incident_id", "text", "text_hash",
                                                   "category"))
    insert_frame(con, "theme_assignments", pl.DataFrame(assignment_rows, schema={
        "theme_set": pl.String, "item_id": pl.String, "incident_id": pl.String, "theme_id": pl.String,
        "cluster_theme_id": pl.String, "similarity": pl.Float64, "status": pl.String, "reason": pl.String}))
    insert_frame(con, "themes", pl.DataFrame(theme_rows, schema={
        "theme_set": pl.String, "theme_id": pl.String, "name": pl.String, "name_source": pl.String,
        "keywords": pl.List(pl.String), "representative_item_ids": pl.List(pl.String),
        "representative_texts": pl.List(pl.String), "category_mix": pl.String, "top_category": pl.String,
        "n_items": pl.Int32, "n_incidents": pl.Int32, "incident_ids": pl.List(pl.String), "first_seen": pl.Date,
        "last_seen": pl.Date, "centroid": pl.List(pl.Float32), "stability": pl.Float64}))


def _write_action_links(con, theme_set: str, items: pl.DataFrame, vectors: np.ndarray, embedder: Embedder) -> int:
    """Link each systemic action item to the item of its incident it addresses
    (pipelines.themes.fixes); returns how many action texts had to be embedded."""
    actions = query_frame(con, """SELECT action_id, incident_id, text FROM action_items
                                WHERE kind = 'systemic' ORDER BY action_id""")
    embedded = 0

    def embed(texts: list[str]) -> np.ndarray:
        nonlocal embedded
        found, embedded = embed_with_cache(con, texts, embedder)
        return unit_rows(np.asarray(found, dtype=np.float32).reshape(len(texts), -1))

    links = link_actions_to_items(theme_set, actions, items, unit_rows(vectors), embed)
    con.execute("DELETE FROM action_item_links WHERE theme_set = ?", [theme_set])
    insert_frame(con, "action_item_links", links)
    return embedded


# What build_themes reads: the items' source rows, the systemic action items it links (only
# those: an edited eval-case or immediate action item changes no theme table), and the
# previous run's state (themes keep their ids by matching against it). Vectors are keyed by
# text hash and model and never change for a key, so the items' texts stand for them.
THEME_BUILD_READS = {
    "root_causes": "SELECT cause_id, incident_id, seq, title, description, category FROM root_causes",
    "eval_gaps": "SELECT gap_id, incident_id, seq, text FROM eval_gaps",
    "postmortems": "SELECT incident_id, incident_date FROM postmortems",
    "action_items": "SELECT action_id, incident_id, text FROM action_items WHERE kind = 'systemic'",
    "theme_items": "theme_items",
    "theme_assignments": "theme_assignments",
    "themes": "themes",
    "action_item_links": "action_item_links",
}


def theme_build_fingerprint(con: duckdb.DuckDBPyConnection, *, curation_file, min_incidents: int,
                            model: object) -> str:
    """Everything `build_themes` reads, the curation file, its settings and the code: equal to
    the fingerprint taken after the last build means a build now would write the same tables
    (no item is new or changed, so nothing is re-clustered or re-assigned)."""
    ensure_theme_schema(con)
    return digest(relation_fingerprint(con, THEME_BUILD_READS), file_fingerprint(curation_file), min_incidents,
                  model, code_fingerprint())


def build_themes(con: duckdb.DuckDBPyConnection, embedder: Embedder, curation: dict, *, run_id: str,
                 now: datetime | None = None, refit: bool | None = None,
                 min_incidents: int = MIN_INCIDENTS_PER_THEME) -> dict[str, SetSummary]:
    """Both theme sets in one transaction: readers of the working copy never see half."""
    ensure_theme_schema(con)
    con.execute("BEGIN TRANSACTION")
    try:
        summaries = {s: build_theme_set(con, s, embedder, curation.get(s), run_id=run_id, now=now, refit=refit,
                                        min_incidents=min_incidents)
                     for s in THEME_SETS}
        create_theme_views(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return summaries
