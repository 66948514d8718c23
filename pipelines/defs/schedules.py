"""The review rhythm: the weekly pattern report every Monday at 09:00 and the quarterly
retrospective on the first day of each quarter, in EMBERLINE_TIMEZONE.

Both run the main job (ingest, themes, reports, exports, publish) with the report's period
pinned to the one the tick is for, so a tick that runs late (daemon down over the weekend,
catch-up) still reports the right week. The run key is the period: a period is reported
once per schedule, however often the tick is retried.
"""

from datetime import datetime

import dagster as dg

from pipelines.reports.periods import Quarter, Week, latest_complete_quarter, latest_complete_week
from pipelines.settings import load_settings

MAIN_JOB = "emberline_job"
TIMEZONE = load_settings().timezone


def weekly_run_config(week: Week) -> dict:
    return {"ops": {"weekly_report": {"config": {"week": week.label, "all_weeks": True}}}}


def quarterly_run_config(quarter: Quarter) -> dict:
    return {"ops": {"quarterly_retrospective": {"config": {"quarter": quarter.label, "all_quarters": True}}}}


def _tick_time(context: dg.ScheduleEvaluationContext) -> datetime:
    # scheduled_execution_time is aware and in the schedule's time zone; a manual evaluation has none.
    return context.scheduled_execution_time or datetime.now().astimezone()


@dg.schedule(name="weekly_report_schedule", cron_schedule="0 9 * * 1", job_name=MAIN_JOB,
             execution_timezone=TIMEZONE, default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Mondays 09:00: the weekly pattern report for the week that just ended.")
def weekly_report_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    week = latest_complete_week(_tick_time(context))
    return dg.RunRequest(run_key=f"weekly-{week.label}", run_config=weekly_run_config(week),
                         tags={"emberline/report": f"weekly-{week.label}"})


@dg.schedule(name="quarterly_retrospective_schedule", cron_schedule="0 9 1 1,4,7,10 *", job_name=MAIN_JOB,
             execution_timezone=TIMEZONE, default_status=dg.DefaultScheduleStatus.RUNNING,
             description="First day of each quarter, 09:00: the retrospective for the quarter that just ended.")
def quarterly_retrospective_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    quarter = latest_complete_quarter(_tick_time(context))
    return dg.RunRequest(run_key=f"quarterly-{quarter.label}", run_config=quarterly_run_config(quarter),
                         tags={"emberline/report": f"quarterly-{quarter.label}"})
