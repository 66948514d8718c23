"""The post-mortem policy in numbers: defined here once, imported by lint, the warehouse views,
the reports and the asset checks, so changing a number changes it everywhere."""

from __future__ import annotations

from datetime import timedelta

from pipelines.postmortems.model import SEVERITIES, STATUSES  # noqa: F401  (the format's values, re-exported)

# A post-mortem is due this many hours after the incident is resolved.
POSTMORTEM_DEADLINE_HOURS = 72
POSTMORTEM_DEADLINE = timedelta(hours=POSTMORTEM_DEADLINE_HOURS)
# The worst severities: what "SEV1/SEV2" counts in reports and burn scores.
HIGH_SEVERITIES = SEVERITIES[:2]
# An action item with one of these statuses is finished: it needs no deadline any more.
FINISHED_ACTION_STATUSES = ("done",)


def sql_constants() -> dict[str, str]:
    """Values substituted for `${NAME}` in the warehouse's SQL files."""
    return {"POSTMORTEM_DEADLINE_HOURS": str(POSTMORTEM_DEADLINE_HOURS)}
