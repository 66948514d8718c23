"""Settings resolve flags > environment > the store's emberline.yaml > defaults, and a store
other than the bundled sample gets none of the sample's files."""

from __future__ import annotations

import pytest

from pipelines.settings import PROJECT_ROOT, SAMPLE_STORE, STORE_CONFIG_NAME, load_settings
from tests.conftest import write

ENV = ("EMBERLINE_POSTMORTEMS", "EMBERLINE_DB", "EMBERLINE_REPORTS", "EMBERLINE_EXPORTS", "EMBERLINE_THEMES_FILE",
       "EMBERLINE_EXTERNAL_CONFIG", "EMBERLINE_TIMEZONE", "EMBERLINE_LINT_PROFILE", "EMBERLINE_WEBHOOK_URL")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def test_the_sample_store_keeps_its_files_in_the_checkout():
    settings = load_settings()
    assert settings.postmortems_dir == SAMPLE_STORE and settings.is_sample_store
    assert settings.curation_file == PROJECT_ROOT / "data" / "themes.yaml"
    assert settings.external_config == PROJECT_ROOT / "data" / "external.yaml"
    assert settings.reports_dir == PROJECT_ROOT / "data" / "reports"


def test_another_store_gets_nothing_from_the_sample_and_nothing_in_the_checkout(tmp_path, monkeypatch):
    store = tmp_path / "pms"
    store.mkdir()
    monkeypatch.setenv("EMBERLINE_POSTMORTEMS", str(store))
    settings = load_settings()
    home = settings.database.parent
    assert home.parent == tmp_path / "xdg" / "emberline" and home.name.startswith("pms-")
    assert (settings.reports_dir, settings.exports_dir, settings.curation_file, settings.external_config) == (
        home / "reports", home / "exports", home / "themes.yaml", home / "external.yaml")
    assert all(PROJECT_ROOT not in p.parents for p in (settings.database, settings.curation_file))
    other = tmp_path / "elsewhere" / "pms"
    other.mkdir(parents=True)
    assert load_settings(postmortems_dir=other).database != settings.database  # same name, own warehouse


def test_flags_beat_environment_beat_store_config_beat_defaults(tmp_path, monkeypatch):
    store = tmp_path / "pms"
    write(store / STORE_CONFIG_NAME, """
        timezone: Europe/Berlin
        outputs: {warehouse: ../wh/warehouse.duckdb, reports: ../out/reports}
        lint: {profile: legacy}
        webhook_url: https://hooks.example.invalid/from-config
        external: {strip_names: [Maria Lopez]}
        """)
    from_config = load_settings(postmortems_dir=store)
    assert from_config.timezone == "Europe/Berlin" and from_config.lint_profile == "legacy"
    assert from_config.database == store / "../wh/warehouse.duckdb"
    assert from_config.reports_dir == store / "../out/reports"
    assert from_config.exports_dir == store / "../wh/exports"  # next to the warehouse
    assert from_config.external_config == store / STORE_CONFIG_NAME
    assert from_config.webhook_url.endswith("from-config")
    monkeypatch.setenv("EMBERLINE_TIMEZONE", "UTC")
    monkeypatch.setenv("EMBERLINE_DB", str(tmp_path / "env.duckdb"))
    from_env = load_settings(postmortems_dir=store)
    assert from_env.timezone == "UTC" and from_env.database == tmp_path / "env.duckdb"
    assert load_settings(postmortems_dir=store, database=tmp_path / "flag.duckdb").database == tmp_path / "flag.duckdb"


def test_a_broken_config_is_reported_and_the_defaults_apply(tmp_path):
    store = tmp_path / "pms"
    write(store / STORE_CONFIG_NAME, "lint: {profile: strict}\ntimezone: [unclosed\n")
    settings = load_settings(postmortems_dir=store)
    assert settings.timezone == "UTC" and len(settings.config_problems) == 1
    assert STORE_CONFIG_NAME in settings.config_problems[0]
    write(store / STORE_CONFIG_NAME, "lint: {profile: strict}\n")
    settings = load_settings(postmortems_dir=store)
    assert settings.lint_profile == "auto" and "strict" in settings.config_problems[0]
