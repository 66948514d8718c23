from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.evals.link import link_eval_suite, write_eval_tables
from pipelines.warehouse.db import connect
from tests.conftest import SAMPLE_STORE
from tests.evals.suite_fixture import LinkedStore, build_linked_store
from tests.reports.conftest import build_warehouse


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    return build_warehouse(SAMPLE_STORE, tmp_path_factory.mktemp("sample") / "warehouse.duckdb")


@pytest.fixture(scope="session")
def linked(sample_warehouse, tmp_path_factory) -> LinkedStore:
    """The sample store with a small eval suite and results folder, linked into its warehouse."""
    store = build_linked_store(sample_warehouse, tmp_path_factory.mktemp("linked"))
    with connect(store.warehouse) as con:
        write_eval_tables(con, link_eval_suite(con, store.suite, store.results))
    return store
