"""Lint rule EL012 promised-eval-case-missing: the post-mortem names an eval case that the
configured eval suite does not contain.

A plain function over the parsed post-mortem and the suite index, so the lint registry
(pipelines/postmortems/lint.py) only registers it. No suite configured, or a suite that cannot
be read, means nothing to check: the run summary and eval_issues say why.
"""

from __future__ import annotations

from pipelines.evals.suite import SuiteIndex, configured_suite_index, normalise_case_ref
from pipelines.postmortems.model import PostMortem

RULE_ID, RULE_NAME, SEVERITY = "EL012", "promised-eval-case-missing", "warning"
HINT = ("Add the case to the eval suite under that path, file name or case id, or correct the name in the "
        "post-mortem's 'Eval case:' line. Until then the incident is not a regression test.")


def missing_case_message(promised: str, index: SuiteIndex) -> str:
    return f"promised eval case '{promised}' is not in the eval suite ({index.root}) by path, file name or case id"


def promised_eval_case_findings(pm: PostMortem, index: SuiteIndex | None) -> list[tuple[str, int | None]]:
    """(message, line) for a promised case the suite lacks; empty when there is nothing to check."""
    promised = normalise_case_ref(pm.new_eval_case_id)
    if not promised or index is None or not index.readable or index.find(promised) is not None:
        return []
    line = next((item.line for item in pm.action_items if item.kind == "eval_case" and item.line), None)
    if line is None and "new_eval_case" in pm.sections:
        line = pm.sections["new_eval_case"].line
    return [(missing_case_message(promised, index), line)]


def findings_against_configured_suite(pm: PostMortem) -> list[tuple[str, int | None]]:
    """The rule as lint runs it: against the suite the settings name (cached per process)."""
    return promised_eval_case_findings(pm, configured_suite_index())
