"""The weekly pattern report: what the weekly engineering review looks at.

Computed as of the end of one ISO week (Sunday 24:00 in the team's time zone): incidents
resolved that week; post-mortems due or overdue against the 72-hour rule; each new incident
with the theme it joined and how often that theme has occurred; themes rising against their
trailing baseline; systemic action items due or overdue; eval cases added.

Only incidents that started by the end of the week are counted, and dates are compared with
the week's end, so a past week's report is reproducible. Action item status is the one the
post-mortem states today: the files do not record when an item was closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from pipelines.postmortems.policy import (
    POSTMORTEM_DEADLINE,
    POSTMORTEM_DEADLINE_HOURS,
    RISING_BASELINE_WEEKS,
    RISING_RECENT_WEEKS,
)
from pipelines.reports.data import (
    THEMES_MISSING,
    hours,
    ordinal,
    plural,
    records,
    relation_exists,
    short,
    themes_available,
    undated_note,
)
from pipelines.reports.document import BarChart, Bullets, Paragraph, Report, Section, Table
from pipelines.reports.eval_sections import weekly_eval_section
from pipelines.reports.outputs import ReportFiles, write_report
from pipelines.reports.periods import Week, period_bounds
from pipelines.themes.stability import caution, is_unstable

OLDEST_OVERDUE_SHOWN = 10


@dataclass(frozen=True)
class WeeklyWindow:
    week: Week
    tz: str

    @property
    def start(self) -> date:
        return self.week.start

    @property
    def end(self) -> date:
        return self.week.end

    @property
    def start_ts(self) -> datetime:
        return period_bounds(self.week, self.tz)[0]

    @property
    def as_of(self) -> datetime:
        """Exclusive end: Monday 00:00 after the week, in the team's time zone."""
        return period_bounds(self.week, self.tz)[1]


def _fmt_ts(value: datetime | None, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M") if value else "–"


def _day(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "–"


# --------------------------------------------------------------------------------------
# Data. Every query covers all requested weeks at once (one row per week and thing), so
# rendering the whole history costs a dozen queries, not a dozen per week.

# The weeks as a relation: `weeks(week, start_d, end_d, start_ts, as_of)`. Bound from lists.
_WEEKS = """weeks AS (
    SELECT unnest(?::VARCHAR[]) AS week, unnest(?::DATE[]) AS start_d, unnest(?::DATE[]) AS end_d,
           unnest(?::TIMESTAMPTZ[]) AS start_ts, unnest(?::TIMESTAMPTZ[]) AS as_of)"""


def _weeks_params(windows: list[WeeklyWindow]) -> list[list]:
    return [[w.week.label for w in windows], [w.start for w in windows], [w.end for w in windows],
            [w.start_ts for w in windows], [w.as_of for w in windows]]


def _by_week(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row.pop("week"), []).append(row)
    return grouped


def resolved_incidents(con: duckdb.DuckDBPyConnection, windows: list[WeeklyWindow]) -> dict[str, list[dict]]:
    return _by_week(records(con, f"""
        WITH {_WEEKS}
        SELECT w.week, p.incident_id, p.title, p.severity, p.team, p.status, p.resolved_at, p.minutes_to_resolve,
               p.postmortem_published_at
        FROM weeks w JOIN postmortems p
          ON p.resolved_at >= w.start_ts AND p.resolved_at < w.as_of AND p.incident_date <= w.end_d
        ORDER BY w.week, p.resolved_at, p.incident_id""", _weeks_params(windows)))


def _postmortem_state(row: dict, as_of: datetime) -> str:
    published = row["postmortem_published_at"]
    if published is not None and published < as_of:
        late = published - row["resolved_at"] > POSTMORTEM_DEADLINE if row["resolved_at"] else False
        return "published late" if late else "published"
    due = row["resolved_at"] + POSTMORTEM_DEADLINE
    return "overdue" if due < as_of else "due"


def postmortems_due(con: duckdb.DuckDBPyConnection, windows: list[WeeklyWindow]) -> dict[str, list[dict]]:
    """Resolved by the week's end and not yet published then: due within 72 h, overdue after."""
    grouped = _by_week(records(con, f"""
        WITH {_WEEKS}
        SELECT w.week, w.as_of, d.incident_id, d.title, d.team, d.status, d.resolved_at, d.due_at, d.overdue
        FROM weeks w, LATERAL (SELECT * FROM postmortems_due_as_of(w.as_of)) d
        WHERE d.incident_date <= w.end_d
        ORDER BY w.week, d.resolved_at, d.incident_id""", _weeks_params(windows)))
    for rows in grouped.values():
        for row in rows:
            as_of = row.pop("as_of")
            row["hours_past_due"] = max((as_of - row["due_at"]).total_seconds() / 3600, 0) if row["overdue"] else 0.0
    return grouped


def published_late(con: duckdb.DuckDBPyConnection, windows: list[WeeklyWindow]) -> dict[str, list[dict]]:
    return _by_week(records(con, f"""
        WITH {_WEEKS}
        SELECT w.week, p.incident_id, p.title, p.team, p.hours_to_postmortem
        FROM weeks w JOIN postmortems p
          ON p.postmortem_published_at >= w.start_ts AND p.postmortem_published_at < w.as_of
        WHERE p.hours_to_postmortem > postmortem_deadline_hours()
        ORDER BY w.week, p.incident_id""", _weeks_params(windows)))


def new_incidents(con: duckdb.DuckDBPyConnection, windows: list[WeeklyWindow]) -> dict[str, list[dict]]:
    return _by_week(records(con, f"""
        WITH {_WEEKS}
        SELECT w.week, p.incident_id, p.title, p.severity, p.team, p.incident_date, p.quarter
        FROM weeks w JOIN postmortems p ON p.incident_date BETWEEN w.start_d AND w.end_d
        ORDER BY w.week, p.incident_date, p.incident_id""", _weeks_params(windows)))


def themes_joined(con: duckdb.DuckDBPyConnection, first: date, last: date) -> dict[str, list[dict]]:
    """For each incident that started between `first` and `last`, the root-cause themes it
    joined and how often each had occurred by then: this quarter, and overall (counting the
    incident itself), with the three most recent earlier incidents of the theme. Depends only
    on the incident, so one query serves every week; window functions over each theme's
    incidents in date order, so the cost grows with the incidents, not with their square."""
    rows = records(con, """
        WITH ranked AS (
            SELECT incident_id, theme_id, incident_date,
                   row_number() OVER (PARTITION BY theme_id ORDER BY incident_date, incident_id) AS nth_overall,
                   row_number() OVER (PARTITION BY theme_id, quarter ORDER BY incident_date, incident_id)
                       AS nth_this_quarter,
                   list(incident_id ORDER BY incident_date, incident_id) OVER (PARTITION BY theme_id ORDER BY incident_date, incident_id
                                           ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING) AS earlier_ids
            FROM theme_incidents WHERE theme_set = 'root_cause' AND incident_date IS NOT NULL
        )
        SELECT r.incident_id, r.theme_id, t.name AS theme_name, t.stability AS theme_stability,
               r.nth_this_quarter, r.nth_overall, r.earlier_ids
        FROM ranked r JOIN themes t ON t.theme_set = 'root_cause' AND t.theme_id = r.theme_id
        WHERE r.incident_date BETWEEN ? AND ?
        ORDER BY r.incident_id, r.nth_overall DESC, r.theme_id""", [first, last])
    by_incident: dict[str, list[dict]] = {}
    for row in rows:
        by_incident.setdefault(row["incident_id"], []).append(row)
    return by_incident


def unclustered_causes(con: duckdb.DuckDBPyConnection, first: date, last: date) -> dict[str, int]:
    rows = records(con, """
        SELECT a.incident_id, count(*) AS n FROM theme_assignments a JOIN postmortems p USING (incident_id)
        WHERE a.theme_set = 'root_cause' AND a.theme_id IS NULL AND p.incident_date BETWEEN ? AND ?
        GROUP BY ALL""", [first, last])
    return {r["incident_id"]: r["n"] for r in rows}


def similar_past_incidents(con: duckdb.DuckDBPyConnection, first: date, last: date,
                           limit: int = 2) -> dict[str, list[str]]:
    """The most similar incidents that had happened by then (never a later one)."""
    rows = records(con, """
        SELECT s.incident_id, s.similar_incident_id, s.similarity
        FROM similar_incidents s
        JOIN postmortems p ON p.incident_id = s.incident_id
        JOIN postmortems o ON o.incident_id = s.similar_incident_id
        WHERE p.incident_date BETWEEN ? AND ? AND o.incident_date <= p.incident_date
          AND o.incident_id <> p.incident_id
        ORDER BY s.incident_id, s.rank""", [first, last])
    similar: dict[str, list[str]] = {}
    for row in rows:
        picked = similar.setdefault(row["incident_id"], [])
        if len(picked) < limit:
            picked.append(f"{row['similar_incident_id']} ({row['similarity']:.2f})")
    return similar


def theme_sentence(joined: dict) -> str:
    name = f"**{joined['theme_name']}** ({joined['theme_id']})"
    if is_unstable(joined.get("theme_stability")):
        name += f", an {caution(stability=joined['theme_stability'])}"
    if joined["nth_overall"] == 1:
        return f"joined {name}: the first incident of this theme"
    this_quarter = joined["nth_this_quarter"]
    quarter_part = (f"the {ordinal(this_quarter)} incident of this theme this quarter"
                    if this_quarter > 1 else "its first this quarter")
    earlier = ", ".join(joined["earlier_ids"] or [])  # the three most recent, oldest first
    return f"joined {name}: {quarter_part}, {ordinal(joined['nth_overall'])} overall (earlier: {earlier})"


def rising_themes(con: duckdb.DuckDBPyConnection, windows: list[WeeklyWindow]) -> dict[str, list[dict]]:
    """Per week, the root-cause themes rising against their trailing baseline: the warehouse
    macro `rising_themes` (the dashboard's definition too), for every week at once."""
    label_of = {w.end: w.week.label for w in windows}
    rows = records(con, """
        SELECT week_end, theme_id, name, recent, baseline, expected, recent_ids
        FROM rising_themes(?::DATE[]) WHERE theme_set = 'root_cause'
        ORDER BY week_end, recent - expected DESC, theme_id""", [list(label_of)])
    rising: dict[str, list[dict]] = {}
    for row in rows:
        rising.setdefault(label_of[row.pop("week_end")], []).append(row)
    return rising


def action_items_due(con: duckdb.DuckDBPyConnection,
                     windows: list[WeeklyWindow]) -> dict[str, tuple[list[dict], list[dict], int]]:
    """Per week: systemic items not done due this week or next; the OLDEST_OVERDUE_SHOWN items
    overdue from earlier weeks (oldest deadline first); and how many are overdue in all. Only
    what the report shows is fetched: a long history has thousands overdue in every week."""
    rows = records(con, f"""
        WITH {_WEEKS}
        SELECT w.week, w.start_d, w.end_d, a.incident_id, a.text, a.owner, a.deadline,
               coalesce(a.status, 'open') AS status, a.deadline < w.start_d AS overdue,
               count(*) OVER (PARTITION BY w.week, a.deadline < w.start_d) AS in_group
        FROM weeks w
        JOIN action_items a ON a.kind = 'systemic' AND coalesce(a.status, 'open') <> 'done'
         AND a.deadline IS NOT NULL AND a.deadline <= w.end_d + INTERVAL 7 DAY
        JOIN postmortems p ON p.incident_id = a.incident_id AND p.incident_date <= w.end_d
        QUALIFY NOT overdue OR row_number() OVER (
            PARTITION BY w.week, a.deadline < w.start_d ORDER BY a.deadline, a.incident_id, a.action_id) <= ?
        ORDER BY w.week, a.deadline, a.incident_id, a.action_id""", [*_weeks_params(windows), OLDEST_OVERDUE_SHOWN])
    grouped: dict[str, tuple[list[dict], list[dict], int]] = {}
    for row in rows:
        recent, overdue, count = grouped.get(row["week"], ([], [], 0))
        week, start, end, is_overdue, in_group = (row.pop(k) for k in ("week", "start_d", "end_d", "overdue",
                                                                       "in_group"))
        if is_overdue:
            row["when"] = f"overdue {(end - row['deadline']).days} d"
            overdue.append(row)
            count = in_group
        else:
            row["when"] = "due this week" if row["deadline"] <= end else "due next week"
            recent.append(row)
        grouped[week] = (recent, overdue, count)
    return grouped


def eval_cases_added(con: duckdb.DuckDBPyConnection,
                     windows: list[WeeklyWindow]) -> dict[str, tuple[list[dict], list[dict]]]:
    """Per week: eval cases named by post-mortems published that week, and that week's
    post-mortems (published, or of incidents that started that week) that name none."""
    grouped = _by_week(records(con, f"""
        WITH {_WEEKS}
        SELECT w.week, p.incident_id, p.title, p.new_eval_case_id, p.new_eval_case_checks,
               (p.new_eval_case_id IS NOT NULL OR p.new_eval_case_checks IS NOT NULL) AS has_case,
               coalesce(p.postmortem_published_at >= w.start_ts AND p.postmortem_published_at < w.as_of, false)
                   AS published_this_week
        FROM weeks w JOIN postmortems p
          ON (p.postmortem_published_at >= w.start_ts AND p.postmortem_published_at < w.as_of)
          OR (p.incident_date BETWEEN w.start_d AND w.end_d)
        ORDER BY w.week, p.incident_id""", _weeks_params(windows)))
    return {week: ([r for r in rows if r["has_case"] and r["published_this_week"]],
                   [r for r in rows if not r["has_case"]]) for week, rows in grouped.items()}


def incidents_per_week(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {r["iso_week"]: r["n"] for r in records(con, """
        SELECT iso_week, count(*) AS n FROM postmortems WHERE iso_week IS NOT NULL GROUP BY ALL""")}


def weekly_counts(counts: dict[str, int], week: Week, weeks: int = 13) -> list[tuple[Week, int]]:
    first = week.shift(-(weeks - 1))
    return [(first.shift(i), counts.get(first.shift(i).label, 0)) for i in range(weeks)]


@dataclass
class WeeklyData:
    """Everything the reports for a set of weeks need, fetched once."""

    resolved: dict[str, list[dict]]
    due: dict[str, list[dict]]
    late: dict[str, list[dict]]
    new: dict[str, list[dict]]
    joined: dict[str, list[dict]]
    unclustered: dict[str, int]
    similar: dict[str, list[str]]
    rising: dict[str, list[dict]]
    actions: dict[str, tuple[list[dict], list[dict], int]]
    eval_cases: dict[str, tuple[list[dict], list[dict]]]
    per_week: dict[str, int]
    has_themes: bool
    eval_suite: dict[str, Section] = field(default_factory=dict)
    undated: str | None = None  # what to say about incidents in no week

    def for_week(self, w: WeeklyWindow) -> WeeklyData:
        """Only what the report of week `w` reads, so a fingerprint of it covers exactly its
        inputs (figures "as of" the week that come from earlier weeks included)."""
        label = w.week.label
        ids = [i["incident_id"] for i in self.new.get(label, [])]

        def week_only(values: dict) -> dict:
            return {label: values[label]} if label in values else {}

        def incidents_only(values: dict) -> dict:
            return {i: values[i] for i in ids if i in values}

        return WeeklyData(
            resolved=week_only(self.resolved), due=week_only(self.due), late=week_only(self.late),
            new=week_only(self.new), joined=incidents_only(self.joined), unclustered=incidents_only(self.unclustered),
            similar=incidents_only(self.similar), rising=week_only(self.rising), actions=week_only(self.actions),
            eval_cases=week_only(self.eval_cases),
            per_week={wk.label: n for wk, n in weekly_counts(self.per_week, w.week) if n},
            has_themes=self.has_themes, eval_suite=week_only(self.eval_suite), undated=self.undated)


@dataclass
class WeekInputs:
    """One week's report inputs: its window and its slice of the data."""

    window: WeeklyWindow
    data: WeeklyData

    @property
    def period(self) -> Week:
        return self.window.week


def load_weeks(con: duckdb.DuckDBPyConnection, windows: list[WeeklyWindow]) -> WeeklyData:
    has_themes = themes_available(con)
    first, last = min(w.start for w in windows), max(w.end for w in windows)
    return WeeklyData(
        resolved=resolved_incidents(con, windows),
        due=postmortems_due(con, windows),
        late=published_late(con, windows),
        new=new_incidents(con, windows),
        joined=themes_joined(con, first, last) if has_themes else {},
        unclustered=unclustered_causes(con, first, last) if has_themes else {},
        similar=(similar_past_incidents(con, first, last)
                 if has_themes and relation_exists(con, "similar_incidents") else {}),
        rising=rising_themes(con, windows) if has_themes else {},
        actions=action_items_due(con, windows),
        eval_cases=eval_cases_added(con, windows),
        per_week=incidents_per_week(con),
        has_themes=has_themes,
        eval_suite={w.week.label: weekly_eval_section(con, w.end, w.as_of) for w in windows},
        undated=undated_note(con),
    )


# --------------------------------------------------------------------------------------
# The report


def weekly_inputs(con: duckdb.DuckDBPyConnection, weeks: list[Week], *, tz: str = "UTC") -> list[WeekInputs]:
    """Each week's report inputs, from one round of queries for all of them."""
    if not weeks:
        return []
    windows = [WeeklyWindow(week, tz) for week in weeks]
    data = load_weeks(con, windows)
    return [WeekInputs(w, data.for_week(w)) for w in windows]


def render_weekly(inputs: WeekInputs) -> Report:
    return _weekly_report(inputs.window, inputs.data)


def build_weekly_reports(con: duckdb.DuckDBPyConnection, weeks: list[Week], *, tz: str = "UTC") -> list[Report]:
    """The reports for several weeks, from one round of queries. No wall-clock time goes in,
    so the same warehouse gives the same bytes: a re-run rewrites nothing and a diff shows
    what really changed."""
    return [render_weekly(inputs) for inputs in weekly_inputs(con, weeks, tz=tz)]


def build_weekly_report(con: duckdb.DuckDBPyConnection, week: Week, *, tz: str = "UTC") -> Report:
    return build_weekly_reports(con, [week], tz=tz)[0]


def _weekly_report(w: WeeklyWindow, data: WeeklyData) -> Report:
    week, tz, label, has_themes = w.week, w.tz, w.week.label, data.has_themes
    sections: list[Section] = []

    resolved = data.resolved.get(label, [])
    sections.append(Section("Incidents resolved this week", [Table(
        ["Incident", "Title", "Severity", "Team", "Resolved", "Time to resolve", "Post-mortem"],
        [[r["incident_id"], short(r["title"], 80), r["severity"], r["team"], _fmt_ts(r["resolved_at"], tz),
          hours(r["minutes_to_resolve"]), _postmortem_state(r, w.as_of)] for r in resolved],
        empty="No incident was resolved this week.")]))

    due = data.due.get(label, [])
    overdue = [r for r in due if r["overdue"]]
    late = data.late.get(label, [])
    due_blocks: list = [Table(
        ["Incident", "Title", "Team", "Resolved", "Due", "State"],
        [[r["incident_id"], short(r["title"], 70), r["team"], _fmt_ts(r["resolved_at"], tz), _fmt_ts(r["due_at"], tz),
          f"overdue by {hours(r['hours_past_due'] * 60)}" if r["overdue"] else "due"] for r in due],
        empty="Every resolved incident has its post-mortem published.")]
    if late:
        due_blocks.append(Paragraph(f"Published this week, but after the {POSTMORTEM_DEADLINE_HOURS} hours: " + "; ".join(
            f"{r['incident_id']} ({r['hours_to_postmortem']:.0f} h)" for r in late) + "."))
    sections.append(Section(f"Post-mortems due or overdue ({POSTMORTEM_DEADLINE_HOURS}-hour rule)", due_blocks))

    new = data.new.get(label, [])
    joined = {i["incident_id"]: data.joined.get(i["incident_id"], []) for i in new}
    items = []
    for inc in new:
        incident_id = inc["incident_id"]
        lines = [theme_sentence(j) for j in joined[incident_id]]
        if data.unclustered.get(incident_id):
            lines.append(f"{plural(data.unclustered[incident_id], 'cause')} left unclustered (no theme fits yet)")
        if data.similar.get(incident_id):
            lines.append("most similar past incidents: " + ", ".join(data.similar[incident_id]))
        detail = "; ".join(lines) if lines else ("no root causes recorded yet" if has_themes else "")
        items.append(f"**{incident_id}** {inc['severity'] or ''} {short(inc['title'], 90)} "
                     f"({inc['team'] or 'no team'}, {_day(inc['incident_date'])})" + (f" — {detail}" if detail else ""))
    new_blocks: list = [Bullets(items, empty="No new incident started this week.")]
    if not has_themes and new:
        new_blocks.append(Paragraph(f"*{THEMES_MISSING}*"))
    sections.append(Section("New incidents and the themes they joined", new_blocks))

    rising = data.rising.get(label, [])
    counts = weekly_counts(data.per_week, week)
    rising_blocks: list = [Table(
        ["Theme", "Name", f"Last {RISING_RECENT_WEEKS} weeks", f"Expected from previous {RISING_BASELINE_WEEKS} weeks",
         "Incidents"],
        [[r["theme_id"], r["name"], r["recent"], round(r["expected"], 1), ", ".join(r["recent_ids"])] for r in rising],
        empty="No theme is rising against its baseline." if has_themes else THEMES_MISSING)]
    rising_blocks.append(BarChart(f"Incidents per week, last {len(counts)} weeks", [wk.label[5:] for wk, _ in counts],
                                  [n for _, n in counts], highlight={len(counts) - 1}))
    sections.append(Section("Themes rising against the trailing baseline", rising_blocks))

    recent_actions, old_overdue, overdue_count = data.actions.get(label, ([], [], 0))
    action_rows = [[a["when"], _day(a["deadline"]), a["incident_id"], short(a["text"], 90), a["owner"], a["status"]]
                   for a in recent_actions]
    action_blocks: list = [Table(["When", "Deadline", "Incident", "Action", "Owner", "Status"], action_rows,
                                 empty="No systemic action item is due this week or next.")]
    if old_overdue:
        action_blocks.append(Paragraph(
            f"Still overdue from earlier weeks: **{overdue_count}** systemic items. The oldest "
            f"{len(old_overdue)}:"))
        action_blocks.append(Table(["Overdue", "Deadline", "Incident", "Action", "Owner", "Status"],
                                   [[a["when"].removeprefix("overdue "), _day(a["deadline"]), a["incident_id"],
                                     short(a["text"], 90), a["owner"], a["status"]]
                                    for a in old_overdue]))
    sections.append(Section("Action items due or overdue", action_blocks))

    added, missing = data.eval_cases.get(label, ([], []))
    eval_blocks: list = [Bullets([f"**{r['incident_id']}** `{r['new_eval_case_id'] or 'unnamed'}`: "
                                  f"{short(r['new_eval_case_checks'], 160)}" for r in added],
                                 empty="No eval case was added this week.")]
    if missing:
        eval_blocks.append(Paragraph("Not yet a regression test (no new eval case named): "
                                     + ", ".join(f"{r['incident_id']} ({short(r['title'], 60)})" for r in missing)
                                     + "."))
    sections.append(Section("Eval cases added", eval_blocks))
    sections.append(data.eval_suite[label])

    highlights = [
        f"{plural(len(new), 'new incident')}"
        + (" (" + ", ".join(f"{n} {s}" for s, n in _severity_mix(new)) + ")" if new else "")
        + f", {len(resolved)} resolved.",
        f"{plural(len(overdue), 'post-mortem')} overdue against the {POSTMORTEM_DEADLINE_HOURS}-hour rule, "
        f"{len(due) - len(overdue)} due.",
    ]
    repeats = sorted((j for js in joined.values() for j in js if j["nth_overall"] > 1),
                     key=lambda j: (-j["nth_this_quarter"], -j["nth_overall"], j["incident_id"]))
    if repeats:
        highlights.append(_recurrence_highlight(repeats[0]))
    if rising:
        highlights.append("Rising: " + ", ".join(f"{r['name']} ({r['recent']} in {RISING_RECENT_WEEKS} weeks)"
                                                 for r in rising[:3]) + ".")
    highlights.append(f"{plural(len(recent_actions), 'action item')} due this week or next; "
                      f"{overdue_count} overdue from earlier.")
    highlights.append(f"{plural(len(added), 'eval case')} added"
                      + (f"; {plural(len(missing), 'post-mortem')} without one." if missing else "."))
    if data.undated:
        highlights.append(data.undated)

    return Report(
        kind="weekly", period=label,
        title=f"Weekly incident patterns — {label}",
        subtitle=f"{_day(week.start)} to {_day(week.end)}, as of {_fmt_ts(w.as_of, tz)} {tz}",
        highlights=highlights, sections=sections)


def _recurrence_highlight(j: dict) -> str:
    if j["nth_this_quarter"] > 1:
        return (f"{j['incident_id']} is the {ordinal(j['nth_this_quarter'])} *{j['theme_name']}* incident this "
                f"quarter ({ordinal(j['nth_overall'])} overall).")
    return f"{j['incident_id']} is the {ordinal(j['nth_overall'])} *{j['theme_name']}* incident (first this quarter)."


def _severity_mix(rows: list[dict]) -> list[tuple[str, int]]:
    mix: dict[str, int] = {}
    for r in rows:
        mix[r["severity"] or "no severity"] = mix.get(r["severity"] or "no severity", 0) + 1
    return sorted(mix.items())


def write_weekly_reports(con: duckdb.DuckDBPyConnection, weeks: list[Week], out_dir: Path, *,
                         tz: str = "UTC") -> list[ReportFiles]:
    """Render and write each week's report (Markdown and HTML); returns their ReportFiles."""
    return [write_report(report, out_dir) for report in build_weekly_reports(con, weeks, tz=tz)]
