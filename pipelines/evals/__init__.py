"""The team's eval suite and its results, linked to the incidents that promised each case.

suite.py finds the promised eval case in the suite folder; results.py reads the results the
team already produces (Inspect AI logs, promptfoo JSON output); link.py joins the two to the
post-mortems and writes eval_case_status, eval_results and eval_issues; lint.py is the lint
rule for a promised case that does not exist. Plain Python: no Dagster or Streamlit here.
"""
