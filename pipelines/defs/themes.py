"""Theme assets: embeddings, clustered and named themes with stable ids, similar incidents,
and the trend views the reports and the dashboard read.

The theme build and similar incidents skip their work when what they read is unchanged since
their last run (a fingerprint in `step_fingerprints`): a run that changed nothing costs a
hash of their input rows, not a model load and a pass over every item."""

import dagster as dg

from pipelines.defs.resources import EmbeddingModel, Warehouse
from pipelines.settings import load_settings
from pipelines.themes.build import (
    build_themes,
    create_theme_views,
    ensure_theme_schema,
    min_incidents_setting,
    theme_build_fingerprint,
)
from pipelines.themes.curation import load_curation
from pipelines.themes.similar import build_similar_incidents, similar_incidents_fingerprint
from pipelines.warehouse.db import scalar
from pipelines.warehouse.fingerprints import record_step, stored_step

THEME_TABLES = {
    "theme_items": "Every root cause and eval gap as clustered: the exact text embedded and its hash.",
    "embeddings": "Vectors keyed by (model_id, text_hash): a text embedded once by a model is never embedded again.",
    "theme_assignments": "Each item's theme (after curation), the clustering's own theme id, similarity, or why it is "
    "unclustered.",
    "themes": "Root-cause (RC-…) and eval-gap (EG-…) themes: name, keywords, representative items, category mix, "
    "incidents.",
    "theme_lineage": "Per run: which themes were new, continued, merged, split or retired.",
    "action_item_links": "Which root cause and which eval gap of its incident each systemic action item addresses "
    "(nearest by cosine): what 'did the fix work?' counts per theme.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(name, description=text, group_name="themes",
                     deps=["root_causes", "eval_gaps", "action_items", "postmortems"], kinds={"duckdb", "sklearn"})
        for name, text in THEME_TABLES.items()
    ],
    description="Embed new texts, cluster root causes and eval gaps into themes that keep their ids, apply "
    "the store's curation file (rules whose theme changed are reported stale, not applied), link each "
    "systemic action item to the cause and gap it addresses.",
)
def build_theme_tables(context: dg.AssetExecutionContext, warehouse: Warehouse, embedding_model: EmbeddingModel):
    settings = load_settings()
    min_incidents = min_incidents_setting(settings.store_config)
    summaries = {}
    with warehouse.connect() as con:
        def fingerprint() -> str:
            return theme_build_fingerprint(con, curation_file=settings.curation_file, min_incidents=min_incidents,
                                           model=embedding_model.identity())

        unchanged = fingerprint() == stored_step(con, "build_theme_tables")
        if unchanged:
            context.log.info("theme inputs unchanged since the last build: nothing re-embedded, re-clustered or "
                             "re-assigned")
        else:
            embedder = embedding_model.load()
            summaries = build_themes(con, embedder, load_curation(settings.curation_file), run_id=context.run_id,
                                     min_incidents=min_incidents)
            record_step(con, "build_theme_tables", fingerprint())
        counts = {name: scalar(con, f"SELECT count(*) FROM {name}") for name in THEME_TABLES}
    for s in summaries.values():
        context.log.info(f"{s.theme_set}: {s.mode}, {s.themes} themes, {s.unclustered_share:.1%} unclustered, "
                         f"{s.newly_embedded} newly embedded")
        for warning in s.curation_stale + s.curation_warnings:
            context.log.warning(f"curation ({s.theme_set}): {warning}")
    per_set = {
        f"{s.theme_set}/{key}": value
        for s in summaries.values()
        for key, value in (("mode", s.mode), ("themes", s.themes), ("items", s.items),
                           ("unclustered_share", s.unclustered_share), ("newly_embedded", s.newly_embedded),
                           ("stale_curation_rules", len(s.curation_stale)))
    }
    for name in THEME_TABLES:
        metadata = {"dagster/row_count": counts[name], "inputs_unchanged": unchanged}
        if name == "themes":
            metadata |= per_set
        if name == "embeddings":
            metadata |= {"model_id": embedding_model.identity()[0] if unchanged else embedder.model_id,
                         "newly_embedded": sum(s.newly_embedded for s in summaries.values())}
        yield dg.MaterializeResult(asset_key=name, metadata=metadata)


@dg.asset(group_name="themes", deps=["embeddings", "theme_items"], kinds={"duckdb"},
          description="The five most similar past incidents for every incident (cosine of mean root-cause vectors).")
def similar_incidents(warehouse: Warehouse, embedding_model: EmbeddingModel) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        ensure_theme_schema(con)
        model = embedding_model.identity()
        unchanged = similar_incidents_fingerprint(con, model) == stored_step(con, "similar_incidents")
        if not unchanged:
            build_similar_incidents(con, embedding_model.load().model_id)
            record_step(con, "similar_incidents", similar_incidents_fingerprint(con, model))
        rows = scalar(con, "SELECT count(*) FROM similar_incidents")
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "inputs_unchanged": unchanged})


@dg.asset(group_name="themes", deps=["themes", "theme_assignments", "action_item_links", "action_items"],
          kinds={"duckdb"},
          description="Trend views: counts per ISO week and quarter, recurrence, burn score, did-the-fix-work, "
          "co-occurrence (pipelines/themes/views.sql).")
def theme_trends(warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        ensure_theme_schema(con)
        create_theme_views(con)
        top = con.execute("""
            SELECT b.theme_id, b.name, b.incidents, b.burn_score, r.quarters_present
            FROM theme_burn b JOIN theme_recurrence r USING (theme_set, theme_id)
            WHERE b.theme_set = 'root_cause' ORDER BY b.burn_score DESC, b.theme_id LIMIT 5""").fetchall()
    table = "| theme | name | incidents | burn | quarters |\n|---|---|---|---|---|\n" + "\n".join(
        f"| {t} | {n} | {i} | {b} | {q} |" for t, n, i, b, q in top)
    return dg.MaterializeResult(metadata={"top_burn": dg.MetadataValue.md(table)})
