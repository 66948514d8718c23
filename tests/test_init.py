"""`emberline init` on a free-form store: the files it writes are valid, and the pre-commit
hook and the CI step it writes really lint post-mortems (run as pre-commit and bash run them)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.cli import main
from pipelines.init_store import PRE_COMMIT_NAME, TEMPLATE_NAME, WORKFLOW_PATH
from pipelines.settings import PROJECT_ROOT, STORE_CONFIG_NAME, load_settings
from tests.conftest import write
from tests.freeform import write_freeform_store

BLAMEFUL = """
    # Search went down

    ## Summary
    Search was down for an hour.

    ## Root cause
    Maria approved the config change without running the checks.
    """


def _env(tmp_path: Path) -> dict:
    # The hook runs `emberline` from PATH, as in a team's environment: the venv's script, which
    # imports this checkout through PYTHONPATH.
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(PROJECT_ROOT), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
            "HOME": str(tmp_path), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


@pytest.fixture
def repo(tmp_path, capsys):
    store = write_freeform_store(tmp_path / "postmortems")
    assert main(["init", str(store)]) == 0
    capsys.readouterr()
    return store


def test_init_writes_a_config_the_settings_read(repo, monkeypatch):
    monkeypatch.delenv("EMBERLINE_DB", raising=False)
    monkeypatch.delenv("EMBERLINE_THEMES_FILE", raising=False)
    config = yaml.safe_load((repo / STORE_CONFIG_NAME).read_text())
    assert config["lint"]["profile"] == "auto" and config["template"] == TEMPLATE_NAME
    settings = load_settings(postmortems_dir=repo)
    assert settings.config_problems == ()
    assert settings.template == repo / TEMPLATE_NAME and settings.template.is_file()
    assert settings.curation_file == repo / "themes.yaml"
    for output in (settings.database, settings.reports_dir, settings.exports_dir):
        assert PROJECT_ROOT not in output.parents and repo not in output.parents
    # the template is not a post-mortem: nothing under the store named *.md was added
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.md")) == sorted(
        p for p in __import__("tests.freeform", fromlist=["POSTMORTEMS"]).POSTMORTEMS)


def test_init_keeps_existing_files_and_appends_to_gitignore(tmp_path, capsys):
    store = tmp_path / "store"
    write(store / STORE_CONFIG_NAME, "timezone: Europe/Berlin\n")
    write(store / ".gitignore", "node_modules/\n")
    assert main(["init", str(store)]) == 0
    out = capsys.readouterr().out
    assert "kept" in out and (store / STORE_CONFIG_NAME).read_text() == "timezone: Europe/Berlin\n"
    assert (store / ".gitignore").read_text().splitlines()[0] == "node_modules/"
    assert "*.duckdb" in (store / ".gitignore").read_text().splitlines()


def test_init_suggests_aliases_for_headings_it_does_not_know(tmp_path, capsys):
    store = tmp_path / "store"
    for n in (1, 2):
        write(store / f"pm-{n}.md", f"# Incident {n}\n\n## Glossary\nSome terms.\n\n## Root cause\nA bug.\n")
    main(["init", str(store)])
    text = (store / STORE_CONFIG_NAME).read_text()
    assert '#   "Glossary": SECTION_KEY   # in 2 files' in text
    assert "Root cause" not in re.findall(r'^#   "(.*?)"', text, re.M)


def test_the_pre_commit_config_has_a_hook_that_lints_markdown(repo):
    config = yaml.safe_load((repo / PRE_COMMIT_NAME).read_text())
    [local] = config["repos"]
    [hook] = local["hooks"]
    assert local["repo"] == "local" and hook["language"] == "system"
    assert hook["entry"].split() == ["emberline", "lint"]
    assert re.search(hook["files"], "2026/outage.md") and not re.search(hook["files"], "emberline.yaml")
    assert re.search(hook["exclude"], "README.md")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_pre_commit_hook_runs_and_blocks_only_errors(repo, tmp_path):
    env = _env(tmp_path)
    write(repo / "2026" / "blame.md", BLAMEFUL)
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    pre_commit = [sys.executable, "-m", "pre_commit", "run", "--files"]
    clean = subprocess.run([*pre_commit, "2025/answers-bot-stale-prices.md"], cwd=repo, env=env,
                           capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "emberline lint" in clean.stdout and "Passed" in clean.stdout
    blamed = subprocess.run([*pre_commit, "2026/blame.md"], cwd=repo, env=env, capture_output=True, text=True,
                            timeout=300)
    assert blamed.returncode == 1 and "Failed" in blamed.stdout
    assert "EL006" in blamed.stdout and "Maria approved" in blamed.stdout


def test_the_ci_workflow_is_valid_and_lints_only_changed_postmortems(repo, tmp_path):
    workflow = yaml.safe_load((repo / WORKFLOW_PATH).read_text())
    assert set(workflow["on"]) == {"pull_request", "push"}
    steps = workflow["jobs"]["lint"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@") and steps[0]["with"]["fetch-depth"] == 0
    [lint_step] = [s for s in steps if "emberline lint" in s.get("run", "")]
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    env = _env(tmp_path)
    git = lambda *args: subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,  # noqa: E731
                                       text=True).stdout.strip()
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "existing post-mortems")
    base = git("rev-parse", "HEAD")
    write(repo / "2026" / "blame.md", BLAMEFUL)
    git("add", "-A")
    git("commit", "-qm", "a new post-mortem")
    result = subprocess.run(["bash", "-e", "-c", lint_step["run"]], cwd=repo, env={**env, "BASE": base},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "2026/blame.md" in result.stdout
    assert "answers-bot-stale-prices" not in result.stdout  # unchanged files are not linted
    assert "1 files checked" in result.stdout
