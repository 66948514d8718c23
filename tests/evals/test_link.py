"""The eval suite linked to the sample store: present, missing and not-named cases, their
latest results, and every bad input reported with its file and reason."""

from __future__ import annotations

import duckdb

from pipelines.evals.link import link_eval_suite, summary_from_warehouse
from pipelines.evals.results import read_results
from pipelines.evals.suite import SuiteIndex, SuiteFile, find_case, index_suite


def rows(database, sql, params=None):
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_promised_cases_are_found_by_path_file_name_or_case_id(linked):
    status = {r[0]: r[1:] for r in rows(linked.warehouse, """
        SELECT incident_id, status, matched_by, suite_file, case_id FROM eval_case_status""")}
    assert status[linked.by_path][:2] == ("present", "path")
    assert status[linked.by_file_name][:2] == ("present", "file_name")
    assert status[linked.by_file_name][2].startswith("regressions/") and status[linked.by_file_name][2].endswith(".jsonl")
    assert status[linked.by_case_id][:3] == ("present", "case_id", "shared/team-regressions.jsonl")
    assert status[linked.missing] == ("missing", None, None, None)
    assert status[linked.not_named][0] == "not_named"
    named = rows(linked.warehouse, "SELECT count(*) FROM postmortems WHERE new_eval_case_id IS NOT NULL")[0][0]
    counts = dict(rows(linked.warehouse, "SELECT status, count(*) FROM eval_case_status GROUP BY ALL"))
    assert counts["present"] == 3 and counts["missing"] == named - 3
    assert sum(counts.values()) == rows(linked.warehouse, "SELECT count(*) FROM postmortems")[0][0]


def test_latest_run_decides_pass_or_fail_per_incident(linked):
    outcome = {r[0]: r[1:] for r in rows(linked.warehouse, """
        SELECT incident_id, outcome, last_passed, runs, ran_recently, result_file FROM eval_case_status""")}
    # promptfoo: an older failing run, then a passing one.
    assert outcome[linked.by_path][:4] == ("passing", True, 2, True)
    assert outcome[linked.by_path][4] == "promptfoo/latest.json"
    # Inspect: the mock model's answer does not contain the target.
    assert outcome[linked.by_file_name][:2] == ("failing", False)
    assert outcome[linked.by_file_name][4].startswith("inspect/") and outcome[linked.by_file_name][4].endswith(".json")
    assert outcome[linked.by_case_id][:2] == ("passing", True)
    assert outcome[linked.by_case_id][4].endswith(".eval")
    assert outcome[linked.missing][0] == "missing" and outcome[linked.not_named][0] == "not_named"


def test_a_shared_dataset_links_only_the_promised_sample(linked):
    linked_rows = dict(rows(linked.warehouse, """
        SELECT case_id, incident_id FROM eval_results WHERE source_file LIKE '%.eval'"""))
    assert linked_rows == {"unrelated-team-case": None,
                           **{k: v for k, v in linked_rows.items() if v == linked.by_case_id}}
    assert list(linked_rows.values()).count(linked.by_case_id) == 1


def test_bad_input_is_a_message_with_file_and_reason(linked):
    issues = {r[0]: r[1:] for r in rows(linked.warehouse, "SELECT source_file, kind, severity, message FROM eval_issues")}
    assert issues["broken.yaml"][:2] == ("malformed_case_file", "warning")
    assert issues["broken.yaml"][2].startswith("broken.yaml:2: not valid YAML")
    other = issues["inspect/from-another-inspect.json"]
    assert other[:2] == ("inspect_version", "error")
    assert "Unable to read version 3 of log format" in other[2] and "not used" in other[2]
    assert "written by inspect_ai 0.4.2 (log format 3), read with inspect_ai " in other[2]
    assert issues["promptfoo/truncated.json"][:2] == ("malformed_results", "error")
    assert issues["promptfoo/truncated.json"][2].startswith("promptfoo/truncated.json:2: not valid JSON")
    assert issues["shared/typo.jsonl"][0] == "unknown_incident" and "PM-2099-001" in issues["shared/typo.jsonl"][2]
    assert issues["promptfoo/package.json"][0] == "unknown_results_file"
    for _, _, message in issues.values():
        assert "None" not in message and "Traceback" not in message


def test_missing_folders_are_reported_and_nothing_is_called_missing(sample_warehouse, tmp_path):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        link = link_eval_suite(con, tmp_path / "no-suite", tmp_path / "no-results")
    kinds = {i["kind"]: i["message"] for i in link.issues}
    assert kinds.keys() == {"suite_missing", "results_missing"}
    assert str(tmp_path / "no-suite") in kinds["suite_missing"] and "does not exist" in kinds["suite_missing"]
    statuses = {r["status"] for r in link.status}
    assert statuses == {"unchecked", "not_named"}  # a suite that is not there cannot lack a case
    assert "0 cases present, 0 missing" in link.summary() and "2 problems" in link.summary()


def test_a_file_instead_of_a_results_folder_and_an_unconfigured_suite(sample_warehouse, tmp_path):
    not_a_folder = tmp_path / "results.txt"
    not_a_folder.write_text("x")
    results, problems = read_results(not_a_folder)
    assert results == [] and problems[0].kind == "results_unreadable" and str(not_a_folder) in problems[0].message
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        link = link_eval_suite(con, None, None)
    assert link.issues == [] and link.summary().startswith("not configured")


def test_find_case_prefers_path_then_name_then_case_id():
    index = SuiteIndex(None, [SuiteFile("support/refund.yaml"), SuiteFile("other/support/refund.jsonl"),
                              SuiteFile("shared/all.jsonl", frozenset({"refund-tone"}))])
    assert find_case(index, "evals/support/refund.yaml").matched_by == "path"
    assert find_case(index, "./support\\refund.yaml").rel_path == "support/refund.yaml"
    match = find_case(index, "evals/other/support/refund.yml")
    assert (match.rel_path, match.matched_by) == ("other/support/refund.jsonl", "file_name")
    match = find_case(index, "evals/support/refund-tone.yaml")
    assert (match.rel_path, match.matched_by, match.case_id) == ("shared/all.jsonl", "case_id", "refund-tone")
    assert find_case(index, "evals/support/unknown.yaml") is None and find_case(index, None) is None


def test_index_reads_case_ids_from_yaml_json_and_jsonl(tmp_path):
    (tmp_path / "a.yaml").write_text("tests:\n  - metadata: {case_id: tone-1, incident_id: PM-2026-001}\n")
    (tmp_path / "b.json").write_text('[{"id": "json-case"}]')
    (tmp_path / "c.jsonl").write_text('{"id": "line-1"}\nnot json\n')
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "run.json").write_text('{"id": "from-a-log"}')
    index = index_suite(tmp_path)
    files = {f.rel_path: f for f in index.files}
    assert set(files) == {"a.yaml", "b.json", "c.jsonl"}
    assert files["a.yaml"].case_ids == {"tone-1"} and files["a.yaml"].incident_ids == {"PM-2026-001"}
    assert files["b.json"].case_ids == {"json-case"} and files["c.jsonl"].case_ids == {"line-1"}
    assert [(p.path, p.line) for p in index.problems] == [("c.jsonl", 2)]


def test_run_summary_line_reads_back_from_the_warehouse(linked):
    with duckdb.connect(str(linked.warehouse), read_only=True) as con:
        line = summary_from_warehouse(con, True, True)
    assert line.startswith("3 cases present, ") and "2 passing, 1 failing" in line and "5 problems" in line


def test_lint_flags_a_promised_case_the_configured_suite_lacks(tmp_path, monkeypatch):
    from pipelines.postmortems.lint import RULES, lint_parsed
    from pipelines.postmortems.parse import parse_text
    from tests.conftest import postmortem

    text = postmortem()
    assert "EL012" not in {f.rule_id for f in lint_parsed(parse_text(text, "x.md"))}  # no suite configured
    suite = tmp_path / "evals"
    (suite / "support").mkdir(parents=True)
    monkeypatch.setenv("EMBERLINE_EVAL_SUITE", str(suite))
    [finding] = [f for f in lint_parsed(parse_text(text, "x.md")) if f.rule_id == "EL012"]
    assert finding.severity == "warning" and finding.rule == RULES["EL012"].name
    assert "'evals/support/refund-policy-freshness.yaml' is not in the eval suite" in finding.message
    assert text.splitlines()[finding.line - 1].startswith("- Eval case:")
    (suite / "support" / "refund-policy-freshness.yaml").write_text("tests: []\n")
    (suite / "new-folder").mkdir()  # the suite folder changed: lint sees the new case
    assert "EL012" not in {f.rule_id for f in lint_parsed(parse_text(text, "x.md"))}


def test_lint_findings_hold_el012_for_exactly_the_missing_cases(linked):
    findings = rows(linked.warehouse, """SELECT incident_id, severity, line, message FROM lint_findings
                                         WHERE rule_id = 'EL012' ORDER BY incident_id""")
    missing = rows(linked.warehouse, "SELECT incident_id FROM eval_case_status WHERE status = 'missing' ORDER BY 1")
    assert [f[0] for f in findings] == [m[0] for m in missing]
    incident, severity, line, message = next(f for f in findings if f[0] == linked.missing)
    markdown = rows(linked.warehouse, "SELECT markdown FROM postmortems WHERE incident_id = ?", [incident])[0][0]
    assert severity == "warning" and markdown.splitlines()[line - 1].lstrip("- ").startswith("Eval case:")
    assert f"is not in the eval suite ({linked.suite})" in message


def test_run_summary_prints_the_eval_suite_line(linked, monkeypatch, capsys):
    from pipelines.cli import _print_run_summary

    monkeypatch.setenv("EMBERLINE_EVAL_SUITE", str(linked.suite))
    monkeypatch.setenv("EMBERLINE_EVAL_RESULTS", str(linked.results))
    _print_run_summary(linked.warehouse)
    out = capsys.readouterr().out
    [line] = [x for x in out.splitlines() if x.startswith("eval suite:")]
    assert "3 cases present" in line and "1 failing" in line
    assert "inspect/from-another-inspect.json: inspect-ai cannot read this log" in out and "None" not in out


def test_an_older_inspect_log_format_is_read_with_a_warning(linked, tmp_path):
    import json

    from pipelines.evals.results import installed_inspect

    [log] = [p for p in (linked.results / "inspect").glob("*.json") if p.name != "from-another-inspect.json"]
    older = json.loads(log.read_text())
    older["version"], older["eval"]["packages"] = 1, {"inspect_ai": "0.3.20"}
    (tmp_path / "old.json").write_text(json.dumps(older))
    results, problems = read_results(tmp_path)
    assert [r.passed for r in results] == [False] and results[0].case_id == "answers-cite-current-source"
    [problem] = problems
    assert (problem.kind, problem.severity) == ("inspect_version", "warning")
    assert problem.message == (f"old.json: written by inspect_ai 0.3.20 (log format 1), read with inspect_ai "
                               f"{installed_inspect()[0]} (log format {installed_inspect()[1]}); read, but check its "
                               "results")
