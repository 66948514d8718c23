"""Paths and environment overrides. Plain values only: no Dagster or Streamlit objects here.

Settings resolve in one order, first found wins:

1. command-line flags (the CLI passes them to `load_settings(...)` as keyword arguments),
2. environment variables (`EMBERLINE_*`),
3. the store's own config file (`emberline.yaml` at the root of the post-mortem store;
   relative paths in it are relative to the store),
4. defaults.

The defaults keep a store self-contained. The bundled sample store (`data/postmortems`) keeps
its warehouse, reports, exports, curation (`data/themes.yaml`) and external-name list
(`data/external.yaml`) in the checkout's `data/`. Any other store gets none of the sample's
files: its warehouse defaults to a folder of its own under `$XDG_DATA_HOME/emberline/`
(`~/.local/share/emberline/<store name>-<hash of its path>/`), outside both the checkout and
the store (every `*.md` under the store is read as a post-mortem, so reports must not land in
it), and reports, exports and the curation file default next to that warehouse.

The CLI, Dagster, the dashboard and the tests all call `load_settings()`, so they agree on
where things live without passing flags around.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The store's own config file, at the root of the post-mortem store.
STORE_CONFIG_NAME = "emberline.yaml"
SAMPLE_STORE = PROJECT_ROOT / "data" / "postmortems"
LINT_PROFILES = ("auto", "ai", "legacy")


def _env_path(env: str) -> Path | None:
    value = os.environ.get(env)
    return Path(value).expanduser() if value else None


def read_store_config(store: Path) -> tuple[dict, list[str]]:
    """The store's `emberline.yaml` as a mapping, and what was wrong with it (never raises:
    a broken config file is reported and the defaults apply)."""
    path = store / STORE_CONFIG_NAME
    try:
        if not path.is_file():
            return {}, []
        if path.stat().st_size > 1_000_000:
            return {}, [f"{path}: over 1 MB, not read; defaults apply"]
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        return {}, [f"{path}: cannot be read ({str(err).splitlines()[0]}); defaults apply"]
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        return {}, [f"{path}: not a mapping of keys to values; defaults apply"]
    return data, []


def find_store_root(path: Path) -> Path | None:
    """The nearest folder at or above `path` that holds an `emberline.yaml`: how `emberline
    lint FILE` in a post-mortem repository's pre-commit hook finds the repository's config."""
    path = Path(path).resolve()
    for folder in (path, *path.parents) if path.is_dir() else path.parents:
        if (folder / STORE_CONFIG_NAME).is_file():
            return folder
    return None


def is_sample_store(store: Path) -> bool:
    try:
        return Path(store).resolve() == SAMPLE_STORE.resolve()
    except OSError:
        return False


def _heading_aliases(config: dict) -> dict[str, str]:
    """`headings:` maps a team's own heading text to one of the format's section keys."""
    raw = config.get("headings") or {}
    if not isinstance(raw, dict):
        return {}
    return {str(k).strip(): str(v).strip() for k, v in raw.items() if k is not None and v is not None}


def _config_value(config: dict, dotted: str):
    value = config
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _config_path(config: dict, key: str, store: Path) -> Path | None:
    value = _config_value(config, key)
    if not value or not isinstance(value, str):
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else store / path


def default_data_dir(store: Path) -> Path:
    """Where a store other than the sample keeps its warehouse and outputs by default: its own
    folder under $XDG_DATA_HOME/emberline, named after the store and a hash of its path so two
    stores called `postmortems` never share a warehouse."""
    if is_sample_store(store):
        return PROJECT_ROOT / "data"
    base = _env_path("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    resolved = Path(store).expanduser().resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    return base / "emberline" / f"{resolved.name or 'store'}-{digest}"


@dataclass(frozen=True)
class Settings:
    postmortems_dir: Path
    # The published warehouse: what the CLI's `sql`, the dashboard and ad-hoc duckdb open.
    database: Path
    reports_dir: Path
    exports_dir: Path
    curation_file: Path
    external_config: Path
    timezone: str
    # From the store's emberline.yaml: the team's own heading text -> section key.
    heading_aliases: dict[str, str] = field(default_factory=dict)
    # The team's eval suite (folder of eval files) and eval results folder, when configured.
    eval_suite: Path | None = None
    eval_results: Path | None = None
    store_config: dict = field(default_factory=dict)
    config_problems: tuple[str, ...] = ()
    # `auto` (a file with the AI template's front matter is linted as `ai`, any other as
    # `legacy`), `ai` or `legacy`; a file's own `lint_profile:` front-matter key wins.
    lint_profile: str = "auto"
    # The post-mortem template `emberline new` copies and lint hints point at.
    template: Path = PROJECT_ROOT / "data" / "templates" / "postmortem.md"
    webhook_url: str | None = None

    @property
    def build_database(self) -> Path:
        """The pipeline's working copy. Readers never open it, so a run never blocks them."""
        return self.database.parent / "build" / self.database.name

    @property
    def is_sample_store(self) -> bool:
        return is_sample_store(self.postmortems_dir)


def load_settings(*, postmortems_dir: Path | str | None = None, database: Path | str | None = None,
                  reports_dir: Path | str | None = None, exports_dir: Path | str | None = None) -> Settings:
    """Settings for one store. Keyword arguments are command-line flags: they win over the
    environment, which wins over the store's emberline.yaml, which wins over the defaults."""
    store = Path(postmortems_dir) if postmortems_dir else _env_path("EMBERLINE_POSTMORTEMS") or SAMPLE_STORE
    config, problems = read_store_config(store)
    sample = is_sample_store(store)
    data = default_data_dir(store)

    def resolve(flag, env: str, key: str | None, default: Path) -> Path:
        if flag:
            return Path(flag)
        return _env_path(env) or (key and _config_path(config, key, store)) or default

    db = resolve(database, "EMBERLINE_DB", "outputs.warehouse", data / "warehouse.duckdb")
    outputs = db.parent  # data/ for the sample store's default warehouse
    # The bundled curation and name list describe the sample store; anywhere else they
    # would rename a stranger's themes, so the defaults there are files of the store's own.
    curation_default = PROJECT_ROOT / "data" / "themes.yaml" if sample else outputs / "themes.yaml"
    if sample:
        external_default = PROJECT_ROOT / "data" / "external.yaml"
    elif isinstance(config.get("external"), dict):
        external_default = store / STORE_CONFIG_NAME  # its `external:` block
    else:
        external_default = outputs / "external.yaml"
    profile = str(os.environ.get("EMBERLINE_LINT_PROFILE") or _config_value(config, "lint.profile") or "auto")
    if profile not in LINT_PROFILES:
        problems.append(f"{store / STORE_CONFIG_NAME}: lint.profile '{profile}' is not one of "
                        f"{', '.join(LINT_PROFILES)}; 'auto' applies")
        profile = "auto"

    def optional(env: str, key: str) -> Path | None:
        return _env_path(env) or _config_path(config, key, store)

    webhook = os.environ.get("EMBERLINE_WEBHOOK_URL") or _config_value(config, "webhook_url")
    return Settings(
        postmortems_dir=store,
        database=db,
        reports_dir=resolve(reports_dir, "EMBERLINE_REPORTS", "outputs.reports", outputs / "reports"),
        exports_dir=resolve(exports_dir, "EMBERLINE_EXPORTS", "outputs.exports", outputs / "exports"),
        curation_file=resolve(None, "EMBERLINE_THEMES_FILE", "curation_file", curation_default),
        external_config=resolve(None, "EMBERLINE_EXTERNAL_CONFIG", None, external_default),
        timezone=os.environ.get("EMBERLINE_TIMEZONE") or str(config.get("timezone") or "UTC"),
        heading_aliases=_heading_aliases(config),
        eval_suite=optional("EMBERLINE_EVAL_SUITE", "eval_suite"),
        eval_results=optional("EMBERLINE_EVAL_RESULTS", "eval_results"),
        store_config=config,
        config_problems=tuple(problems),
        lint_profile=profile,
        template=_config_path(config, "template", store) or PROJECT_ROOT / "data" / "templates" / "postmortem.md",
        webhook_url=str(webhook) if webhook else None,
    )
