"""Weekly review: this week's incidents and their themes, what is due, what is rising."""

import streamlit as st

from dashboards import queries, ui
from pipelines.postmortems.policy import POSTMORTEM_DEADLINE_HOURS as DEADLINE_H
from pipelines.postmortems.policy import RISING_BASELINE_WEEKS, RISING_FACTOR, RISING_MIN_RECENT, RISING_RECENT_WEEKS

version = queries.pinned_version()
theme_set = ui.theme_set()
themed = queries.has_themes(version)

st.title("Weekly review")
weeks = queries.weeks(version)
if not weeks:
    st.info(ui.NO_DATES if queries.warehouse_summary(version)["incidents"] else "No incidents in this warehouse yet.",
            icon=":material/event_busy:")
    st.stop()

# Default: the latest week with incidents, which for a team using this weekly is this week.
week = st.selectbox("ISO week", weeks, key="week", bind="query-params")
start, end = queries.week_bounds(version, week)
st.caption(f"{week}: {start:%a %d %b %Y} to {end:%a %d %b %Y}")
ui.permalink("week", week)

incidents = queries.week_incidents(version, week, theme_set)
st.subheader(f"{incidents.height} incident{'s' if incidents.height != 1 else ''} this week")
if themed and incidents.height:
    names = queries.theme_names(version)
    joined = sorted({t for ids in incidents["theme_ids"].to_list() if ids for t in ids})
    if joined:
        st.markdown("**Themes they joined:** " + ", ".join(
            f"[{t} · {names.get(t, '')}]({ui.link_to('theme', t)})" for t in joined))
    new = sorted({t for names_ in incidents["new_themes"].to_list() if names_ for t in names_})
    if new:
        st.markdown("**New themes this week:** " + ", ".join(new))
ui.table(incidents.drop([c for c in ("theme_ids",) if c in incidents.columns]), links={"incident_id": "incident"},
         empty="No incidents started this week.", key="week_incidents")

left, right = st.columns(2)
with left:
    st.subheader("Post-mortems due or overdue")
    st.caption(f"Resolved, not yet published: due within {DEADLINE_H} hours of resolution, overdue after (as of now).")
    ui.table(queries.postmortems_due(version), links={"incident_id": "incident"},
             empty="Every resolved incident has a published post-mortem.", key="due")
    late = queries.late_postmortems_in_week(version, week)
    if late.height:
        st.markdown(f"**Published late (over {DEADLINE_H} hours) for this week's incidents**")
        ui.table(late, links={"incident_id": "incident"}, key="late")
with right:
    st.subheader("Rising themes")
    st.caption(f"At least {RISING_MIN_RECENT} incidents in the {RISING_RECENT_WEEKS} weeks ending with this one, and at "
               f"least {RISING_FACTOR:g} times what the {RISING_BASELINE_WEEKS} weeks before predict (`expected`; "
               "`baseline`: their incidents).")
    if themed:
        ui.table(queries.rising_themes(version, theme_set, week), links={"theme_id": "theme"},
                 empty="No theme is rising.", key="rising")
    else:
        ui.no_themes()

st.subheader("Action items due or overdue")
st.caption("Systemic prevention items not done whose deadline is before the end of next week; overdue means "
           "past its deadline at the end of this week.")
items = queries.action_items_due(version, week)
overdue = items.filter(items["overdue"]) if items.height else items
cols = st.columns(2)
cols[0].metric("Overdue", overdue.height)
cols[1].metric("Due by the end of next week", items.height - overdue.height)
ui.table(items, links={"incident_id": "incident"}, empty="No open action items due.", key="actions")
