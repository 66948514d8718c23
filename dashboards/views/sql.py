"""SQL: ad-hoc read-only queries over the warehouse."""

import streamlit as st

from dashboards import queries, ui
from pipelines.warehouse.query import QueryRefused, format_result

version = queries.pinned_version()

st.title("SQL")
st.caption(f"Read-only: nothing can be written, and no files or network can be reached from here. At most "
           f"{queries.SQL_TIMEOUT_SECONDS:g} s per query; the same SQL runs with `emberline sql \"…\"`.")

examples = queries.example_queries()
schema = queries.schema(version)

editor, browser = st.columns([3, 1], gap="large")
with browser:
    st.subheader("Schema")
    relations = schema.unique(["table_type", "table_name"], maintain_order=True)
    for kind, label in (("BASE TABLE", "Tables"), ("VIEW", "Views")):
        names = relations.filter(relations["table_type"] == kind)["table_name"].to_list()
        st.markdown(f"**{label}**")
        for name in names:
            with st.expander(name):
                columns = schema.filter(schema["table_name"] == name).select("column_name", "data_type")
                st.dataframe(columns, hide_index=True)

with editor:
    def load_example() -> None:
        chosen = st.session_state.get("example")
        if chosen is not None:
            st.session_state["sql"] = examples[chosen].sql

    st.selectbox("Example queries", range(len(examples)), index=None, key="example",
                 format_func=lambda i: f"{i + 1}. {examples[i].title}", on_change=load_example,
                 placeholder="Pick one to load it into the editor")
    with st.form("query"):
        sql = st.text_area("Query", key="sql", height=180,
                           placeholder="SELECT quarter, count(*) FROM incidents GROUP BY ALL ORDER BY quarter")
        row_cap = st.number_input("Row cap", min_value=1, max_value=queries.SQL_ROW_CAP_MAX,
                                  value=queries.SQL_ROW_CAP, step=100, key="row_cap")
        submitted = st.form_submit_button("Run", type="primary", icon=":material/play_arrow:")

    if submitted:
        try:
            result = queries.run_sql(version, sql, max_rows=int(row_cap))
        except QueryRefused as refused:
            st.error(str(refused), icon=":material/block:")
        else:
            rows = result.frame.height
            stopped = {"rows": f", stopped at the row cap of {int(row_cap)}",
                       "bytes": f", stopped at {queries.SQL_RESULT_MB:g} MB of results"}.get(result.truncated_by, "")
            st.caption(f"{rows} row{'s' if rows != 1 else ''}{stopped}")
            if result.truncated_by == "rows":
                st.warning(f"Only the first {int(row_cap)} rows are shown. Raise the row cap (up to "
                           f"{queries.SQL_ROW_CAP_MAX}) or aggregate in SQL.")
            elif result.truncated_by == "bytes":
                st.warning(f"Only the first {rows} rows are shown: the result reached the page's limit of "
                           f"{queries.SQL_RESULT_MB:g} MB. Select fewer or shorter columns, or run it with "
                           "`emberline sql --max-mb`.")
            ui.table(result.frame, empty="The query returned no rows.", key="result")
            st.download_button("Download CSV", format_result(result, "csv"), file_name="emberline-query.csv",
                               mime="text/csv", icon=":material/download:", disabled=rows == 0)
