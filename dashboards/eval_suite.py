"""The dashboard's eval-suite section: which incidents are regression tests in the team's own
eval suite, which promised cases are missing, and which fail (pipelines/evals). UI only: the
data comes from queries.py."""

import streamlit as st

from dashboards import queries, ui

OUTCOME_LABELS = {"passing": "Passing", "failing": "Failing", "not_run": "In the suite, not run",
                  "missing": "Promised, missing", "not_named": "No case named"}


def eval_suite_section(version: queries.WarehouseVersion, quarter: str | None) -> None:
    st.subheader("Regression eval cases in the eval suite")
    if not queries.has_eval_suite(version):
        st.caption("The eval suite has not been linked on this warehouse: set `eval_suite:` and `eval_results:` in "
                   "the store's emberline.yaml and re-run the pipeline.")
        return
    st.caption("Each incident's promised eval case, found in the team's eval suite (by path, file name or case id), "
               "and its latest run in the eval results folder.")
    counts = queries.eval_outcome_counts(version, quarter)
    cols = st.columns(len(OUTCOME_LABELS))
    for col, (outcome, label) in zip(cols, OUTCOME_LABELS.items()):
        col.metric(label, counts.get(outcome, 0))
    left, right = st.columns(2)
    with left:
        st.markdown("**Coverage per eval-gap theme**")
        ui.table(queries.eval_gap_theme_coverage(version), links={"theme_id": "theme"},
                 empty="No eval-gap themes yet.", key="eval_gap_coverage")
    with right:
        st.markdown("**Pass or fail, per incident**")
        ui.table(queries.eval_case_outcomes(version, quarter), links={"incident_id": "incident", "quarter": "quarter"},
                 empty="No incidents for this selection.", key="eval_case_outcomes")
    issues = queries.eval_issues(version)
    if issues.height:
        with st.expander(f"Problems reading the eval suite or results ({issues.height})"):
            ui.table(issues, key="eval_issues")
