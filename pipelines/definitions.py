"""The one Definitions of the `pipelines` code location (workspace.yaml)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

# Every step opens the same DuckDB file, which takes one writer at a time: run steps one
# after another in one process (also saves re-importing torch per step).
defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).parent / "defs"),
    dg.Definitions(executor=dg.in_process_executor),
)
