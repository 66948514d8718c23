from __future__ import annotations

import argparse
import json

import duckdb
import pytest

from pipelines.reports.commands import register
from pipelines.reports.evals import eval_case_records, failing_input, write_eval_exports
from pipelines.reports.external import ExternalConfig, export_external_postmortems
from tests.conftest import postmortem, write
from tests.reports.conftest import build_warehouse

CONFIG = ExternalConfig({"Langfuse": "tracing tool", "llm-gateway": "model gateway"}, "internal system")


def external(incident_id: str, *, summary: str | None = None, sample: str | None = None, **kw) -> str:
    text = postmortem(incident_id, **kw).replace("publication: internal", "publication: external")
    if summary:
        text = text.replace("The assistant quoted a refund policy that was retired a week earlier.", summary)
    if sample:
        text = text.replace("> Our 60-day refund window applies to order [ORDER_ID].", f"> {sample}")
    return text


@pytest.fixture
def export_store(store, tmp_path):
    write(store / "clean.md", external(
        "PM-2026-001", summary="The support-assistant behind llm-gateway quoted a retired refund policy; Langfuse "
        "traces showed it, see `refund-policy-alert` and https://grafana.internal/d/abc."))
    write(store / "leaky.md", external("PM-2026-002", sample="Thanks Dana, reach me at dana.kim@example.com"))
    write(store / "blame.md", external("PM-2026-003", summary="Dave made a mistake when he changed the index job."))
    write(store / "internal.md", postmortem("PM-2026-004"))
    return build_warehouse(store, tmp_path / "w.duckdb", themes=False)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="emberline")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_external_export_keeps_the_story_and_drops_internals(export_store, tmp_path):
    with duckdb.connect(str(export_store), read_only=True) as con:
        result = export_external_postmortems(con, tmp_path / "out", CONFIG)
    assert sorted(result.exported) == ["PM-2026-001"]  # internal and refused ones are not exported
    text = result.exported["PM-2026-001"].read_text()
    for heading in ("## What happened", "## Who was affected", "## What we did",
                    "## How we will prevent it from happening again"):
        assert heading in text
    assert "quoted a retired refund policy" in text and "About 300 chats got outdated refund terms" in text
    assert "about 300 customers" in text and "Restored the previous index snapshot." in text
    assert "Fail the re-index job on an empty export (done)" in text and "(planned)" in text
    # No prompt diff, no sample output, no owners, no internal names, links or identifiers.
    for internal in ("Answer only from retrieved articles", "60-day refund", "search-platform", "support-ai",
                     "support-assistant", "llm-gateway", "Langfuse", "refund-policy-alert", "grafana.internal",
                     "evals/support"):
        assert internal not in text, internal
    assert "model gateway" in text and "tracing tool traces" in text


def test_external_export_refuses_sensitive_data_and_blame(export_store, tmp_path):
    with duckdb.connect(str(export_store), read_only=True) as con:
        result = export_external_postmortems(con, tmp_path / "out", CONFIG)
    assert "unredacted sensitive data: 1 email" in result.refused["PM-2026-002"]
    assert "dana.kim" not in result.refused["PM-2026-002"]
    assert "blame language" in result.refused["PM-2026-003"]
    assert not (tmp_path / "out" / "external" / "PM-2026-002.md").exists()


def test_cli_export_external_refuses_with_the_reason_and_exit_status_1(export_store, tmp_path, capsys):
    out = tmp_path / "exports"
    assert run(["export", "external", "PM-2026-002", "--db", str(export_store), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("refused: PM-2026-002") and "EL007" in err and "dana.kim" not in err
    assert not out.exists()
    assert run(["export", "external", "PM-2099-001", "--db", str(export_store), "--out", str(out)]) == 1
    assert "no incident PM-2099-001" in capsys.readouterr().err
    assert run(["export", "external", "PM-2026-001", "--db", str(export_store), "--out", str(out)]) == 0
    assert (out / "external" / "PM-2026-001.md").exists()


def test_eval_export_has_one_case_per_incident_and_lists_the_missing(export_store, store, tmp_path, capsys):
    write(store / "no-eval.md", postmortem("PM-2026-009").replace(
        "- Eval case: evals/support/refund-policy-freshness.yaml\n", "").replace(
        "- Checks: answers about refunds cite an article updated after the last policy change.\n", ""))
    database = build_warehouse(store, tmp_path / "again.duckdb")
    out = tmp_path / "exports"
    assert run(["export", "evals", "--db", str(database), "--out", str(out)]) == 0
    cases = [json.loads(line) for line in (out / "eval_cases.jsonl").read_text().splitlines()]
    missing = [json.loads(line) for line in (out / "incidents_without_eval_case.jsonl").read_text().splitlines()]
    assert [c["incident_id"] for c in cases] == ["PM-2026-001", "PM-2026-002", "PM-2026-003", "PM-2026-004"]
    assert [m["incident_id"] for m in missing] == ["PM-2026-009"]
    leaky = next(c for c in cases if c["incident_id"] == "PM-2026-002")
    assert leaky["eval_case_id"] == "evals/support/refund-policy-freshness.yaml"
    assert leaky["expected_behaviour"].startswith("answers about refunds cite an article")
    assert "Thanks Dana, reach me at [EMAIL]" in leaky["failing_examples"]
    assert "dana.kim" not in (out / "eval_cases.jsonl").read_text()
    assert leaky["theme"] == "stale or mismatched retrieval index" and leaky["theme_id"].startswith("RC-")
    assert "4 eval cases" in capsys.readouterr().out


def test_failing_input_is_taken_from_a_quoted_user_turn():
    assert failing_input('User: "How do I revoke a key?" → blocked: "Sorry"') == "How do I revoke a key?"
    assert failing_input('Query: "export audit log csv". Answer: "Dark mode is under Appearance."') == \
        "export audit log csv"
    assert failing_input("You can get a full refund within 60 days.") is None


def test_eval_records_on_the_sample_corpus_name_a_theme_and_never_leak(sample_con):
    from pipelines.postmortems.sensitive import find_sensitive

    cases, missing = eval_case_records(sample_con)
    with_case = sample_con.execute("""
        SELECT count(*) FROM postmortems WHERE new_eval_case_id IS NOT NULL OR new_eval_case_checks IS NOT NULL
        """).fetchall()[0][0]
    assert len(cases) == with_case and len(cases) + len(missing) == sample_con.execute(
        "SELECT count(*) FROM postmortems").fetchall()[0][0]
    assert all(c["theme_id"] for c in cases if c["incident_id"] in {
        r[0] for r in sample_con.execute("SELECT incident_id FROM root_causes").fetchall()})
    assert find_sensitive(json.dumps(cases)) == []


def test_write_eval_exports_is_idempotent(sample_warehouse, tmp_path):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        assert write_eval_exports(con, tmp_path).changed
        assert not write_eval_exports(con, tmp_path).changed


@pytest.mark.parametrize("argv, usage", [
    (["report", "weekly", "--help"], "usage: emberline report weekly"),
    (["report", "quarterly", "--help"], "usage: emberline report quarterly"),
    (["export", "external", "--help"], "usage: emberline export external"),
    (["export", "evals", "--help"], "usage: emberline export evals"),
])
def test_every_report_and_export_command_has_help(argv, usage, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(argv)
    assert exit_info.value.code == 0 and usage in capsys.readouterr().out


def test_report_commands_write_every_period_with_all(sample_warehouse, tmp_path, capsys):
    out = tmp_path / "reports"
    assert run(["report", "quarterly", "--quarter", "2026-Q2", "--all", "--db", str(sample_warehouse),
                "--out", str(out)]) == 0
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        first_quarter = con.execute("SELECT min(quarter) FROM postmortems").fetchall()[0][0]
    names = sorted(p.name for p in out.glob("quarterly-*.md"))
    assert names[0] == f"quarterly-{first_quarter}.md" and names[-1] == "quarterly-2026-Q2.md"
    assert run(["report", "weekly", "--week", "2026-W99", "--db", str(sample_warehouse)]) == 2
    assert "no ISO week 99" in capsys.readouterr().err
