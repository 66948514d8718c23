"""Warehouses for report tests: the bundled sample corpus with stand-in themes (built once
per session), and small hand-made stores where a test needs exact control."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.warehouse.db import connect
from pipelines.warehouse.ingest import ingest_store
from tests.conftest import SAMPLE_STORE
from tests.reports.themes_fixture import plant_themes


def build_warehouse(store: Path, database: Path, *, themes: bool = True) -> Path:
    with connect(database) as con:
        ingest_store(con, store, workers=1)
        if themes:
            plant_themes(con)
    return database


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The sample corpus, ingested, with one stand-in theme per root-cause category."""
    return build_warehouse(SAMPLE_STORE, tmp_path_factory.mktemp("sample") / "warehouse.duckdb")


@pytest.fixture
def sample_con(sample_warehouse):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        yield con
