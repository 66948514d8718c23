"""Fixtures for the dashboard tests: a published sample warehouse with fixture themes, and
AppTest instances of the real entrypoint pointed at it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import queries
from tests.conftest import PROJECT_ROOT, SAMPLE_STORE
from tests.dashboards.browser import CHROMIUM, LAUNCH_ARGS
from tests.dashboards.warehouses import build_warehouse

APP = PROJECT_ROOT / "dashboards" / "app.py"
# A cold first run imports Streamlit's element modules, Altair and Polars.
APP_TIMEOUT = 60


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The bundled sample store, ingested for real, with fixture theme rows."""
    return build_warehouse(SAMPLE_STORE, tmp_path_factory.mktemp("dashboard") / "warehouse.duckdb")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (the browser tests skip without it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def sql(sample_warehouse) -> Callable[..., list[tuple]]:
    """Expected values come from the warehouse itself, never from the dashboard's code."""
    def run(query: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(sample_warehouse), read_only=True) as con:
            return con.execute(query, params or []).fetchall()
    return run


@pytest.fixture
def open_page(monkeypatch) -> Callable[..., AppTest]:
    """open_page(page_file, warehouse=..., **query_params) -> a finished AppTest run of
    the entrypoint in a new session opened on that page's URL with those query parameters,
    as when someone follows a pasted link. (Each page's url_path is its file name, which
    lets switch_page find it before the first run.)"""
    def run(page: str | None = None, *, warehouse: Path, **params: str) -> AppTest:
        monkeypatch.setenv("EMBERLINE_DB", str(warehouse))
        queries.clear_caches()
        at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
        if page is not None:
            at.switch_page(page)
        at.query_params.update(params)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    return run


@pytest.fixture
def page(open_page, sample_warehouse) -> Callable[..., AppTest]:
    """A page of the dashboard over the sample warehouse."""
    def run(page_file: str | None = None, **params: str) -> AppTest:
        return open_page(page_file, warehouse=sample_warehouse, **params)
    return run


def frame_of(at: AppTest, key: str):
    """The pandas frame shown by the st.dataframe with this key, or in the container with it."""
    matches = [df for df in at.dataframe if df.key == key]
    if not matches:
        matches = [node for node in at.get_by_key(key) if node.type == "dataframe"]
    assert matches, f"no dataframe {key!r}"
    return matches[0].value


def ids_in_links(values) -> list[str]:
    """The ids behind deep-link cells like './incidents?incident=PM-2026-014'."""
    return [str(v).rsplit("=", 1)[-1] for v in values]
