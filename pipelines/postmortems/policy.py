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

# A theme is rising in a week when the RISING_RECENT_WEEKS ending with it hold at least
# RISING_MIN_RECENT of its incidents and at least RISING_FACTOR times what its rate over the
# RISING_BASELINE_WEEKS before them predicts. The one definition: the warehouse macro
# `rising_themes` (pipelines/themes/views.sql), read by the weekly report and the dashboard.
RISING_RECENT_WEEKS = 4
RISING_BASELINE_WEEKS = 13
RISING_MIN_RECENT = 2
RISING_FACTOR = 2.0


def sql_constants() -> dict[str, str]:
    """Values substituted for `${NAME}` in the warehouse's SQL files."""
    return {"POSTMORTEM_DEADLINE_HOURS": str(POSTMORTEM_DEADLINE_HOURS),
            "HIGH_SEVERITIES": "(" + ", ".join(f"'{s}'" for s in HIGH_SEVERITIES) + ")",
            "RISING_RECENT_WEEKS": str(RISING_RECENT_WEEKS), "RISING_BASELINE_WEEKS": str(RISING_BASELINE_WEEKS),
            "RISING_MIN_RECENT": str(RISING_MIN_RECENT), "RISING_FACTOR": repr(float(RISING_FACTOR))}
