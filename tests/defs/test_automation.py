"""Schedules and the store sensor, evaluated with Dagster's build contexts; and the smoke
test that the code location shows the whole graph, its checks, both schedules and the sensor."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.defs.ingest import ingest_postmortems
from pipelines.defs.resources import Warehouse
from pipelines.defs.schedules import quarterly_retrospective_schedule, weekly_report_schedule
from pipelines.defs.sensors import compare_listings, postmortem_store_sensor
from tests.conftest import PROJECT_ROOT, postmortem, write

EXPECTED_ASSETS = {"weekly_report", "quarterly_retrospective", "external_postmortems", "eval_cases_export",
                   "published_reports", "published_warehouse", "postmortems", "embeddings", "themes",
                   "theme_assignments", "theme_trends"}
EXPECTED_CHECKS = {"files_failed_to_ingest", "postmortems_missing_sections", "no_blame_language",
                   "no_unredacted_sensitive_data", "postmortems_within_72_hours",
                   "action_items_have_owner_and_deadline", "every_incident_has_eval_case",
                   "embedding_dimensions_and_vectors", "unclustered_share_below_threshold", "weekly_report_is_redacted",
                   "quarterly_retrospective_is_redacted", "external_postmortems_are_public_safe",
                   "eval_cases_export_is_redacted"}


def test_weekly_schedule_reports_the_week_that_ended_before_the_tick():
    tick = datetime(2026, 4, 6, 9, 0, tzinfo=ZoneInfo("UTC"))  # Monday of 2026-W15
    request = weekly_report_schedule(dg.build_schedule_context(scheduled_execution_time=tick))
    assert request.run_key == "weekly-2026-W14"
    assert request.run_config == {"ops": {"weekly_report": {"config": {"week": "2026-W14", "all_weeks": True}}}}
    assert weekly_report_schedule.cron_schedule == "0 9 * * 1"
    assert weekly_report_schedule.job_name == "emberline_job"
    assert weekly_report_schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_a_late_weekly_tick_still_reports_its_own_week():
    # The New Year tick: Monday 2027-01-04 09:00 reports 2026-W53, not the week of the run.
    tick = datetime(2027, 1, 4, 9, 0, tzinfo=ZoneInfo("UTC"))
    assert weekly_report_schedule(dg.build_schedule_context(scheduled_execution_time=tick)).run_key == \
        "weekly-2026-W53"


def test_quarterly_schedule_runs_on_the_first_day_of_each_quarter():
    assert quarterly_retrospective_schedule.cron_schedule == "0 9 1 1,4,7,10 *"
    tick = datetime(2026, 7, 1, 9, 0, tzinfo=ZoneInfo("UTC"))
    request = quarterly_retrospective_schedule(dg.build_schedule_context(scheduled_execution_time=tick))
    assert request.run_key == "quarterly-2026-Q2"
    assert request.run_config["ops"]["quarterly_retrospective"]["config"]["quarter"] == "2026-Q2"
    january = datetime(2027, 1, 1, 9, 0, tzinfo=ZoneInfo("UTC"))
    assert quarterly_retrospective_schedule(dg.build_schedule_context(scheduled_execution_time=january)).run_key \
        == "quarterly-2026-Q4"


def test_schedule_time_zone_comes_from_the_environment():
    code = ("from pipelines.defs.schedules import weekly_report_schedule as w, quarterly_retrospective_schedule as q;"
            "print(w.execution_timezone, q.execution_timezone)")
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=PROJECT_ROOT, capture_output=True, text=True,
                         env={**os.environ, "EMBERLINE_TIMEZONE": "Europe/Berlin"}, timeout=120)
    assert out.stdout.split() == ["Europe/Berlin", "Europe/Berlin"], out.stderr


def _evaluate(warehouse: Warehouse):
    return postmortem_store_sensor(dg.build_sensor_context(resources={"warehouse": warehouse}))


def test_sensor_requests_a_refresh_when_the_store_changes(store, tmp_path):
    write(store / "a.md", postmortem("PM-2026-001"))
    write(store / "b.md", postmortem("PM-2026-002"))
    warehouse = Warehouse(postmortems_dir=str(store), database=str(tmp_path / "warehouse.duckdb"))

    first = _evaluate(warehouse)  # no published warehouse yet: everything is new
    assert isinstance(first, dg.RunRequest) and first.tags["emberline/changes"].startswith("2 new")

    dg.materialize([ingest_postmortems], resources={"warehouse": warehouse})
    warehouse.publish()
    quiet = _evaluate(warehouse)
    assert isinstance(quiet, dg.SkipReason) and "2 files, none new" in quiet.skip_message

    write(store / "b.md", postmortem("PM-2026-002", title="Edited title"))
    write(store / "c.md", postmortem("PM-2026-003"))
    (store / "a.md").unlink()
    changed = _evaluate(warehouse)
    assert isinstance(changed, dg.RunRequest)
    assert changed.tags["emberline/changes"].startswith("1 new, 1 changed, 1 removed (c.md, b.md, a.md)")
    assert changed.run_key != first.run_key
    assert _evaluate(warehouse).run_key == changed.run_key  # same store state, same key: one run


def test_listing_comparison_is_by_path_size_and_mtime():
    read = {"a.md": (10, 1), "b.md": (20, 2)}
    assert not compare_listings(dict(read), read).any
    touched = compare_listings({"a.md": (10, 5), "b.md": (20, 2)}, read)
    assert touched.changed == ["a.md"] and touched.digest != compare_listings(read, read).digest


def test_definitions_show_the_graph_checks_schedules_and_sensor():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    assert EXPECTED_ASSETS <= {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert EXPECTED_CHECKS <= {k.name for k in graph.asset_check_keys}
    assert defs.resolve_schedule_def("weekly_report_schedule").cron_schedule == "0 9 * * 1"
    assert defs.resolve_schedule_def("quarterly_retrospective_schedule").job_name == "emberline_job"
    assert defs.resolve_sensor_def("postmortem_store_sensor").job_name == "refresh_job"
    assert {"emberline_job", "refresh_job"} <= {j.name for j in defs.resolve_all_job_defs()}
    groups = {graph.get(dg.AssetKey(name)).group_name for name in
              ("weekly_report", "quarterly_retrospective", "external_postmortems", "eval_cases_export")}
    assert groups == {"reports"}


def test_schedule_run_config_is_valid_for_the_main_job():
    from pipelines.definitions import defs

    job = defs.resolve_job_def("emberline_job")
    tick = datetime(2026, 4, 6, 9, 0, tzinfo=ZoneInfo("UTC"))
    for schedule in (weekly_report_schedule, quarterly_retrospective_schedule):
        request = schedule(dg.build_schedule_context(scheduled_execution_time=tick))
        dg.validate_run_config(job, request.run_config)


def test_refresh_job_covers_ingest_themes_and_publish_but_not_reports():
    from pipelines.definitions import defs

    job = defs.resolve_job_def("refresh_job")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"postmortems", "embeddings", "themes", "theme_trends", "published_warehouse"} <= keys
    assert not keys & {"weekly_report", "published_reports", "postmortem_files"}
