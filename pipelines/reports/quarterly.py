"""The quarterly retrospective: where do we keep getting burned?

Computed as of the last day of a quarter (only incidents that started by then): themes that
repeat across quarters; themes ranked by burn score with the incidents behind each; the state
of each theme's systemic action items and whether the theme came back after they closed;
eval-gap themes; time to detect and to resolve by quarter; post-mortem health; and a short
list of candidate systemic investments derived from all of the above.

The burn score is the theme views' (pipelines/themes/views.sql, `incident_burn`): severity
weight x (1 + log10(1 + customers affected)) x (1 + log10(1 + hours to resolve)), summed over
a theme's incidents. An action item counts as closed at its deadline, as in the view
`theme_fix_effectiveness`: post-mortems record an item's status, not the day it changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.postmortems.policy import HIGH_SEVERITIES, POSTMORTEM_DEADLINE_HOURS
from pipelines.reports.data import THEMES_MISSING, plural, records, short, themes_available, undated_note
from pipelines.reports.document import BarChart, Bullets, Paragraph, Report, Section, Table
from pipelines.reports.eval_sections import quarterly_eval_section
from pipelines.reports.outputs import ReportFiles, write_report
from pipelines.reports.periods import Quarter, period_bounds
from pipelines.themes.stability import FEW_INCIDENTS, SMALL_NUMBER_NOTE, STABLE_JACCARD, caution

TOP_BURN_THEMES = 8
MAX_INVESTMENTS = 5
HEALTH_QUARTERS = 4


def _ids(ids: list[str] | None, limit: int = 8) -> str:
    ids = ids or []
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


@dataclass
class QuarterData:
    quarter: Quarter
    incidents: list[dict]
    repeating: list[dict]
    burn: list[dict]
    fixes: dict[str, dict]
    eval_gap_themes: list[dict]
    response_times: list[dict]
    health: list[dict]
    health_offenders: dict[str, list[str]]
    has_themes: bool = False
    undated: str | None = None  # what to say about incidents in no quarter
    eval_section: Section | None = None

    @property
    def period(self) -> Quarter:
        return self.quarter


def theme_history(con: duckdb.DuckDBPyConnection, q: Quarter, theme_set: str = "root_cause") -> list[dict]:
    """Per theme, as of the quarter's end: quarters present, the run of quarters ending with this
    one, incidents to date and this quarter (macros theme_recurrence_as_of, theme_burn_as_of)."""
    return records(con, """
        SELECT r.theme_id, t.name, r.quarters, r.current_streak AS streak,
               b.incidents, coalesce(bq.incidents, 0) AS this_quarter,
               list_sort(bq.incident_ids) AS this_quarter_ids, list_sort(b.incident_ids) AS incident_ids
        FROM theme_recurrence_as_of($end) r
        JOIN themes t USING (theme_set, theme_id)
        JOIN theme_burn_as_of($end) b USING (theme_set, theme_id)
        LEFT JOIN theme_burn_as_of($end, $quarter) bq USING (theme_set, theme_id)
        WHERE r.theme_set = $theme_set
        ORDER BY r.theme_id""", {"end": q.end, "quarter": q.label, "theme_set": theme_set})


def burn_ranking(con: duckdb.DuckDBPyConnection, q: Quarter) -> list[dict]:
    """Root-cause themes by burn to the quarter's end, with this quarter's part (theme_burn_as_of)."""
    return records(con, """
        SELECT b.theme_id, b.name, t.stability, round(b.burn, 1) AS burn_score,
               round(coalesce(bq.burn, 0), 1) AS burn_this_quarter, b.incidents, b.sev1_sev2,
               b.incident_ids, bq.incident_ids AS this_quarter_ids
        FROM theme_burn_as_of($end) b
        JOIN themes t USING (theme_set, theme_id)
        LEFT JOIN theme_burn_as_of($end, $quarter) bq USING (theme_set, theme_id)
        WHERE b.theme_set = 'root_cause'
        ORDER BY burn_score DESC, b.theme_id""", {"end": q.end, "quarter": q.label})


def fix_state(con: duckdb.DuckDBPyConnection, q: Quarter) -> dict[str, dict]:
    """Per theme: systemic items done / open / overdue at the quarter's end, and the incidents
    of the theme that started after a done item's deadline (the theme came back): the macro
    theme_came_back_as_of, which the view theme_came_back and the dashboard read too."""
    rows = records(con, """
        SELECT theme_id, fixes_done AS done, fixes_open AS not_done, fixes_overdue AS overdue,
               last_fix_closed AS last_closed, came_back_incident_ids AS came_back_ids,
               first_fix_closed_before_return AS first_closed_before_return
        FROM theme_came_back_as_of($end) WHERE theme_set = 'root_cause'""", {"end": q.end})
    return {r["theme_id"]: r for r in rows}


def eval_gap_themes(con: duckdb.DuckDBPyConnection, q: Quarter) -> list[dict]:
    rows = theme_history(con, q, "eval_gap")
    texts = {r["theme_id"]: r for r in records(con, """
        SELECT theme_id, representative_texts, keywords FROM themes WHERE theme_set = 'eval_gap'""")}
    for row in rows:
        extra = texts.get(row["theme_id"], {})
        row["example"] = (extra.get("representative_texts") or [None])[0]
        row["keywords"] = extra.get("keywords") or []
    return sorted(rows, key=lambda r: (-r["this_quarter"], -r["incidents"], r["theme_id"]))


def response_times(con: duckdb.DuckDBPyConnection, q: Quarter) -> list[dict]:
    return records(con, """
        SELECT quarter, count(*) AS incidents,
               median(minutes_to_detect) / 60 AS detect_h, quantile_cont(minutes_to_detect, 0.9) / 60 AS detect_p90_h,
               median(minutes_to_resolve) / 60 AS resolve_h, quantile_cont(minutes_to_resolve, 0.9) / 60 AS resolve_p90_h,
               -- The spread, not only the middle: with a handful of incidents a median moves with one.
               quantile_cont(minutes_to_detect, 0.25) / 60 AS detect_p25_h,
               quantile_cont(minutes_to_detect, 0.75) / 60 AS detect_p75_h,
               quantile_cont(minutes_to_resolve, 0.25) / 60 AS resolve_p25_h,
               quantile_cont(minutes_to_resolve, 0.75) / 60 AS resolve_p75_h,
               count(minutes_to_detect) AS with_detect, count(minutes_to_resolve) AS with_resolve
        FROM postmortems WHERE incident_date <= ? AND quarter IS NOT NULL
        GROUP BY quarter ORDER BY quarter""", [q.end])


def postmortem_health(con: duckdb.DuckDBPyConnection, q: Quarter) -> tuple[list[dict], dict[str, list[str]]]:
    first = q.shift(-(HEALTH_QUARTERS - 1)).label
    health = records(con, """
        SELECT * FROM postmortem_health WHERE quarter BETWEEN ? AND ? ORDER BY quarter""", [first, q.label])
    offenders = {}
    for key, condition in (
        ("late", "p.hours_to_postmortem > postmortem_deadline_hours()"),
        ("blame", "p.incident_id IN (SELECT incident_id FROM lint_findings WHERE rule_id = 'EL006')"),
        ("sensitive", "p.incident_id IN (SELECT incident_id FROM lint_findings WHERE rule_id = 'EL007')"),
        ("no_eval_case", "p.new_eval_case_id IS NULL AND p.new_eval_case_checks IS NULL"),
        ("unpublished", "p.postmortem_published_at IS NULL AND p.resolved_at IS NOT NULL"),
    ):
        offenders[key] = [r["incident_id"] for r in records(con, f"""
            SELECT p.incident_id FROM postmortems p WHERE p.quarter = ? AND {condition} ORDER BY 1""", [q.label])]
    return health, offenders


def quarter_incidents(con: duckdb.DuckDBPyConnection, q: Quarter) -> list[dict]:
    return records(con, """
        SELECT incident_id, title, severity, customers_affected, minutes_to_detect, minutes_to_resolve
        FROM postmortems WHERE quarter = ? ORDER BY incident_date, incident_id""", [q.label])


def load_quarter(con: duckdb.DuckDBPyConnection, q: Quarter, *, tz: str = "UTC") -> QuarterData:
    """Everything the quarter's report reads: its fingerprint covers exactly its inputs."""
    has_themes = themes_available(con)
    health, offenders = postmortem_health(con, q)
    return QuarterData(
        quarter=q,
        incidents=quarter_incidents(con, q),
        repeating=theme_history(con, q) if has_themes else [],
        burn=burn_ranking(con, q) if has_themes else [],
        fixes=fix_state(con, q) if has_themes else {},
        eval_gap_themes=eval_gap_themes(con, q) if has_themes else [],
        response_times=response_times(con, q),
        health=health,
        health_offenders=offenders,
        has_themes=has_themes,
        undated=undated_note(con),
        eval_section=quarterly_eval_section(con, q.label, period_bounds(q, tz)[1]),
    )


# --------------------------------------------------------------------------------------
# Candidate investments: the retrospective's conclusion, derived from the sections above.


def candidate_investments(d: QuarterData) -> list[str]:
    q = d.quarter
    ideas: list[str] = []
    history = {r["theme_id"]: r for r in d.repeating}
    for theme in d.burn[:3]:
        h = history.get(theme["theme_id"], {})
        quarters = len(h.get("quarters") or [])
        if quarters < 2:
            continue
        fix = d.fixes.get(theme["theme_id"], {})
        if fix.get("came_back_ids"):
            state = (f"{plural(fix['done'], 'systemic fix', 'systemic fixes')} closed and it still came back "
                     f"{plural(len(fix['came_back_ids']), 'time')} (latest {_ids(fix['came_back_ids'], 3)}): "
                     "the fixes treat instances, not the class")
        elif fix.get("not_done"):
            state = f"{fix['not_done']} systemic fixes still open ({fix['overdue']} overdue): finish them first"
        else:
            state = "no systemic fix is recorded for it"
        ideas.append(f"**Invest in {theme['name']}** ({theme['theme_id']}): {plural(theme['incidents'], 'incident')} "
                     f"in {quarters} quarters, burn score {theme['burn_score']:.0f} "
                     f"({theme['sev1_sev2']} SEV1/SEV2); {state}.")
    for theme in d.burn[3:]:
        fix = d.fixes.get(theme["theme_id"], {})
        if fix.get("came_back_ids") and theme["this_quarter_ids"]:
            ideas.append(f"**Revisit the fixes for {theme['name']}** ({theme['theme_id']}): it came back after "
                         f"{plural(fix['done'], 'fix', 'fixes')} closed (latest {_ids(fix['came_back_ids'], 3)}).")
    for gap in d.eval_gap_themes[:1]:
        if gap["incidents"] >= 3:
            ideas.append(f"**Eval coverage: {gap['name']}** ({gap['theme_id']}): the evals missed "
                         f"{plural(gap['incidents'], 'incident')} for this reason ({gap['this_quarter']} this quarter); "
                         "one shared eval capability closes the gap for every team at once.")
    times = {r["quarter"]: r for r in d.response_times}
    now, before = times.get(q.label), times.get(q.shift(-1).label)
    if now and before and now["detect_h"] is not None and before["detect_h"] is not None \
            and now["detect_h"] > 1.25 * before["detect_h"]:
        ideas.append(f"**Detection**: median time to detect rose from {before['detect_h']:.1f} h to "
                     f"{now['detect_h']:.1f} h; look at which incidents users reported before our alerts did.")
    offenders = d.health_offenders
    process = []
    if offenders["late"] or offenders["unpublished"]:
        process.append(f"{len(offenders['late']) + len(offenders['unpublished'])} post-mortems late or unpublished")
    if offenders["no_eval_case"]:
        process.append(f"{len(offenders['no_eval_case'])} without a new eval case")
    if offenders["blame"] or offenders["sensitive"]:
        process.append(f"{len(offenders['blame'])} with blame language, {len(offenders['sensitive'])} with "
                       "unredacted data")
    if process:
        ideas.append("**Post-mortem process**: " + ", ".join(process) + " this quarter; make `emberline lint` a "
                     "required check on the post-mortem repository.")
    return ideas[:MAX_INVESTMENTS]


# --------------------------------------------------------------------------------------
# The report


def quarterly_inputs(con: duckdb.DuckDBPyConnection, quarters: list[Quarter], *, tz: str = "UTC") -> list[QuarterData]:
    return [load_quarter(con, q, tz=tz) for q in quarters]


def build_quarterly_report(con: duckdb.DuckDBPyConnection, quarter: Quarter, *, tz: str = "UTC") -> Report:
    return render_quarterly(load_quarter(con, quarter, tz=tz))


def render_quarterly(d: QuarterData) -> Report:
    q = d.quarter
    has_themes = bool(d.burn) or d.has_themes
    no_date = d.undated  # said once, at a glance; sections point there
    aside = " Incidents without a date are in no quarter (see At a glance)." if no_date else ""
    # With themes built, an empty ranking means no themed incident in this quarter; say why.
    no_burn = "No themed incident started in this quarter." + aside if has_themes else THEMES_MISSING
    sections: list[Section] = []

    repeating = sorted((r for r in d.repeating if r["this_quarter"] and len(r["quarters"]) > 1),
                       key=lambda r: (-len(r["quarters"]), -r["streak"], -r["incidents"], r["theme_id"]))
    first_time = [r for r in d.repeating if r["this_quarter"] and len(r["quarters"]) == 1]
    blocks: list = [Table(
        ["Theme", "Name", "Quarters present", "In a row", "Incidents this quarter", "Incidents to date"],
        [[r["theme_id"], r["name"], f"{len(r['quarters'])} ({r['quarters'][0]} to {r['quarters'][-1]})", r["streak"],
          f"{r['this_quarter']}: {_ids(r['this_quarter_ids'], 5)}", r["incidents"]] for r in repeating],
        empty="No theme of this quarter had occurred before." if has_themes else THEMES_MISSING)]
    if first_time:
        blocks.append(Paragraph("New this quarter: " + "; ".join(
            f"{r['name']} ({r['theme_id']}: {_ids(r['this_quarter_ids'], 4)})" for r in first_time) + "."))
    sections.append(Section("Themes that repeat across quarters", blocks))

    top = d.burn[:TOP_BURN_THEMES]
    blocks = [Table(
        ["Rank", "Theme", "Name", "Burn score", "This quarter", "Incidents", "SEV1/SEV2", "Incidents behind it",
         "Caution"],
        [[i + 1, t["theme_id"], t["name"], t["burn_score"], t["burn_this_quarter"], t["incidents"], t["sev1_sev2"],
          _ids(t["incident_ids"], 10), caution(t["incidents"], t["stability"])] for i, t in enumerate(top)],
        empty=no_burn)]
    if top:
        blocks.append(BarChart("Burn score to date by theme (highlighted: burned us this quarter)",
                               [f"{t['theme_id']} {t['name']}" for t in top], [t["burn_score"] for t in top],
                               highlight={i for i, t in enumerate(top) if t["this_quarter_ids"]}, horizontal=True))
        blocks.append(Paragraph("Burn score per incident: severity weight (SEV1 8, SEV2 4, SEV3 2, SEV4 1) "
                                "x (1 + log10(1 + customers affected)) x (1 + log10(1 + hours to resolve)); "
                                "a theme's score is the sum over its incidents to the end of the quarter."))
        blocks.append(Paragraph(_CAUTION_NOTE))
    sections.append(Section("Where we keep getting burned", blocks))

    shown = [t for t in d.burn if t["theme_id"] in d.fixes][:TOP_BURN_THEMES]
    fix_rows = []
    for t in shown:
        f = d.fixes[t["theme_id"]]
        came_back = (f"yes: {plural(len(f['came_back_ids']), 'incident')} after a fix closed "
                     f"(first fix closed {f['first_closed_before_return']:%d %b %Y}; latest {_ids(f['came_back_ids'], 3)})"
                     if f["came_back_ids"] else ("no" if f["done"] else "no fix closed yet"))
        fix_rows.append([t["theme_id"], t["name"], f["done"], f["not_done"], f["overdue"], came_back])
    sections.append(Section("Systemic action items by theme: did the fix work?", [Table(
        ["Theme", "Name", "Done", "Open", "Overdue", "Came back after a fix closed?"], fix_rows,
        empty="No systemic action items recorded for the top themes." if has_themes else THEMES_MISSING)]))

    gaps = [g for g in d.eval_gap_themes if g["incidents"]][:TOP_BURN_THEMES]
    sections.append(Section("Eval-gap themes: why the evals keep missing", [Table(
        ["Theme", "Name", "This quarter", "To date", "Quarters", "Typical gap"],
        [[g["theme_id"], g["name"], g["this_quarter"], g["incidents"], len(g["quarters"]), short(g["example"], 120)]
         for g in gaps],
        empty="No eval-gap theme yet." if has_themes else THEMES_MISSING)]))

    times = d.response_times
    sections.append(Section("Time to detect and to resolve, by quarter", [
        Table(["Quarter", "Incidents", "Median detect", "Middle half detect", "p90 detect", "Median resolve",
               "Middle half resolve", "p90 resolve", "Caution"],
              [[r["quarter"], r["incidents"], _h(r["detect_h"]), _spread(r["detect_p25_h"], r["detect_p75_h"]),
                _h(r["detect_p90_h"]), _h(r["resolve_h"]), _spread(r["resolve_p25_h"], r["resolve_p75_h"]),
                _h(r["resolve_p90_h"]), caution(min(r["with_detect"], r["with_resolve"]))] for r in times],
              empty="No incident records when it started and when it was detected or resolved." + aside),
        Paragraph(f"Middle half: from the quarter's 25th to its 75th percentile. Caution \"few incidents\": "
                  f"the figures rest on fewer than {FEW_INCIDENTS} incidents with known times, so one incident "
                  "moves the median."),
        # An unknown median is no bar, not a bar of 0 h: chart only the quarters that have one.
        *(_median_chart(title, [r for r in times if r[key] is not None], key, d.quarter.label)
          for title, key in (("Median hours to detect", "detect_h"), ("Median hours to resolve", "resolve_h"))
          if any(r[key] is not None for r in times)),
    ]))

    o = d.health_offenders
    health_blocks: list = [Table(
        ["Quarter", "Post-mortems", "Completeness", f"Within {POSTMORTEM_DEADLINE_HOURS} h", "Blame language", "Unredacted data",
         "Without eval case"],
        [[r["quarter"], r["postmortems"], _pct(r["avg_completeness"]), _pct(r["share_within_72h"]),
          r["with_blame_language"], r["with_sensitive_data"], r["without_eval_case"]] for r in d.health],
        empty="No post-mortem falls in a quarter yet." + aside)]
    details = [f"{label}: {', '.join(o[key])}" for key, label in (
        ("late", f"Published after {POSTMORTEM_DEADLINE_HOURS} hours"), ("unpublished", "Resolved but not published"),
        ("blame", "Blame language (EL006)"), ("sensitive", "Unredacted sensitive data (EL007)"),
        ("no_eval_case", "No new eval case")) if o[key]]
    health_blocks.append(Bullets(details, empty="Every post-mortem this quarter met the bar."))
    sections.append(Section("Post-mortem health", health_blocks))

    sections.append(d.eval_section)

    ideas = candidate_investments(d)
    sections.append(Section("Candidate systemic investments", [Bullets(
        ideas, empty="Nothing stands out: no theme repeats, and the post-mortem process held."
        if has_themes else THEMES_MISSING)]))

    incidents = d.incidents
    prev = [r for r in times if r["quarter"] == q.shift(-1).label]
    sev = sum(1 for r in incidents if r["severity"] in HIGH_SEVERITIES)
    highlights = [f"{plural(len(incidents), 'incident')} ({sev} SEV1/SEV2)"
                  + (f", against {prev[0]['incidents']} in {q.shift(-1).label}" if prev else "") + "; "
                  + f"{sum(r['customers_affected'] or 0 for r in incidents):,} customers affected."]
    if top:
        worst = top[0]
        highlights.append(f"Where we keep getting burned: **{worst['name']}** ({worst['theme_id']}), burn score "
                          f"{worst['burn_score']:.0f} over {plural(worst['incidents'], 'incident')}.")
    if repeating:
        highlights.append(f"{plural(len(repeating), 'theme')} of this quarter had happened before; "
                          f"{repeating[0]['name']} in {len(repeating[0]['quarters'])} quarters.")
    came_back = [t for t in shown if d.fixes[t["theme_id"]]["came_back_ids"]]
    if came_back:
        highlights.append(f"{plural(len(came_back), 'theme')} came back after their fixes closed: "
                          + ", ".join(t["name"] for t in came_back[:3]) + ".")
    if no_date:
        highlights.append(no_date)
    this_q = [r for r in times if r["quarter"] == q.label]
    if this_q:
        few = min(this_q[0]["with_detect"], this_q[0]["with_resolve"]) < FEW_INCIDENTS
        highlights.append(f"Median time to detect {_h(this_q[0]['detect_h'])}, to resolve {_h(this_q[0]['resolve_h'])}"
                          + (f" ({SMALL_NUMBER_NOTE})." if few else "."))

    return Report(
        kind="quarterly", period=q.label,
        title=f"Quarterly retrospective — {q.label}",
        subtitle=f"{q.start:%d %b %Y} to {q.end:%d %b %Y}; incidents that started by the end of the quarter",
        highlights=highlights, sections=sections)


_CAUTION_NOTE = (f"Caution \"unstable theme\": re-clustering 80% subsamples keeps less than {STABLE_JACCARD:.0%} "
                 "of the theme together (mean bootstrap Jaccard), so its boundary may move; \"few incidents\": "
                 f"fewer than {FEW_INCIDENTS}, so one incident changes its rank.")


def _spread(low: float | None, high: float | None) -> str:
    return "–" if low is None or high is None else f"{low:.1f}–{high:.1f} h"


def _median_chart(title: str, rows: list[dict], key: str, current: str) -> BarChart:
    labels = [r["quarter"] for r in rows]
    return BarChart(title, labels, [round(r[key], 1) for r in rows],
                    highlight={labels.index(current)} if current in labels else set(), unit=" h")


def _h(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} h"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"



def write_quarterly_reports(con: duckdb.DuckDBPyConnection, quarters: list[Quarter], out_dir: Path, *,
                            tz: str = "UTC") -> list[ReportFiles]:
    return [write_report(build_quarterly_report(con, quarter, tz=tz), out_dir) for quarter in quarters]
