"""Serving the dashboard and driving it in Debian's Chromium, for the end-to-end tests and
for regenerating docs/screenshots/.

Playwright's own browser download does not work here; Playwright drives the system
Chromium (`make browser` installs it) through `executable_path`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
# Set to a folder (docs/screenshots) to also write the screenshots the README shows.
SCREENSHOTS_ENV = "EMBERLINE_SCREENSHOTS_DIR"
VIEWPORT = {"width": 1440, "height": 900}
# Tall enough for the longest page: Streamlit scrolls inside its own container, so a
# "full page" screenshot of the window would stop at the first screen.
TALL_VIEWPORT = {"width": 1440, "height": 4000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(warehouse: Path, *, startup_timeout: float = 60) -> Iterator[str]:
    """`streamlit run dashboards/app.py` on a free port of 127.0.0.1 reading `warehouse`;
    yields the base URL and stops the server afterwards."""
    port = free_port()
    env = os.environ | {"EMBERLINE_DB": str(warehouse), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    log = (ARTIFACTS / f"streamlit-{port}.log")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "dashboards" / "app.py"),
             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start; see {log}")
                time.sleep(0.3)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def wait_for_render(page, timeout_ms: int = 60_000) -> None:
    """Until the page's script run has finished and drawn its title."""
    page.wait_for_selector("[data-testid='stApp'] h1", timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    page.wait_for_timeout(800)  # charts draw after the script run ends


def exceptions_on(page) -> list[str]:
    return page.locator("[data-testid='stException']").all_inner_texts()


# The README shows the top of each page: enough to recognise it, small enough for git.
DOCS_HEIGHT = 2200


def screenshot(page, name: str, *, docs: bool = True) -> Path:
    """The page's content, top to bottom, into tests/artifacts/<name>.png, and its top into
    $EMBERLINE_SCREENSHOTS_DIR/<name>.png when that is set and `docs`."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight")
    width = page.viewport_size["width"]
    clip = {"x": 0, "y": 0, "width": width, "height": min(height + 80, page.viewport_size["height"])}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), clip=clip)
    if docs and os.environ.get(SCREENSHOTS_ENV):
        target = Path(os.environ[SCREENSHOTS_ENV])
        if not target.is_absolute():
            target = PROJECT_ROOT / target
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"{name}.png"), clip=clip | {"height": min(clip["height"], DOCS_HEIGHT)})
    return path
