"""The pipeline publishes a new warehouse while the app is serving: the app shows it without
a restart, and an open page updates by itself."""

from __future__ import annotations

import re
import shutil

import pytest

from dashboards import ui
from tests.conftest import SAMPLE_STORE, postmortem, write
from tests.dashboards.browser import (
    CHROMIUM,
    LAUNCH_ARGS,
    VIEWPORT,
    exceptions_on,
    serve,
    wait_for_render,
)
from tests.dashboards.warehouses import build_warehouse

NEW_INCIDENT = "PM-2026-901"


@pytest.fixture
def stores(tmp_path):
    """The sample store, and a copy with one more post-mortem."""
    before = SAMPLE_STORE
    after = tmp_path / "store-after"
    shutil.copytree(SAMPLE_STORE, after)
    write(after / "2026" / f"{NEW_INCIDENT}-swap.md",
          postmortem(NEW_INCIDENT, title="Published while the dashboard was open", started="2026-11-23T09:00:00+00:00",
                     resolved="2026-11-23T12:00:00+00:00", published="2026-11-24T09:00:00+00:00"))
    return before, after


def sidebar_incidents(at) -> int:
    caption = next(c.value for c in at.sidebar.caption if "incidents" in c.value)
    return int(caption.split()[0])


def test_same_session_sees_the_new_warehouse_on_its_next_run(open_page, stores, tmp_path):
    before, after = stores
    published = build_warehouse(before, tmp_path / "pub" / "warehouse.duckdb")
    at = open_page(ui.INCIDENTS, warehouse=published)
    count = sidebar_incidents(at)
    assert NEW_INCIDENT not in str(at.dataframe[0].value["incident_id"].tolist())

    build_warehouse(after, published)  # the pipeline's atomic publish, while the session is open
    at.run()
    assert not at.exception
    assert sidebar_incidents(at) == count + 1
    assert NEW_INCIDENT in str(at.dataframe[0].value["incident_id"].tolist())


def test_missing_warehouse_then_published(open_page, stores, tmp_path):
    published = tmp_path / "later" / "warehouse.duckdb"
    at = open_page(warehouse=published)
    assert at.title[0].value == "No warehouse yet"
    build_warehouse(stores[0], published)
    at.run()
    assert at.title[0].value == "Where do we keep getting burned?"


@pytest.mark.integration
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: `make browser` installs it (needs root)")
def test_open_page_picks_up_a_published_warehouse_without_reload(stores, tmp_path):
    from playwright.sync_api import sync_playwright

    before, after = stores
    published = build_warehouse(before, tmp_path / "pub" / "warehouse.duckdb")
    with serve(published) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{url}/incidents?q=dashboard+was+open")
        wait_for_render(page)
        sidebar = page.locator("[data-testid='stSidebar']")
        count = int(re.search(r"(\d+) incidents", sidebar.inner_text())[1])
        assert page.get_by_text("0 incidents.").is_visible()

        build_warehouse(after, published)
        # No reload: the page polls for a newly published file and reruns itself.
        page.get_by_text(f"{count + 1} incidents,").wait_for(timeout=30_000)
        page.get_by_text("1 incident.").wait_for(timeout=10_000)
        assert not exceptions_on(page)
        page.reload()
        wait_for_render(page)
        assert f"{count + 1} incidents" in sidebar.inner_text()
        browser.close()
