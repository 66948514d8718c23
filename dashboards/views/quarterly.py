"""Quarterly retrospective, the landing page: where do we keep getting burned?"""

import streamlit as st

from dashboards import charts, queries, ui
from pipelines.themes.stability import FEW_INCIDENTS, SMALL_NUMBER_NOTE, STABLE_JACCARD, is_few

ALL_QUARTERS = "All quarters"

version = queries.pinned_version()
theme_set = ui.theme_set()

st.title("Where do we keep getting burned?")

quarter_choice = st.selectbox("Quarter", [ALL_QUARTERS, *queries.quarters(version)], key="quarter",
                              bind="query-params",
                              help="Rank themes by the incidents of one quarter, or of all time.")
quarter = None if quarter_choice == ALL_QUARTERS else quarter_choice
if quarter:
    ui.permalink("quarter", quarter)

summary = queries.quarter_summary(version, quarter)
store = queries.warehouse_summary(version)
if not store["dated"]:
    st.info(ui.NO_DATES, icon=":material/event_busy:")
cols = st.columns(4)
cols[0].metric("Incidents", summary["incidents"])
cols[1].metric("SEV1 / SEV2", summary["sev1_sev2"] if store["with_severity"] else "–",
               help=None if store["with_severity"] else "No incident records a severity: see Post-mortem health.")
cols[2].metric("Median hours to detect", summary["median_detect_h"] if summary["median_detect_h"] is not None else "–")
cols[3].metric("Median hours to resolve", summary["median_resolve_h"] if summary["median_resolve_h"] is not None else "–")
if summary["incidents"] and is_few(summary["incidents"]):
    st.caption(f"These medians are {SMALL_NUMBER_NOTE}: one incident moves them. The distributions are below.")

if not queries.has_themes(version):
    ui.no_themes()
    st.subheader("Root-cause categories by quarter")
    if store["dated"]:
        st.altair_chart(charts.categories_by_quarter(queries.root_cause_categories_by_quarter(version)))
    else:
        st.caption(ui.NO_DATES)
    st.stop()

ranking = queries.burn_ranking(version, theme_set, quarter)
st.subheader(f"{ui.THEME_SETS[theme_set]} ranked by burn" + (f" in {quarter}" if quarter else ", all time"))
if ranking.height == 0:
    st.caption("No themed incidents in this quarter.")
else:
    worst = ranking.row(0, named=True)
    came_back = " It came back after its fixes were closed." if worst["came_back_after_fix"] else ""
    came_back += f" Caution: {worst['caution']}." if worst["caution"] else ""
    with st.container(border=True):
        st.markdown(
            f"**Most burn{' in ' + quarter if quarter else ''}: {worst['theme_id']} · {worst['name']}**. "
            f"{worst['incidents']} incidents ({worst['sev1_sev2']} SEV1/SEV2), {ui.quarters_seen(worst['quarters_present'])}, "
            f"burn score {worst['burn_score']}.{came_back}")
        st.page_link(ui.THEMES, label=f"{worst['theme_id']} · {worst['name']}", query_params={"theme": worst["theme_id"]},
                     icon=":material/arrow_forward:", help="The theme in full: its causes, incidents and history.")
    st.altair_chart(charts.burn_ranking_bars(ranking))
    st.caption("Burn score: each incident weighs severity (SEV1 8, SEV2 4, SEV3 2, SEV4 1) × (1 + log10(1 + "
               "customers affected)) × (1 + log10(1 + hours to resolve)); a theme's score is the sum over its "
               "incidents. Recurrence columns count all quarters. Caution marks an *unstable theme* (re-clustering "
               f"80% subsamples keeps less than {STABLE_JACCARD:.0%} of it together, so its boundary may move) and "
               f"*few incidents* (fewer than {FEW_INCIDENTS}, so one incident changes its rank).")
    ui.table(ranking.drop("last_incident"), links={"theme_id": "theme"}, key="ranking")

if theme_set == "root_cause":
    counts = queries.quarter_theme_counts(version, theme_set, 15)
    if not store["dated"]:
        st.subheader("Recurrence: incidents per quarter and theme")
        st.caption(ui.NO_DATES)
    elif counts.height:
        st.subheader("Recurrence: incidents per quarter and theme")
        st.altair_chart(charts.quarter_theme_heatmap(counts))
        st.subheader("Trend of the top five themes")
        st.altair_chart(charts.theme_trend_lines(counts))

    st.subheader("Eval-gap themes: what our evals keep missing")
    eval_gaps = queries.burn_ranking(version, "eval_gap", quarter)
    ui.table(eval_gaps.select("theme_id", "name", "incidents", "burn_score", "quarters_present").head(10),
             links={"theme_id": "theme"}, empty="No eval-gap themes for this selection.", key="eval_gaps")

st.subheader("Did the fixes work?")
st.caption("Systemic action items of each theme's incidents. A theme *came back* when it had an incident after a "
           "done item's deadline (and after the incident the item came from).")
per_theme = ranking.select("theme_id", "name", "fixes_done", "fixes_open", "came_back_after_fix") \
    .sort(["came_back_after_fix", "fixes_done"], descending=True) if ranking.height else ranking
ui.table(per_theme, links={"theme_id": "theme"}, empty="No systemic action items recorded.", key="fixes_per_theme")
# Listed on demand: at 10,000 post-mortems this is the page's most expensive query.
if st.toggle("List the systemic action items, with the theme's incidents after each deadline", key="fix_items_on"):
    fixes = queries.fix_effectiveness(version, theme_set)
    total = fixes["total"][0] if fixes.height else 0
    if total > fixes.height:
        st.caption(f"The first {fixes.height} of {total}: done items the theme came back after come first.")
    ui.table(fixes.drop("total"), links={"theme_id": "theme", "fixed_incident_id": "incident"}, key="fix_items")

st.subheader("Time to detect and to resolve, by quarter")
by_quarter = queries.detection_resolution_by_quarter(version)
if not store["dated"]:
    st.caption(ui.NO_DATES)
elif by_quarter.height and summary["median_resolve_h"] is None and summary["median_detect_h"] is None:
    st.caption(ui.NO_DURATIONS)
elif by_quarter.height:
    st.altair_chart(charts.detection_resolution_lines(by_quarter))
    st.caption("Each incident's hours, per quarter: the box is the middle half, the line in it the median. "
               f"Quarters marked *few incidents* in the table rest on fewer than {FEW_INCIDENTS} incidents.")
    st.altair_chart(charts.response_time_boxplots(queries.response_times_by_incident(version)))
    ui.table(by_quarter, links={"quarter": "quarter"}, key="detect_resolve")
