from __future__ import annotations

import pytest

from pipelines.postmortems.lint import RULES, LintOptions, blame_matches, has_errors, lint_parsed, profile_of
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


def test_no_front_matter_is_a_warning_in_the_ai_profile_only():
    parsed = parse_text("# A note\n\n## Summary\nThe bot broke.\n", "x.md")
    assert "EL009" in {f.rule_id for f in lint_parsed(parsed, LintOptions(profile="ai"))}
    assert "EL009" not in {f.rule_id for f in lint_parsed(parsed, LintOptions(profile="auto"))}


LEGACY = """# Checkout answers went stale

Started: 2026-02-03 10:00 UTC. Resolved: 2026-02-03 12:00 UTC.

## Summary
The answers bot quoted last week's prices for two hours.

## Root cause
The nightly export was empty and the index job kept the old documents.

## Action items
- [x] Make the index job fail on an empty export (owner: search team)
- [ ] Alert when the index is older than a day
"""


def test_a_free_form_postmortem_is_linted_as_legacy_without_template_sections():
    parsed = parse_text(LEGACY, "notes/stale.md")
    assert profile_of(parsed.postmortem) == "legacy"
    findings = lint_parsed(parsed, LintOptions())
    # no prompt diff, model config, sample outputs, eval case, category or front matter asked for
    assert {f.rule_id for f in findings} <= {"EL001", "EL004"}
    assert not has_errors(findings)
    [ownerless] = [f for f in findings if f.rule_id == "EL004"]
    assert "Alert when the index" in ownerless.message and ownerless.severity == "warning"


def test_the_same_file_in_the_ai_profile_gets_the_template_rules():
    findings = lint_parsed(parse_text(LEGACY, "notes/stale.md"), LintOptions(profile="ai"))
    assert {"EL001", "EL003", "EL009"} <= {f.rule_id for f in findings}
    assert has_errors(findings)


def test_front_matter_chooses_the_profile_over_the_store():
    text = postmortem().replace("status: published", "status: published\nlint_profile: legacy")
    parsed = parse_text(text.split("## Prompt diff")[0], "x.md")
    assert profile_of(parsed.postmortem, "ai") == "legacy"
    assert not has_errors(lint_parsed(parsed, LintOptions(profile="ai")))
    bad = parse_text(postmortem().replace("status: published", "status: published\nlint_profile: strict"), "x.md")
    assert any(f.rule_id == "EL010" and "lint_profile" in f.message for f in lint_parsed(bad))


def test_a_done_action_item_needs_an_owner_but_no_deadline():
    done = LEGACY.replace("- [ ] Alert when the index is older than a day\n", "")
    assert not [f for f in lint_parsed(parse_text(done, "x.md"), LintOptions()) if f.rule_id == "EL004"]
    open_item = LEGACY.replace("- [x] Make", "- [ ] Make")
    messages = [f.message for f in lint_parsed(parse_text(open_item, "x.md"), LintOptions()) if f.rule_id == "EL004"]
    assert any("Make the index job" in m and "deadline" in m for m in messages)


def test_hints_point_at_the_stores_template():
    parsed = parse_text(postmortem().split("## Prompt diff")[0], "x.md")
    own = LintOptions(profile="ai", template_hint="the template templates/pm.md.template")
    [hint] = {f.hint for f in lint_parsed(parsed, own) if f.rule_id == "EL001"}
    assert "templates/pm.md.template" in hint and "data/templates" not in hint


def test_every_rule_is_declared_once_with_a_hint_and_profiles():
    assert sorted(RULES) == [f"EL{n:03d}" for n in range(1, 13)]  # EL012 lives with the eval suite
    for registered in RULES.values():
        assert registered.hint and registered.severity in ("error", "warning")
        assert set(registered.profiles) <= {"ai", "legacy"} and registered.profiles


def test_a_legacy_file_gets_one_warning_for_its_ownerless_actions_not_one_per_sentence():
    text = ("# Outage\n\n## Root cause\n\nA bad flag.\n\n## What we will do\n\n"
            "- Add a canary for the flag service\n- Alert on config load failures\n- Document the rollback\n")
    findings = [f for f in lint_parsed(parse_text(text, "x.md"), LintOptions()) if f.rule_id == "EL004"]
    assert len(findings) == 1 and findings[0].severity == "warning"
    assert findings[0].message.startswith("3 action items lack an owner or deadline (lines 9, 10, 11)")
