"""Paths and environment overrides. Plain values only: no Dagster or Streamlit objects here.

Every path can be overridden by an environment variable so that the CLI, Dagster, the
dashboard and the tests all agree on where things live without passing flags around.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser() if value else default


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

    @property
    def build_database(self) -> Path:
        """The pipeline's working copy. Readers never open it, so a run never blocks them."""
        return self.database.parent / "build" / self.database.name


def load_settings() -> Settings:
    data = PROJECT_ROOT / "data"
    return Settings(
        postmortems_dir=_path("EMBERLINE_POSTMORTEMS", data / "postmortems"),
        database=_path("EMBERLINE_DB", data / "warehouse.duckdb"),
        reports_dir=_path("EMBERLINE_REPORTS", data / "reports"),
        exports_dir=_path("EMBERLINE_EXPORTS", data / "exports"),
        curation_file=_path("EMBERLINE_THEMES_FILE", data / "themes.yaml"),
        external_config=_path("EMBERLINE_EXTERNAL_CONFIG", data / "external.yaml"),
        timezone=os.environ.get("EMBERLINE_TIMEZONE", "UTC"),
    )
