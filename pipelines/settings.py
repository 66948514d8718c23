"""Paths and environment overrides. Plain values only: no Dagster or Streamlit objects here.

Settings resolve in one order: command-line flags (applied by the CLI on top of these),
environment variables, the store's own config file (`emberline.yaml` at the root of the
post-mortem store), then defaults. The CLI, Dagster, the dashboard and the tests all call
`load_settings()`, so they agree on where things live without passing flags around.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The store's own config file, at the root of the post-mortem store.
STORE_CONFIG_NAME = "emberline.yaml"


def _path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser() if value else default


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


def _heading_aliases(config: dict) -> dict[str, str]:
    """`headings:` maps a team's own heading text to one of the format's section keys."""
    raw = config.get("headings") or {}
    if not isinstance(raw, dict):
        return {}
    return {str(k).strip(): str(v).strip() for k, v in raw.items() if k is not None and v is not None}


def _config_path(config: dict, key: str, store: Path) -> Path | None:
    value = config.get(key)
    if not value or not isinstance(value, str):
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else store / path


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

    @property
    def build_database(self) -> Path:
        """The pipeline's working copy. Readers never open it, so a run never blocks them."""
        return self.database.parent / "build" / self.database.name


def load_settings() -> Settings:
    data = PROJECT_ROOT / "data"
    store = _path("EMBERLINE_POSTMORTEMS", data / "postmortems")
    config, problems = read_store_config(store)
    return Settings(
        postmortems_dir=store,
        database=_path("EMBERLINE_DB", data / "warehouse.duckdb"),
        reports_dir=_path("EMBERLINE_REPORTS", data / "reports"),
        exports_dir=_path("EMBERLINE_EXPORTS", data / "exports"),
        curation_file=_path("EMBERLINE_THEMES_FILE", data / "themes.yaml"),
        external_config=_path("EMBERLINE_EXTERNAL_CONFIG", data / "external.yaml"),
        timezone=os.environ.get("EMBERLINE_TIMEZONE") or str(config.get("timezone") or "UTC"),
        heading_aliases=_heading_aliases(config),
        eval_suite=_path("EMBERLINE_EVAL_SUITE", Path()) if os.environ.get("EMBERLINE_EVAL_SUITE")
        else _config_path(config, "eval_suite", store),
        eval_results=_path("EMBERLINE_EVAL_RESULTS", Path()) if os.environ.get("EMBERLINE_EVAL_RESULTS")
        else _config_path(config, "eval_results", store),
        store_config=config,
        config_problems=tuple(problems),
    )
