"""`emberline init DIR`: make a post-mortem repository ready for emberline.

Writes, at the root of the store, without touching a file that already exists (unless forced):

- `emberline.yaml`, the store's config: heading aliases, lint profile, time zone, names to
  strip from external exports, webhook, where outputs go, curation file, eval suite;
- `postmortem.md.template`, the template `emberline new` copies and lint hints point at (not
  `.md`: every `*.md` under the store is read as a post-mortem);
- `.pre-commit-config.yaml`, a hook that lints the post-mortems a commit changes;
- `.github/workflows/postmortems.yml`, CI that lints the post-mortems a pull request changes;
- `.gitignore` lines for outputs that may be configured inside the repository.

Headings of the existing post-mortems that lint does not recognise are listed in
`emberline.yaml` as commented alias suggestions, most frequent first.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.settings import PROJECT_ROOT, STORE_CONFIG_NAME

TEMPLATE_NAME = "postmortem.md.template"
PRE_COMMIT_NAME = ".pre-commit-config.yaml"
WORKFLOW_PATH = ".github/workflows/postmortems.yml"
GITIGNORE_LINES = ("*.duckdb", "*.duckdb.wal", "build/")
_HEADING = re.compile(r"^#{2,4}[ \t]+([^\n#]{1,80}?)[ \t#]*$", re.M)

CONFIG = """\
# emberline's config for this post-mortem store (emberline README: "Your own post-mortem store").
# Settings resolve in one order: command-line flags, then EMBERLINE_* environment variables,
# then this file, then defaults. Paths here are relative to this folder.

# Your own heading text -> the section it is (summary, timeline, root_causes, mitigation,
# action_items, new_eval_case, prompt_diff, model_config, sample_outputs, eval_gap, impact,
# detection, lessons). Most headings are recognised already ("Root cause", "Action items", "Follow-ups").
headings: {headings}
{suggestions}
lint:
  # auto: a file with the template's front matter (an `ai:` block) is linted as `ai`, any other
  # as `legacy` (no prompt diff, model config, sample outputs or eval case asked for).
  # A file's own `lint_profile: ai|legacy` front-matter key wins.
  profile: auto
  # People's names the blame rule should know besides common given names.
  people: []

timezone: UTC   # reports' weeks and quarters, the schedules

external:       # `emberline export external ID`: the customer-facing version
  strip_names: []                     # people's names never to publish
  replacements: {{}}                    # internal name -> public wording, e.g. {{vector-store: search index}}
  default_replacement: internal system

# A Slack-compatible incoming webhook for the weekly and quarterly reports. It is a secret:
# prefer the EMBERLINE_WEBHOOK_URL environment variable to writing it here.
webhook_url: null

# Where outputs go. Left empty, the warehouse lives outside this repository in
# ~/.local/share/emberline/<folder>-<hash>/ and reports and exports next to it. Keep reports
# outside this folder: every Markdown, text, HTML and Word file under it is read as a post-mortem.
outputs:
  warehouse: null
  reports: null
  exports: null

curation_file: themes.yaml   # theme names and merges, reviewed like code (docs/themes.md)
template: {template}
eval_suite: null    # your eval cases, e.g. evals/
eval_results: null  # your eval runs' results, e.g. eval-results/
"""

PRE_COMMIT = """\
# Lints the post-mortems a commit changes (emberline README: "Your own post-mortem store").
# Needs `emberline` on PATH (pip install it into the environment you commit from).
repos:
  - repo: local
    hooks:
      - id: emberline-lint
        name: emberline lint
        entry: emberline lint
        language: system
        files: \\.md$
        exclude: ^(README|CHANGELOG|CONTRIBUTING)\\.md$
"""

WORKFLOW = """\
# Lints the post-mortems a pull request changes; errors fail the check, warnings do not.
name: post-mortems
"on":
  pull_request:
    paths: ["**.md", "emberline.yaml"]
  push:
    branches: [main]
    paths: ["**.md", "emberline.yaml"]
jobs:
  lint:
    runs-on: ubuntu-latest
    env:
      # What pip installs emberline from: a package index name, a wheel or a git URL.
      EMBERLINE_PACKAGE: emberline
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install emberline
        run: python -m pip install "$EMBERLINE_PACKAGE"
      - name: Lint changed post-mortems
        env:
          BASE: ${{ github.event.pull_request.base.sha || github.event.before }}
        run: |
          git diff --name-only --diff-filter=ACMR "$BASE" HEAD -- '*.md' \\
            | grep -v -E '^(README|CHANGELOG|CONTRIBUTING)\\.md$' > changed.txt || true
          mapfile -t files < changed.txt
          if [ "${#files[@]}" -gt 0 ]; then
            emberline lint "${files[@]}"
          else
            echo "no post-mortem changed"
          fi
"""


@dataclass
class InitResult:
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    suggestions: list[tuple[str, int]] = field(default_factory=list)  # heading, files it appears in


def unrecognised_headings(store: Path, limit: int = 15) -> list[tuple[str, int]]:
    """Headings of the store's post-mortems that map to no section, with how many files use
    them: candidates for `headings:` aliases."""
    from pipelines.postmortems.sections import section_key

    counts: Counter[str] = Counter()
    for path in sorted(store.rglob("*.md"))[:2000]:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")[:200_000]
        except OSError:
            continue
        counts.update({h.strip() for h in _HEADING.findall(text) if section_key(h.strip()) is None})
    return [(h, n) for h, n in counts.most_common() if n >= 2][:limit]


def config_text(suggestions: list[tuple[str, int]]) -> str:
    lines = "".join(f"#   {_yaml_key(h)}: SECTION_KEY   # in {n} files\n" for h, n in suggestions)
    block = ("# Headings in your post-mortems that no section matches yet; uncomment the ones that are\n"
             "# a section, with the right key:\n# headings:\n" + lines) if suggestions else ""
    return CONFIG.format(headings="{}", suggestions=block, template=TEMPLATE_NAME)


def _yaml_key(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def init_store(store: Path, *, force: bool = False) -> InitResult:
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    result = InitResult(suggestions=unrecognised_headings(store))
    template = (PROJECT_ROOT / "data" / "templates" / "postmortem.md").read_text(encoding="utf-8")
    files = {
        STORE_CONFIG_NAME: config_text(result.suggestions),
        TEMPLATE_NAME: template,
        PRE_COMMIT_NAME: PRE_COMMIT,
        WORKFLOW_PATH: WORKFLOW,
    }
    for name, text in files.items():
        path = store / name
        if path.exists() and not force:
            result.kept.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        result.written.append(path)
    gitignore = store / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in existing]
    if missing:
        header = ["", "# emberline outputs, if configured inside the repository"] if existing else [
            "# emberline outputs, if configured inside the repository"]
        gitignore.write_text("\n".join([*existing, *header, *missing]) + "\n", encoding="utf-8")
        result.written.append(gitignore)
    else:
        result.kept.append(gitignore)
    return result
