"""Eval suite assets: each post-mortem's promised eval case found in the team's eval suite (or
not), and whether it passed in the latest results (pipelines/evals)."""

from pathlib import Path

import dagster as dg

from pipelines.defs.resources import Warehouse
from pipelines.evals.link import link_eval_suite, write_eval_tables
from pipelines.settings import load_settings

EVAL_TABLES = {
    "eval_case_status": "Per post-mortem: its promised eval case present in the suite, missing, or not named; "
    "where it was found; its latest run and whether it passed.",
    "eval_results": "Every result read from the eval results folder (Inspect AI logs, promptfoo JSON output), with "
    "the incident it is the regression test of.",
    "eval_issues": "Problems with the eval suite or results folders and their files: missing folder, malformed "
    "results, an Inspect log of another format version, a case file naming an unknown incident.",
}


class EvalSources(dg.ConfigurableResource):
    """The team's eval suite and results folders ('' = not configured). Defaults come from
    the store's emberline.yaml (`eval_suite:`, `eval_results:`) or the environment."""

    suite: str = ""
    results: str = ""


def default_eval_sources() -> EvalSources:
    settings = load_settings()
    return EvalSources(suite=str(settings.eval_suite or ""), results=str(settings.eval_results or ""))


@dg.multi_asset(
    specs=[dg.AssetSpec(name, description=text, group_name="evals", kinds={"duckdb"},
                        deps=["postmortems", "action_items", "lint_findings", "themes", "theme_assignments"])
           for name, text in EVAL_TABLES.items()],
    description="Link every post-mortem's promised eval case to the eval suite and its latest results; refresh "
    "lint_findings' EL012 (promised eval case missing) from the same snapshot.",
)
def eval_suite_tables(context: dg.AssetExecutionContext, warehouse: Warehouse, eval_sources: EvalSources):
    with warehouse.connect() as con:
        link = link_eval_suite(con, Path(eval_sources.suite) if eval_sources.suite else None,
                               Path(eval_sources.results) if eval_sources.results else None)
        counts = write_eval_tables(con, link)
    context.log.info(f"eval suite: {link.summary()}")
    for issue in link.issues:
        context.log.warning(issue["message"])
    metadata = {
        "eval_case_status": {"present": link.count("status", "present"), "missing": link.count("status", "missing"),
                             "not_named": link.count("status", "not_named"),
                             "passing": link.count("outcome", "passing"), "failing": link.count("outcome", "failing")},
        "eval_issues": {"errors": sum(i["severity"] == "error" for i in link.issues),
                        "warnings": sum(i["severity"] == "warning" for i in link.issues)},
    }
    for name in EVAL_TABLES:
        yield dg.MaterializeResult(asset_key=name, metadata={"dagster/row_count": counts[name],
                                                             "summary": link.summary(), **metadata.get(name, {})})


defs = dg.Definitions(assets=[eval_suite_tables], resources={"eval_sources": default_eval_sources()})
