"""A bad front-matter field costs that field: the rest of the post-mortem, and every other
one, still loads."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipelines.postmortems.parse import parse_bytes, parse_text
from pipelines.warehouse.db import connect
from pipelines.warehouse.ingest import ingest_store
from tests.conftest import postmortem, write

# Nine levels of ten aliases each: 10^9 strings once expanded, about 1.4 KB written.
ALIAS_BOMB = "\n".join(
    ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)])


def bombed(field: str) -> str:
    text = postmortem("PM-2026-001")
    return text.replace("severity: SEV2\n", f"severity: SEV2\n{ALIAS_BOMB}\n").replace(
        f"{field}:", f"{field}: *l8\nx_{field}:", 1)


@pytest.mark.parametrize("field", ["tags", "severity"])
def test_a_yaml_alias_bomb_is_refused_on_its_line_and_the_file_still_loads(field):
    text = bombed(field)
    parsed = parse_text(text, "x.md")
    problem = next(p for p in parsed.problems if p.kind == "yaml_alias")
    assert "*l" in text.split("\n")[problem.line - 1]  # the first alias, where it is written
    pm = parsed.postmortem
    assert pm.incident_id == "PM-2026-001" and pm.title.startswith("Support bot") and pm.started_at is not None
    assert pm.tags == [] and pm.severity != "*L8"


def test_an_alias_bomb_costs_no_memory():
    # A child process, so its peak memory is the parse's alone; 10^9 expanded strings would
    # need tens of gigabytes, the guard is 400 MB over a bare interpreter with the parser.
    code = ("import resource, sys; from pipelines.postmortems.parse import parse_text; "
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
            "parse_text(sys.stdin.read(), 'x.md'); "
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)")
    grown_mb = int(subprocess.run([sys.executable, "-c", code], input=bombed("tags"), capture_output=True,
                                  text=True, timeout=120, check=True).stdout)
    assert grown_mb < 400


def test_customers_affected_over_64_bits_is_an_issue_on_its_line(store, tmp_path):
    text = postmortem("PM-2026-001").replace("customers_affected: 300", f"customers_affected: {2 ** 70}")
    parsed = parse_text(text, "x.md")
    problem = next(p for p in parsed.problems if p.kind == "out_of_range")
    assert "customers_affected" in text.split("\n")[problem.line - 1]
    assert parsed.postmortem.customers_affected is None and parsed.postmortem.customer_impact
    write(store / "big.md", text)
    write(store / "ok.md", postmortem("PM-2026-002"))
    con = connect(tmp_path / "warehouse.duckdb")
    ingest_store(con, store)  # used to fail the whole ingest step
    assert sorted(r[0] for r in con.execute("SELECT incident_id FROM postmortems").fetchall()) == [
        "PM-2026-001", "PM-2026-002"]
    assert con.execute("SELECT count(*) FROM ingest_issues WHERE kind = 'out_of_range'").fetchall()[0][0] == 1


def test_an_integer_literal_over_4300_digits_is_malformed_yaml_not_a_crash():
    parsed = parse_text(postmortem().replace("customers_affected: 300", "customers_affected: " + "9" * 5000), "x")
    assert parsed.postmortem.incident_id == "PM-2026-001"
    assert any(p.kind == "malformed_yaml" for p in parsed.problems)


@pytest.mark.parametrize("field, value", [("severity", "jane.doe@example.com"), ("team", "ops ghp_" + "a" * 36),
                                          ("tags", "[retrieval, 203.0.113.9]")])
def test_a_sensitive_value_in_a_verbatim_field_is_dropped_with_an_issue(field, value):
    text = postmortem().replace({"severity": "severity: SEV2", "team": "team: support-ai",
                                 "tags": "tags: [retrieval]"}[field], f"{field}: {value}")
    parsed = parse_text(text, "x.md")
    problem = next(p for p in parsed.problems if p.kind == "sensitive_value")
    assert text.split("\n")[problem.line - 1].startswith(field)
    assert "example.com" not in problem.message and "ghp_" not in problem.message
    pm = parsed.postmortem
    assert getattr(pm, field) in (None, []) and pm.title.startswith("Support bot")


def test_an_overlong_value_is_cut_with_an_issue():
    parsed = parse_bytes(postmortem().replace("title: Support bot", "title: " + "x" * 1_000_000 + " Support bot")
                         .encode(), "x.md")
    assert len(parsed.postmortem.title) == 2_000
    assert any(p.kind == "field_too_long" and p.line == 3 for p in parsed.problems)
