"""emberline dashboard: page config, shared sidebar and navigation.

    make dashboard        # = streamlit run dashboards/app.py, on http://localhost:8501

Reads only the published warehouse (EMBERLINE_DB, default data/warehouse.duckdb), read-only.
The landing page is the quarterly retrospective: where do we keep getting burned?
"""

import streamlit as st

from dashboards import queries, ui
from pipelines.postmortems.policy import POSTMORTEM_DEADLINE_HOURS as DEADLINE_H

st.set_page_config(page_title="emberline", page_icon=":material/local_fire_department:", layout="wide")

pages = st.navigation([
    st.Page(ui.QUARTERLY, title="Quarterly retrospective", icon=":material/local_fire_department:",
            url_path="quarterly", default=True,
            help="Where do we keep getting burned? Themes ranked by burn score, recurrence by quarter, "
                 "whether fixes worked, time to detect and resolve."),
    st.Page(ui.WEEKLY, title="Weekly review", icon=":material/calendar_view_week:", url_path="weekly",
            help="One ISO week: its incidents and the themes they joined, post-mortems and action items due, "
                 "rising themes."),
    st.Page(ui.THEMES, title="Themes", icon=":material/category:", url_path="themes",
            help="One theme in full: name, keywords, representative causes, incidents, lineage across runs."),
    st.Page(ui.INCIDENTS, title="Incidents", icon=":material/description:", url_path="incidents",
            help="Search incidents by text or by meaning, filter them, and open one post-mortem."),
    st.Page(ui.HEALTH, title="Post-mortem health", icon=":material/health_and_safety:", url_path="health",
            help=f"Completeness, {DEADLINE_H}-hour compliance, blame and redaction findings, incidents without an "
                 "eval case."),
    st.Page(ui.SQL, title="SQL", icon=":material/terminal:", url_path="sql",
            help="Read-only SQL over the warehouse with a schema browser, example queries and CSV download."),
])

version = queries.pin_version()


# The pipeline publishes by renaming a new file over the old one; poll for that so an open
# dashboard shows the new warehouse without anyone reloading it.
@st.fragment(run_every="10s")
def _rerun_when_a_new_warehouse_is_published(pinned: queries.WarehouseVersion | None) -> None:
    if queries.current_version() != pinned:
        st.rerun()


with st.sidebar:
    st.markdown("### :material/local_fire_department: emberline")
    if version is not None:
        summary = queries.warehouse_summary(version)
        st.caption(f"{ui.incidents_span(summary)}  \nPublished {version.published_at:%Y-%m-%d %H:%M} UTC")
        if queries.has_themes(version):
            ui.select_in_url("Theme set", list(ui.THEME_SETS), "set", format_func=ui.THEME_SETS.get,
                             widget=st.radio, help="Themes of root causes, or of why the evals missed them.")
    _rerun_when_a_new_warehouse_is_published(version)

if version is None:
    ui.no_warehouse(str(queries.warehouse_path()))
else:
    pages.run()
