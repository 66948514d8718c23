"""Jobs: the whole graph (what `make run` and `emberline run` execute) and the ingest part."""

import dagster as dg

# Everything materializable: the store itself (postmortem_files) is observed, not built.
everything = dg.AssetSelection.all() - dg.AssetSelection.assets("postmortem_files")

emberline_job = dg.define_asset_job(
    "emberline_job",
    selection=everything,
    description="The main job: ingest, lint, themes, trends, reports, exports, publish.",
)

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.groups("ingest", "publish") - dg.AssetSelection.assets("postmortem_files"),
    description="Ingest and lint the store, then publish the warehouse.",
)

defs = dg.Definitions(jobs=[emberline_job, ingest_job])
