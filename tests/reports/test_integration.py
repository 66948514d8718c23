"""The whole graph on the sample corpus with the real embedding model, through the real
command (`emberline run`), into temporary folders; then what the meetings would get."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipelines.postmortems.sensitive import find_sensitive
from pipelines.reports.periods import latest_complete_quarter, latest_complete_week
from pipelines.themes.curation import apply_curation, load_curation
from tests.conftest import PROJECT_ROOT
from tests.reports.test_delivery import Webhook

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("full")
    hook = Webhook([500, 200, 200])  # the first delivery fails once, then goes through on retry
    env = {**os.environ, "EMBERLINE_DB": str(root / "warehouse.duckdb"), "EMBERLINE_REPORTS": str(root / "reports"),
           "EMBERLINE_EXPORTS": str(root / "exports"), "DAGSTER_HOME": str(root / "dagster_home"),
           "EMBERLINE_WEBHOOK_URL": hook.url, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    code = "import sys; from pipelines.cli import main; sys.exit(main(['run']))"
    result = subprocess.run([sys.executable, "-c", code], check=False, cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True,
                            timeout=1800)
    yield root, result, hook
    hook.close()


def test_the_main_job_succeeds_with_reports_and_exports(full_run):
    root, result, _ = full_run
    assert result.returncode == 0, result.stdout + result.stderr
    now = datetime.now(ZoneInfo("UTC"))
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        first_week, first_quarter = con.execute("SELECT min(iso_week), min(quarter) FROM postmortems").fetchall()[0]
    weeks = sorted(p.stem for p in (root / "reports").glob("weekly-*.md"))
    quarters = sorted(p.stem for p in (root / "reports").glob("quarterly-*.md"))
    assert weeks[0] == f"weekly-{first_week}" and weeks[-1] == f"weekly-{latest_complete_week(now)}"
    assert quarters[0] == f"quarterly-{first_quarter}" and quarters[-1] == f"quarterly-{latest_complete_quarter(now)}"
    assert len({p.stem for p in (root / "reports").glob("*.html")}) == len(weeks) + len(quarters)
    for path in [*(root / "reports").glob("*.*"), *(root / "exports").rglob("*.*")]:
        assert find_sensitive(path.read_text()) == [], path


def test_reports_name_the_real_themes(full_run):
    root, _, _ = full_run
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        week = con.execute("""
            SELECT max(iso_week) FROM postmortems p WHERE EXISTS (
                SELECT 1 FROM theme_assignments a WHERE a.incident_id = p.incident_id AND a.theme_id IS NOT NULL)
              AND incident_date < current_date - 7""").fetchall()[0][0]
        names = {r[0] for r in con.execute("""
            SELECT DISTINCT t.name FROM theme_assignments a JOIN themes t USING (theme_set, theme_id)
            JOIN postmortems p USING (incident_id) WHERE p.iso_week = ? AND a.theme_set = 'root_cause'""",
                                            [week]).fetchall()}
        top_burn = con.execute("""
            SELECT name FROM theme_burn WHERE theme_set = 'root_cause' ORDER BY burn_score DESC LIMIT 1""").fetchall()
    weekly = (root / "reports" / f"weekly-{week}.md").read_text()
    assert names and all(f"**{name}**" in weekly for name in names)
    assert "Themes have not been built yet" not in weekly
    all_quarters = " ".join(p.read_text() for p in (root / "reports").glob("quarterly-*.md"))
    assert top_burn and top_burn[0][0] in all_quarters


def test_exports_and_delivery(full_run):
    root, _, hook = full_run
    external = sorted(p.stem for p in (root / "exports" / "external").glob("*.md"))
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        leaky = {r[0] for r in con.execute("SELECT DISTINCT incident_id FROM lint_findings WHERE rule_id = 'EL007'")
                 .fetchall()}
    assert external and not set(external) & leaky
    cases = [json.loads(line) for line in (root / "exports" / "eval_cases.jsonl").read_text().splitlines()]
    assert cases and sum(bool(c["theme_id"]) for c in cases) >= 0.8 * len(cases)
    log = [json.loads(line) for line in (root / "reports" / "deliveries.jsonl").read_text().splitlines()]
    assert {e["report"].split("-")[0] for e in log if e["delivered"]} == {"weekly", "quarterly"}
    assert any(e["attempts"] == 2 for e in log)  # the 500 was retried
    assert {m["blocks"][0]["text"]["text"].split(" — ")[0] for m in hook.received} >= {
        "Weekly incident patterns", "Quarterly retrospective"}


def test_the_bundled_curation_still_fits_the_sample_themes(full_run):
    # data/themes.yaml is written against the items of the sample's themes; if clustering of the
    # sample store changes shape, some of its rules stop applying (logged, not fatal). Every
    # decision must still apply, to whichever id its theme has in this fresh build.
    root, _, _ = full_run
    curation = load_curation(PROJECT_ROOT / "data" / "themes.yaml")
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        for theme_set, rules in curation.items():
            if not isinstance(rules, dict):
                continue
            cluster_of = dict(con.execute("SELECT item_id, cluster_theme_id FROM theme_assignments "
                                          "WHERE theme_set = ?", [theme_set]).fetchall())
            result = apply_curation(cluster_of, {}, rules)
            assert result.stale == [], result.stale
            themes = dict(con.execute("SELECT theme_id, name FROM themes WHERE theme_set = ?", [theme_set]).fetchall())
            # each curated name is on the theme its rules resolved to
            assert {result.followed.get(t, t): themes.get(result.followed.get(t, t))
                    for t in rules.get("rename", {})} == {result.followed.get(t, t): name
                                                          for t, name in rules.get("rename", {}).items()}
            for merge in rules.get("merge", []):
                into = result.followed.get(merge["into"], merge["into"])
                assert into in themes and not {result.followed.get(f, f) for f in merge["from"]} & set(themes)
