"""Post-mortem health: are we writing post-mortems a reviewer would accept, on time?"""

import streamlit as st

from dashboards import charts, queries, ui
from dashboards.eval_suite import eval_suite_section
from pipelines.postmortems.policy import POSTMORTEM_DEADLINE_HOURS as DEADLINE_H

ALL_QUARTERS = "All quarters"

version = queries.pinned_version()

st.title("Post-mortem health")
quarter_choice = st.selectbox("Quarter", [ALL_QUARTERS, *queries.quarters(version)], key="quarter",
                              bind="query-params")
quarter = None if quarter_choice == ALL_QUARTERS else quarter_choice

totals = queries.health_totals(version, quarter)
findings = queries.sensitive_and_blame_findings(version, quarter)
cols = st.columns(5)
cols[0].metric("Post-mortems", totals["postmortems"])
cols[1].metric("Average completeness", "–" if totals["avg_completeness"] is None else f"{totals['avg_completeness']:.0%}")
cols[2].metric(f"Published within {DEADLINE_H} h", "–" if totals["share_within_72h"] is None else f"{totals['share_within_72h']:.0%}")
cols[3].metric("Blame or unredacted data", findings["incident_id"].n_unique() if findings.height else 0,
               help="Post-mortems with lint findings EL006 (blame language) or EL007 (unredacted sensitive data).")
cols[4].metric("Without an eval case", totals["without_eval_case"])

by_quarter = queries.health_by_quarter(version)
dated = queries.warehouse_summary(version)["dated"]
left, right = st.columns(2)
with left:
    st.subheader(f"Completeness and {DEADLINE_H}-hour compliance by quarter")
    if not dated:
        st.caption("No incident has a date, so none can be placed in a quarter. A `Started:` line, a dated "
                   "timeline entry or `started_at` in front matter gives it one; the incomplete post-mortems "
                   "below say what else is missing.")
    elif by_quarter.filter(by_quarter["quarter"].is_not_null()).height:
        st.altair_chart(charts.health_lines(by_quarter.filter(by_quarter["quarter"].is_not_null())))
with right:
    st.subheader("Sections most often missing")
    missing = queries.missing_sections(version, quarter)
    if missing.height:
        st.altair_chart(charts.missing_section_bars(missing))
    else:
        st.caption("Every post-mortem has every section.")
ui.table(by_quarter, links={"quarter": "quarter"}, key="health_by_quarter")

st.subheader("Blame language and unredacted data")
st.caption("Fix these before a post-mortem is shared: describe the system or process, not a person; redact "
           "emails, phone numbers, keys, card numbers and IP addresses. The findings never repeat the value.")
ui.table(findings, links={"incident_id": "incident"}, empty="No blame language or unredacted data found.",
         key="findings")

left, right = st.columns(2)
with left:
    st.subheader("Incidents without an eval case")
    st.caption("Not yet a regression test: the next change can bring the failure back unnoticed.")
    ui.table(queries.incidents_without_eval_case(version, quarter), links={"incident_id": "incident", "quarter": "quarter"},
             empty="Every incident names a new eval case.", key="no_eval_case")
with right:
    st.subheader(f"Published later than {DEADLINE_H} hours")
    ui.table(queries.late_postmortems(version, quarter), links={"incident_id": "incident"},
             empty=f"Every post-mortem was published within {DEADLINE_H} hours of resolution.", key="late")

st.subheader("Incomplete post-mortems")
ui.table(queries.incomplete_postmortems(version, quarter), links={"incident_id": "incident"},
         empty="Every post-mortem has all ten sections.", key="incomplete")

st.subheader("What the parser did not understand")
st.caption("Headings mapped to no section, headings mapped by meaning, empty sections and missing start dates, "
           "per file. `emberline explain FILE` shows everything the parser read in one file, with lines; a store "
           "can map its own headings in emberline.yaml (README: What ingest tolerates).")
ui.table(queries.parse_notes(version, quarter), links={"incident_id": "incident"},
         empty="Every heading was mapped to a section and every post-mortem has a start date.", key="parse_notes")
eval_suite_section(version, quarter)
