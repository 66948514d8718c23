"""Run a pipeline job through Dagster, recorded in the project's Dagster instance.

The CLI (`emberline run`, `emberline ingest`), `make run` and the Dagster UI all execute the
same job definitions, so there is one way to run the pipeline; runs started here show up in
the UI's run history because they use the same DAGSTER_HOME as `make dagster`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pipelines.settings import PROJECT_ROOT


def dagster_home() -> str:
    home = os.environ.get("DAGSTER_HOME") or str(PROJECT_ROOT / "data" / "dagster_home")
    os.makedirs(home, exist_ok=True)
    config = os.path.join(home, "dagster.yaml")
    if not os.path.exists(config):
        with open(config, "w") as fh:  # no network at run time: telemetry off
            fh.write("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = home
    return home


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    failures: list[str]


def run_job(job_name: str, *, ephemeral: bool = False, log_level: str = "WARNING") -> RunOutcome:
    import dagster as dg

    from pipelines.definitions import defs

    job = defs.resolve_job_def(job_name)
    if ephemeral:
        instance = dg.DagsterInstance.ephemeral()
    else:
        dagster_home()
        instance = dg.DagsterInstance.get()
    with instance:
        # The step-by-step DEBUG log belongs in the UI's run view, not on a terminal.
        run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config)
        failures = [
            f"{event.step_key}: {event.event_specific_data.error.message.strip()}"
            for event in result.all_events
            if event.is_step_failure and event.event_specific_data is not None
        ]
        return RunOutcome(result.success, result.run_id, failures)
