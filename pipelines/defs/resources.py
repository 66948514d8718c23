"""The one resource every asset uses: where the store and the warehouse are."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.settings import load_settings
from pipelines.warehouse.db import connect, publish


class Warehouse(dg.ConfigurableResource):
    """The post-mortem store and the DuckDB warehouse.

    Assets write the working copy (`build_database`); `publish()` swaps it in atomically for
    readers at `database`. Defaults come from the environment (pipelines.settings), so the
    CLI, the Dagster UI and tests agree on the paths.
    """

    postmortems_dir: str
    database: str

    @property
    def build_database(self) -> Path:
        published = Path(self.database)
        return published.parent / "build" / published.name

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = connect(self.build_database)
        try:
            yield con
        finally:
            con.close()

    def publish(self) -> Path:
        return publish(self.build_database, self.database)


def default_warehouse() -> Warehouse:
    settings = load_settings()
    return Warehouse(postmortems_dir=str(settings.postmortems_dir), database=str(settings.database))


class EmbeddingModel(dg.ConfigurableResource):
    """The sentence-transformers model, loaded once per process from a local path.

    Empty `model_path` means the packaged all-MiniLM-L6-v2 (or EMBERLINE_MODEL). Never
    reaches a model hub.
    """

    model_path: str = ""
    fast: bool = True

    def load(self):
        return _cached_embedder(self.model_path or None, self.fast)

    def identity(self) -> tuple[str, bool]:
        """Which model `load` would give, without loading it (for step fingerprints)."""
        from pipelines.themes.embed import default_model_path

        return str(self.model_path or default_model_path()), self.fast


@functools.lru_cache(maxsize=2)
def _cached_embedder(model_path, fast):
    from pipelines.themes.embed import load_embedder

    return load_embedder(model_path, fast=fast)


defs = dg.Definitions(resources={"warehouse": default_warehouse(), "embedding_model": EmbeddingModel()})
