"""Publish the working warehouse for readers (dashboard, `emberline sql`, ad-hoc DuckDB)."""

import dagster as dg

from pipelines.defs.ingest import INGEST_TABLES
from pipelines.defs.themes import THEME_TABLES
from pipelines.defs.resources import Warehouse


@dg.asset(
    group_name="publish",
    deps=[*INGEST_TABLES, *THEME_TABLES, "similar_incidents", "theme_trends"],
    description="Atomic copy of the working warehouse to EMBERLINE_DB: readers see the previous run or this one, "
    "never a half-written file.",
    kinds={"duckdb"},
)
def published_warehouse(warehouse: Warehouse) -> dg.MaterializeResult:
    path = warehouse.publish()
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(path)), "size_mb": round(path.stat().st_size / 1e6, 2)}
    )
