"""Notice new, changed and deleted post-mortem files and refresh the warehouse.

The sensor lists the store (one stat per file, like ingest) and compares it with what the
published warehouse last read (`source_files`: path, size, mtime). Any difference requests a
run of `refresh_job`: ingest, themes and publish. The run key is a digest of the listing, so
one state of the store is refreshed once, even while that run is still going.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipelines.defs.resources import Warehouse
from pipelines.warehouse.db import connect_readonly, table_exists
from pipelines.warehouse.store import discover

# Everything the published warehouse is built from: ingest, themes, trends, publish.
refresh_job = dg.define_asset_job(
    "refresh_job",
    selection=dg.AssetSelection.assets("published_warehouse").upstream() - dg.AssetSelection.assets("postmortem_files"),
    description="Ingest changed post-mortems, refresh the themes and publish the warehouse (started by the sensor).",
)


@dataclass
class StoreChanges:
    """How the store differs from what the warehouse last read. Plain data: no Dagster."""

    digest: str
    files: int
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.new or self.changed or self.removed)

    def describe(self) -> str:
        groups = (("new", self.new), ("changed", self.changed), ("removed", self.removed))
        paths = self.new + self.changed + self.removed
        counts = ", ".join(f"{len(v)} {k}" for k, v in groups if v)
        return f"{counts} ({', '.join(paths[:3])}{', …' if len(paths) > 3 else ''})" if paths else "no change"


def store_listing(store: Path) -> dict[str, tuple[int, int]]:
    files, _ = discover(store)
    return {f.rel_path: (f.size, f.mtime_ns) for f in files}


def warehouse_listing(database: Path) -> dict[str, tuple[int, int]]:
    """What the published warehouse read, or nothing if there is none yet."""
    if not Path(database).exists():
        return {}
    with connect_readonly(database) as con:
        if not table_exists(con, "source_files"):
            return {}
        rows = con.execute("SELECT source_path, size, mtime_ns FROM source_files").fetchall()
    return {path: (size, mtime) for path, size, mtime in rows}


def compare_listings(store: dict[str, tuple[int, int]], read: dict[str, tuple[int, int]]) -> StoreChanges:
    digest = hashlib.sha256("\n".join(f"{p}\t{s}\t{m}" for p, (s, m) in sorted(store.items())).encode()).hexdigest()
    return StoreChanges(
        digest=digest[:16], files=len(store),
        new=sorted(set(store) - set(read)),
        changed=sorted(p for p in set(store) & set(read) if store[p] != read[p]),
        removed=sorted(set(read) - set(store)))


@dg.sensor(name="postmortem_store_sensor", job=refresh_job, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every minute: if post-mortem files were added, changed or deleted since the published "
           "warehouse read them, refresh ingest, themes and the warehouse.")
def postmortem_store_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    changes = compare_listings(store_listing(Path(warehouse.postmortems_dir)),
                               warehouse_listing(Path(warehouse.database)))
    if not changes.any:
        return dg.SkipReason(f"{changes.files} files, none new, changed or removed since the last publish")
    context.log.info(f"store changed: {changes.describe()}")
    return dg.RunRequest(run_key=f"store-{changes.digest}",
                         tags={"emberline/trigger": "store changed", "emberline/store_digest": changes.digest,
                               "emberline/changes": changes.describe()[:200]})
