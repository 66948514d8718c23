"""Dashboard benchmark: each page's data queries and first render against a warehouse built
from the generated corpus (10,000 post-mortems by default).

    python bench/dashboard.py [--n 10000] [--rebuild]

The warehouse is built once by `emberline run` (the real pipeline: ingest, themes, similar
incidents, trend views) over bench/out/corpus-n<N>-seed0 into bench/out/dashboard-n<N>/, and
reused while the corpus is unchanged. Per page, with every cache cleared first:
- data queries: the time spent in DuckDB (every read_frame/read_rows call) during the page's
  first script run, and the slowest single query;
- first render: the whole first script run of the page (queries, frames, charts) through
  Streamlit's AppTest, after one warm-up run so that module imports and loading the
  embedding model (once per server process) are not counted, as in a server that has served
  anyone before;
- in Chromium: from navigation to the finished page in headless Chromium against a freshly
  started server, when /usr/bin/chromium exists (the server's caches are cold for each page).
Targets: data queries under 200 ms and first render under 2 s per page.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/dashboard.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import read_manifest  # noqa: E402
from bench.ingest import OUT_DIR, ensure_corpus  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP = PROJECT_ROOT / "dashboards" / "app.py"
TARGET_QUERY_MS = 200
TARGET_RENDER_S = 2.0


def warehouse_dir(n: int) -> Path:
    return OUT_DIR / f"dashboard-n{n}"


def ensure_warehouse(n: int, *, rebuild: bool = False) -> tuple[Path, float | None]:
    """The published warehouse for the n-post-mortem corpus, and its build time (None if reused)."""
    corpus, _ = ensure_corpus(n)
    target = warehouse_dir(n)
    published = target / "warehouse.duckdb"
    stamp = target / "built-from.json"
    manifest = read_manifest(corpus)
    if not rebuild and published.exists() and stamp.exists() and json.loads(stamp.read_text()) == manifest:
        return published, None
    target.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "EMBERLINE_POSTMORTEMS": str(corpus), "EMBERLINE_DB": str(published),
        "DAGSTER_HOME": str(target / "dagster_home"), "EMBERLINE_REPORTS": str(target / "reports"),
        "EMBERLINE_EXPORTS": str(target / "exports"),
        # The sample store's curation names sample themes; the generated corpus has its own.
        "EMBERLINE_THEMES_FILE": str(target / "themes.yaml"),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    }
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "run"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"emberline run failed on the generated corpus:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    stamp.write_text(json.dumps(manifest))
    return published, time.perf_counter() - started


def page_cases(published: Path) -> list[tuple[str, str | None, dict]]:
    """(label, page file, query parameters): every page, and the incident page's views."""
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        incident = con.execute("SELECT incident_id FROM postmortems ORDER BY incident_date DESC, incident_id "
                               "LIMIT 1").fetchall()[0][0]
        theme = con.execute("SELECT theme_id FROM theme_burn WHERE theme_set = 'root_cause' "
                            "ORDER BY burn_score DESC LIMIT 1").fetchall()[0][0]
    return [
        ("Quarterly retrospective", None, {}),
        ("Quarterly retrospective, one quarter", None, {"quarter": "2026-Q2"}),
        ("Weekly review", "views/weekly.py", {}),
        ("Themes", "views/themes.py", {"theme": theme}),
        ("Incidents: list", "views/incidents.py", {}),
        ("Incidents: text search + filter", "views/incidents.py", {"q": "index stale", "severity": "SEV2"}),
        ("Incidents: one incident", "views/incidents.py", {"incident": incident}),
        ("Incidents: search by meaning", "views/incidents.py",
         {"q": "the retrieval index went stale after a failed nightly job", "mode": "meaning"}),
        ("Post-mortem health", "views/health.py", {}),
        ("SQL", "views/sql.py", {}),
    ]


@contextmanager
def timed_queries():
    """Record the duration of every query the dashboard runs while inside the block."""
    from dashboards import queries

    timings: list[float] = []
    originals = {name: getattr(queries, name) for name in ("read_frame", "read_rows")}

    def timing(func):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                timings.append(time.perf_counter() - started)
        return wrapper

    for name, func in originals.items():
        setattr(queries, name, timing(func))
    try:
        yield timings
    finally:
        for name, func in originals.items():
            setattr(queries, name, func)


def render_once(page: str | None, params: dict):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    if page:
        at.switch_page(page)
    at.query_params.update(params)
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"{page or 'landing page'} raised: {[e.value for e in at.exception]}")
    return seconds


def measure_in_process(published: Path, cases) -> list[dict]:
    # Outside `streamlit run` every cached call warns that there is no runtime: expected here.
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    from streamlit import logger as streamlit_logger

    from dashboards import queries

    streamlit_logger.set_log_level("error")

    os.environ["EMBERLINE_DB"] = str(published)
    # Warm-up, as in a server that has served anyone before: imports, and the embedding
    # model (seconds to load, once per server process) for search by meaning.
    render_once(None, {})
    queries.embedder()
    rows = []
    for label, page, params in cases:
        queries.clear_caches(keep_model=True)
        with timed_queries() as timings:
            first = render_once(page, params)
        rows.append({"page": label, "queries": len(timings), "data queries ms": round(sum(timings) * 1000),
                     "slowest query ms": round(max(timings, default=0) * 1000),
                     "first render s": round(first, 2)})
    return rows


def measure_in_chromium(published: Path, cases) -> dict[str, float] | None:
    """Seconds from navigation to the finished page, per case; None without Chromium."""
    from tests.dashboards.browser import (
        CHROMIUM,
        LAUNCH_ARGS,
        VIEWPORT,
        serve,
        wait_for_render,
    )

    if not CHROMIUM.exists():
        return None
    from urllib.parse import urlencode

    from playwright.sync_api import sync_playwright

    url_paths = {None: "", "views/weekly.py": "weekly", "views/themes.py": "themes",
                 "views/incidents.py": "incidents", "views/health.py": "health", "views/sql.py": "sql"}
    seconds = {}
    with serve(published) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        # Warm-up visit: the server imports its modules and loads the embedding model once.
        page.goto(f"{base}/incidents?q=warm+up&mode=meaning")
        wait_for_render(page)
        for label, page_file, params in cases:
            query = f"?{urlencode(params)}" if params else ""
            started = time.perf_counter()
            page.goto(f"{base}/{url_paths[page_file]}{query}")
            page.wait_for_selector("[data-testid='stApp'] h1", timeout=120_000)
            page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
            seconds[label] = round(time.perf_counter() - started, 2)
        browser.close()
    return seconds


def run(n: int = 10_000, rebuild: bool = False) -> list[dict]:
    published, build_seconds = ensure_warehouse(n, rebuild=rebuild)
    cases = page_cases(published)
    rows = measure_in_process(published, cases)
    in_browser = measure_in_chromium(published, cases)
    for row in rows:
        if in_browser is not None:
            row["in Chromium s"] = in_browser[row["page"]]
        row["queries < 200 ms"] = row["data queries ms"] < TARGET_QUERY_MS
        row["render < 2 s"] = max(row["first render s"], row.get("in Chromium s") or 0) < TARGET_RENDER_S
    size_mb = published.stat().st_size / 1e6
    note = f"built in {build_seconds:.0f} s" if build_seconds is not None else "reused"
    rows.append({"page": f"(warehouse: {n} post-mortems, {size_mb:.0f} MB, {note})"})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the warehouse even if the corpus is unchanged")
    args = parser.parse_args(argv)
    from bench.run import format_table

    print(format_table(run(args.n, rebuild=args.rebuild)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
