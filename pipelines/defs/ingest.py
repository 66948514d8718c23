"""Ingest assets: the post-mortem store in, the warehouse's incident tables out."""

import dagster as dg

from pipelines.defs.resources import Warehouse
from pipelines.warehouse.db import scalar
from pipelines.warehouse.ingest import ingest_store

INGEST_TABLES = {
    "postmortems": "One row per post-mortem: front matter, derived durations, ISO week and quarter, completeness.",
    "timeline_events": "Timestamped timeline entries, classified as change, detection, diagnosis, mitigation or resolution.",
    "root_causes": "One row per root cause with its category and why the evals missed it.",
    "eval_gaps": "Eval coverage gaps: the gap analysis, or each cause's why-evals-missed text.",
    "action_items": "Immediate fixes, new eval cases and systemic prevention items with owner, deadline, status.",
    "prompt_diffs": "Prompt before/after for each incident.",
    "sample_outputs": "Redacted failing outputs.",
    "model_configs": "Provider, model version and sampling configuration per incident.",
    "lint_findings": "What a reviewer would ask for: missing sections, blame language, unredacted data, lateness.",
    "ingest_issues": "Files that did not load, or loaded with gaps, with file, line and message.",
    "source_files": "Incremental state: size, mtime and hash of every file when last read.",
}

postmortem_files = dg.AssetSpec(
    "postmortem_files",
    description="The post-mortem store: every post-mortem file (.md, .markdown, .txt, .html, .docx) under "
                "EMBERLINE_POSTMORTEMS (data/postmortems by default).",
    group_name="ingest",
    kinds={"markdown"},
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(name, description=text, group_name="ingest", deps=[postmortem_files], kinds={"duckdb"})
        for name, text in INGEST_TABLES.items()
    ],
    description="Parse and lint every changed post-mortem; replace its rows in the warehouse.",
)
def ingest_postmortems(context: dg.AssetExecutionContext, warehouse: Warehouse):
    with warehouse.connect() as con:
        summary = ingest_store(con, warehouse.postmortems_dir)
        counts = {name: scalar(con, f"SELECT count(*) FROM {name}") for name in INGEST_TABLES}
    context.log.info(f"ingest: {summary.as_metadata()}")
    for name in INGEST_TABLES:
        metadata = {"dagster/row_count": counts[name]}
        if name == "postmortems":
            metadata |= {**summary.as_metadata(), "changed_ids": dg.MetadataValue.json(summary.changed_ids[:200])}
        yield dg.MaterializeResult(asset_key=name, metadata=metadata)
