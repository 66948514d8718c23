from __future__ import annotations

import pytest

from pipelines.postmortems.lint import blame_matches, has_errors, lint_parsed
from pipelines.postmortems.parse import parse_text
from pipelines.postmortems.sensitive import find_sensitive
from tests.conftest import postmortem


def rules(text: str) -> list[str]:
    return sorted({f.rule_id for f in lint_parsed(parse_text(text, "x.md"))})


def test_complete_blameless_postmortem_is_clean():
    assert lint_parsed(parse_text(postmortem(), "x.md")) == []


@pytest.mark.parametrize("sentence", [
    "Dave made a mistake when he edited the config.",
    "The change was careless.",
    "The reviewer should have known the prompt was risky.",
    "Engineer Priya pushed the prompt without evals.",
    "This was human error.",
])
def test_blame_language_is_flagged(sentence):
    findings = lint_parsed(parse_text(postmortem(extra=sentence), "x.md"))
    blame = [f for f in findings if f.rule_id == "EL006"]
    assert blame and blame[0].severity == "error" and blame[0].line is not None
    assert "system or process" in blame[0].hint


@pytest.mark.parametrize("sentence", [
    "Ingest did not strip hidden text, and ingest is where that belongs.",
    "Monitoring did not watch the data.",
    "The deploy pipeline skipped the eval step because the flag was off.",
    "Grafana did not alert because the panel had no threshold.",
])
def test_system_descriptions_are_not_blame(sentence):
    assert blame_matches(sentence) == []


def test_quoted_model_output_is_evidence_not_blame():
    assert blame_matches("> You made a mistake in your order, careless customer.") == []


@pytest.mark.parametrize("text, kind", [
    ("contact jane.doe@example.com for help", "email"),
    ("call +1 415 555 0134 now", "phone"),
    ("call (415) 555-0134 now", "phone"),
    ("key sk-proj-abcdefghijklmnopqrstuvwx1234", "api_key"),
    ("api_key = 9f8e7d6c5b4a39281726", "api_key"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9abcdefghijk", "api_key"),
    ("card 4111 1111 1111 1111 was charged", "card_number"),
    ("from 203.0.113.42 we saw", "ip_address"),
])
def test_sensitive_data_is_found(text, kind):
    assert [m.kind for m in find_sensitive(text)] == [kind]


@pytest.mark.parametrize("text", [
    "2026-03-02 14:05 — deploy", "model_version: 2024-08-06", "version 1.2.3 of the SDK",
    "order [ORDER_ID] for [EMAIL]", "temperature 0.7, top_p 0.95, max_tokens 1024", "localhost 127.0.0.1",
    "ticket 1234567890123 closed", "between 10:00 and 12:30 UTC", "up 12.5% on 2026-11-02",
])
def test_ordinary_text_is_not_sensitive(text):
    assert find_sensitive(text) == []


def test_sensitive_data_in_sample_outputs_is_an_error_with_a_line():
    text = postmortem().replace("[CUSTOMER_NAME]", "jane.doe@example.com")
    findings = [f for f in lint_parsed(parse_text(text, "x.md")) if f.rule_id == "EL007"]
    assert len(findings) == 1 and findings[0].severity == "error"
    assert "jane.doe@example.com" in text.split("\n")[findings[0].line - 1]
    assert "jane.doe@example.com" not in findings[0].message  # the finding must not leak it again


def test_late_postmortem_over_72_hours():
    late = postmortem(resolved="2026-03-02T18:00:00+00:00", published="2026-03-06T10:00:00+00:00")
    on_time = postmortem(resolved="2026-03-02T18:00:00+00:00", published="2026-03-05T16:00:00+00:00")
    assert "EL005" in rules(late)
    assert "EL005" not in rules(on_time)


def test_missing_sections_are_errors_when_published_and_warnings_in_drafts():
    text = postmortem().split("## Prompt diff")[0]
    published = [f for f in lint_parsed(parse_text(text, "x.md")) if f.rule_id == "EL001"]
    draft = [f for f in lint_parsed(parse_text(text.replace("status: published", "status: draft"), "x.md"))
             if f.rule_id == "EL001"]
    assert {f.message for f in published} == {
        "section 'prompt diff' is missing",
        "section 'sample outputs' is missing", "section 'eval gap' is missing"}
    assert {f.severity for f in published} == {"error"} and {f.severity for f in draft} == {"warning"}
    assert has_errors(published) and not has_errors(draft)


def test_no_eval_case_cause_without_category_and_ownerless_action():
    text = (postmortem(causes="""
        - The nightly job failed silently and nobody noticed for days.
        - The eval set had no freshness case.
        """)
            .replace("- Eval case: evals/support/refund-policy-freshness.yaml\n", "")
            .replace("- Checks: answers about refunds cite an article updated after the last policy change.\n", "")
            .replace("| support-ai | 2026-04-01 |", "| | |"))
    assert {"EL002", "EL003", "EL004"} <= set(rules(text))


def test_timeline_out_of_order():
    text = postmortem().replace("2026-03-02 15:40", "2026-03-02 13:40")
    findings = [f for f in lint_parsed(parse_text(text, "x.md")) if f.rule_id == "EL008"]
    assert len(findings) == 1 and "13:40" in text.split("\n")[findings[0].line - 1]


def test_no_front_matter_is_a_warning():
    assert "EL009" in rules("# A note\n\n## Summary\nThe bot broke.\n")
