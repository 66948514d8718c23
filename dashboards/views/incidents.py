"""Incidents: search by text or by meaning with filters; `?incident=ID` opens one post-mortem."""

import streamlit as st

from dashboards import queries, ui
from pipelines.postmortems.policy import POSTMORTEM_DEADLINE_HOURS as DEADLINE_H

version = queries.pinned_version()
FILTERS = ("quarter", "severity", "category", "theme", "provider", "model")


def show_incident(incident_id: str) -> None:
    detail = queries.incident(version, incident_id)
    if st.button("All incidents", icon=":material/arrow_back:"):
        del st.query_params["incident"]
        st.rerun()
    st.title(f"{detail['incident_id']} · {detail['title'] or 'untitled'}")
    ui.permalink("incident", incident_id)
    facts = [detail["severity"] or "no severity", detail["status"] or "no status", detail["team"] or "no team",
             f"started {detail['started_at']:%Y-%m-%d %H:%M %Z}" if detail["started_at"] else "start unknown"]
    st.markdown(" · ".join(facts))
    links = st.columns(4)
    if detail["quarter"]:
        links[0].page_link(ui.QUARTERLY, label=f"Quarter {detail['quarter']}", query_params={"quarter": detail["quarter"]},
                           icon=":material/local_fire_department:")
    if detail["iso_week"]:
        links[1].page_link(ui.WEEKLY, label=f"Week {detail['iso_week']}", query_params={"week": detail["iso_week"]},
                           icon=":material/calendar_view_week:")

    cols = st.columns(5)
    hours = {k: None if detail[k] is None else round(detail[k] / 60, 1)
             for k in ("minutes_to_detect", "minutes_to_mitigate", "minutes_to_resolve")}
    cols[0].metric("Hours to detect", hours["minutes_to_detect"] if hours["minutes_to_detect"] is not None else "–")
    cols[1].metric("Hours to resolve", hours["minutes_to_resolve"] if hours["minutes_to_resolve"] is not None else "–")
    cols[2].metric("Customers affected", detail["customers_affected"] if detail["customers_affected"] is not None else "–")
    lag = detail["hours_to_postmortem"]
    cols[3].metric("Post-mortem after", "–" if lag is None else f"{lag:.0f} h",
                   delta=None if lag is None else ("late" if lag > DEADLINE_H else f"within {DEADLINE_H} h"),
                   delta_color="inverse" if lag is not None and lag > DEADLINE_H else "normal", delta_arrow="off")
    cols[4].metric("Completeness", f"{detail['completeness']:.0%}" if detail["completeness"] is not None else "–")

    main, side = st.columns([3, 2], gap="large")
    with side:
        st.subheader("Model configuration")
        config = {k: detail[k] for k in ("provider", "model", "model_version", "temperature", "top_p", "max_tokens",
                                         "system_prompt_version", "retrieval_index_version")}
        if any(v is not None for v in config.values()):
            st.table({"setting": list(config), "value": ["–" if v is None else str(v) for v in config.values()]})
        else:
            st.caption("No model configuration recorded.")

        st.subheader("Most similar past incidents")
        similar = queries.similar_incidents(version, incident_id)
        if similar.height:
            for row in similar.iter_rows(named=True):
                st.page_link(ui.INCIDENTS, label=f"{row['incident_id']} · {row['title']} ({row['similarity']:.2f})",
                             query_params={"incident": row["incident_id"]}, icon=":material/arrow_forward:")
        else:
            st.caption("No similar incidents computed yet (`make run` builds them with the themes).")

        findings = queries.incident_lint_findings(version, incident_id)
        st.subheader(f"Lint findings ({findings.height})")
        if findings.height:
            for row in findings.iter_rows(named=True):
                where = f" (line {row['line']})" if row["line"] else ""
                icon = ":material/error:" if row["severity"] == "error" else ":material/warning:"
                st.markdown(f"{icon} **{row['rule_id']} {row['rule']}**{where}: {row['message']}  \n"
                            f"_{row['hint']}_")
        else:
            st.caption("No findings: this post-mortem passes lint.")

        st.subheader("Root causes and their themes")
        causes = queries.incident_causes(version, incident_id)
        ui.table(causes.select([c for c in ("category", "title", "theme_id", "theme", "theme_note")
                                if c in causes.columns]),
                 links={"theme_id": "theme"}, empty="No root causes recorded.", key="causes")

        st.subheader("Action items")
        ui.table(queries.incident_action_items(version, incident_id), empty="No action items recorded.",
                 key="incident_actions")
    with main:
        diffs = queries.incident_prompt_diffs(version, incident_id)
        st.subheader("Prompt diff")
        if diffs.height:
            for row in diffs.iter_rows(named=True):
                if row["diff_text"]:
                    st.code(row["diff_text"], language="diff", wrap_lines=True)
                else:
                    before, after = st.columns(2)
                    before.code(row["before_text"] or "", language=None, wrap_lines=True)
                    after.code(row["after_text"] or "", language=None, wrap_lines=True)
        else:
            st.caption("No prompt diff in this post-mortem.")
        st.subheader("Post-mortem")
        st.caption(f"`{detail['source_path']}`")
        with st.container(border=True):
            st.markdown(ui.postmortem_body(detail["markdown"] or ""))


def show_search() -> None:
    st.title("Incidents")
    options = queries.incident_filter_options(version)
    names = queries.theme_names(version)

    query_col, mode_col = st.columns([4, 1])
    with query_col:
        text = st.text_input("Search", key="q", bind="query-params",
                             placeholder="e.g. stale index, max_tokens, rate limit")
    with mode_col:
        mode = st.radio("Search by", ["text", "meaning"], key="mode", bind="query-params", horizontal=True,
                        help="Text: every word must appear in the title, summary or root causes. Meaning: "
                             "nearest root causes and eval gaps by embedding.")
    filter_cols = st.columns(3) + st.columns(3)
    filters = {}
    for column, name in zip(filter_cols, FILTERS):
        with column:
            if name == "theme":  # linked by id, shown by name
                filters[name] = ui.select_in_url("Theme", options[name], "theme", multi=True,
                                                 format_func=lambda t: f"{t} · {names.get(t, '')}")
            else:
                filters[name] = st.multiselect(name.capitalize(), options[name], key=name, bind="query-params")

    if mode == "meaning" and text.strip():
        try:
            results = queries.search_by_meaning(version, text, filters)
        except queries.MeaningSearchUnavailable as unavailable:
            st.warning(f"Search by meaning is not available: {unavailable}. Showing text matches instead.")
            results = queries.search_incidents(version, text, filters)
    else:
        results = queries.search_incidents(version, text, filters)

    shown = "most similar " if mode == "meaning" and text.strip() else ""
    st.caption(f"{results.height} {shown}incident{'s' if results.height != 1 else ''}"
               + (" (first 500)" if results.height == 500 else "") + ". Select a row to open it.")
    if results.height == 0:
        st.info("No incident matches. Loosen a filter or search by meaning.")
        return
    framed, config = ui.linked(ui.readable(results, keep=("incident_id", "quarter")),
                               {"incident_id": "incident", "quarter": "quarter"})
    event = st.dataframe(framed, hide_index=True, column_config=ui.column_labels(framed) | config, on_select="rerun",
                         selection_mode="single-row", key="results")
    if event.selection.rows:
        st.query_params["incident"] = results["incident_id"][event.selection.rows[0]]
        st.rerun()


requested = st.query_params.get("incident")
if requested and queries.incident(version, requested) is not None:
    show_incident(requested)
else:
    if requested:
        st.warning(f"No incident `{requested}` in this warehouse.")
    show_search()
