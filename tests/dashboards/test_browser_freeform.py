"""End to end on a store of free-form post-mortems (tests/freeform.py), as a new user would
try it: `emberline init`, then `emberline run` through Dagster with the store's own settings
(no warehouse or curation path given), then every page in headless Chromium. Nothing of the
bundled sample may leak in, and no page may show "None", "nan", "NaT" or a 0.000000 axis."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import duckdb
import pytest
import yaml

from pipelines.settings import PROJECT_ROOT
from tests.dashboards.browser import CHROMIUM, TALL_VIEWPORT, exceptions_on, screenshot, serve, wait_for_render
from tests.freeform import write_freeform_store

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: `make browser` installs Debian's "
                                                     "chromium package (needs root); .ci/run does this"),
]
LEAKS = re.compile(r"\bNone\b|\b[Nn]a[Nn]\b|\bNaT\b|0\.000000")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """init + run on a fresh free-form store; the warehouse goes where the settings say."""
    root = tmp_path_factory.mktemp("freeform_e2e")
    store = write_freeform_store(root / "postmortems", recurring=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBERLINE_")}
    env |= {"EMBERLINE_POSTMORTEMS": str(store), "XDG_DATA_HOME": str(root / "xdg"),
            "DAGSTER_HOME": str(root / "dagster_home"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    for args in (["init", str(store)], ["run"]):
        result = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=PROJECT_ROOT, env=env,
                                capture_output=True, text=True, timeout=1800)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [warehouse] = (root / "xdg" / "emberline").glob("postmortems-*/warehouse.duckdb")
    return store, warehouse, result.stdout


def test_run_uses_the_stores_own_places_and_no_sample_curation(run):
    store, warehouse, summary = run
    assert not LEAKS.search(summary), summary
    assert f"warehouse:          {warehouse}" in summary and "without a date:" in summary
    assert (warehouse.parent / "reports").is_dir()  # outputs next to the warehouse, not in the checkout
    sample_names = set()
    for rules in yaml.safe_load((PROJECT_ROOT / "data" / "themes.yaml").read_text()).values():
        if isinstance(rules, dict):
            sample_names |= set((rules.get("rename") or {}).values())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        themes = con.execute("SELECT name, name_source FROM themes").fetchall()
    assert themes and {source for _, source in themes} == {"generated"}
    assert not {name for name, _ in themes} & sample_names


def test_every_page_reads_well_in_the_browser(browser, run):
    _, warehouse, _ = run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        undated = con.execute("SELECT incident_id FROM postmortems WHERE incident_date IS NULL "
                              "ORDER BY incident_id LIMIT 1").fetchone()[0]
        theme = con.execute("SELECT theme_id FROM themes ORDER BY theme_id LIMIT 1").fetchone()[0]
    pages = [("/", "Where do we keep getting burned?"), ("/weekly", "Weekly review"),
             (f"/themes?theme={theme}", "Themes"), ("/incidents", "Incidents"),
             (f"/incidents?incident={quote(undated)}", undated), ("/health", "Post-mortem health"), ("/sql", "SQL")]
    context = browser.new_context(viewport=TALL_VIEWPORT)
    page = context.new_page()
    with serve(warehouse) as url:
        for path, heading in pages:
            page.goto(url + path)
            wait_for_render(page)
            assert not exceptions_on(page), exceptions_on(page)
            assert heading in page.locator("h1").first.inner_text()
            # Visible text, table cells (the data grid keeps them in an accessible table) and chart text.
            contents = "els => els.map(e => e.textContent || '')"
            cells = page.locator("[data-testid='stDataFrame'] [role='gridcell']").evaluate_all(contents)
            chart_text = page.locator("[data-testid='stVegaLiteChart'] svg text").evaluate_all(contents)
            text = "\n".join([page.locator("[data-testid='stApp']").inner_text(), *cells, *chart_text])
            leak = LEAKS.search(text)
            assert not leak, f"{path}: ...{text[max(0, leak.start() - 120):leak.end() + 40]}..."
            name = "freeform-" + (path.strip("/").split("?")[0] or "quarterly")
            screenshot(page, name, docs=False)
    context.close()

