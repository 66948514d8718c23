from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from pipelines.postmortems.parse import parse_bytes, parse_text
from pipelines.postmortems.sections import section_key
from tests.conftest import TEMPLATE, postmortem


def test_complete_postmortem_parses_every_part():
    parsed = parse_text(postmortem(), "2026/PM-2026-001.md")
    pm = parsed.postmortem
    assert parsed.problems == []
    assert pm.incident_id == "PM-2026-001"
    assert pm.severity == "SEV2" and pm.status == "published" and pm.team == "support-ai"
    assert pm.started_at == datetime(2026, 3, 2, 14, 5, tzinfo=timezone.utc)
    assert pm.customers_affected == 300
    assert pm.model_config.model_version == "2024-08-06" and pm.model_config.max_tokens == 800
    assert pm.completeness == 1.0 and pm.missing_sections == []
    [cause] = pm.root_causes
    assert cause.category == "retrieval" and cause.category_source == "explicit"
    assert cause.title == "Nightly re-index failed silently"
    assert "fixture index" in cause.evals_missed_why
    assert [e.kind for e in pm.timeline] == ["change", "detection", "diagnosis", "mitigation", "resolution"]
    assert pm.new_eval_case_id == "evals/support/refund-policy-freshness.yaml"
    systemic = [a for a in pm.action_items if a.kind == "systemic"]
    assert [(a.owner, a.deadline, a.status) for a in systemic] == [
        ("search-platform", date(2026, 3, 20), "done"), ("support-ai", date(2026, 4, 1), "open")]
    assert {a.kind for a in pm.action_items} == {"immediate", "eval_case", "systemic"}
    assert pm.prompt_diffs[0].before_text == "Answer from the retrieved articles."
    assert pm.prompt_diffs[0].after_text.startswith("Answer only from retrieved articles")
    assert len(pm.sample_outputs) == 2
    assert pm.eval_gaps[0].source == "analysis"


def test_template_itself_is_a_complete_postmortem():
    pm = parse_text(TEMPLATE.read_text(), "template.md").postmortem
    assert pm.missing_sections == []


@pytest.mark.parametrize("heading, key", [
    ("Root Causes", "root_causes"), ("Contributing factors", "root_causes"), ("What went wrong", "root_causes"),
    ("Action items", "action_items"), ("Follow-ups", "action_items"), ("Next steps", "action_items"),
    ("Lessons learned", "lessons"), ("Impact", "impact"), ("Customer impact", "impact"),
    ("2. Timeline of events", "timeline"), ("TL;DR", "summary"), ("Eval coverage gap analysis", "eval_gap"),
    ("Why the evals didn't catch it", "eval_gap"), ("Prompt changes", "prompt_diff"),
    ("Sample failing outputs", "sample_outputs"), ("Model version and config", "model_config"),
    ("Resolution", "mitigation"), ("New eval case", "new_eval_case"), ("Bananas", None),
])
def test_headings_match_by_meaning(heading, key):
    assert section_key(heading) == key


def test_free_form_headings_levels_and_bullets():
    text = """---
id: PM-2026-050
title: Answers cited retired pricing
---
# Answers cited retired pricing

### what happened
Answers quoted old prices for two days.

#### TIMELINE
* 2026-02-03 09:10 — Deploy of index job v2
* 11:00 — PagerDuty alert fired for the feedback spike
* 13:05 — Rolled back to the previous snapshot

### Contributing Factors
1. **Stale index.** The nightly re-index failed silently for 4 days. Our evals never checked freshness.
2. [prompt] The prompt told the model to prefer cached pages.
   Why evals missed it: no eval covers cached pages.

### Follow-ups
- [ ] Alert on index age (owner: search-platform, due 2026-02-20)
- [x] Add freshness eval evals/search/freshness.yaml @search-qa 2026-02-10
"""
    pm = parse_text(text, "x.md").postmortem
    assert pm.summary.startswith("Answers quoted old prices")
    # Time-only entries take the date of the entry before them.
    assert [e.at.hour for e in pm.timeline] == [9, 11, 13]
    assert pm.timeline[1].at.date() == date(2026, 2, 3)
    assert [c.title for c in pm.root_causes][:2] == ["Stale index.", "The prompt told the model to prefer cached pages."]
    assert pm.root_causes[0].category == "retrieval" and pm.root_causes[0].category_source == "inferred"
    assert pm.root_causes[0].evals_missed_why == "Our evals never checked freshness."
    assert pm.root_causes[1].category == "prompt" and pm.root_causes[1].category_source == "explicit"
    assert pm.root_causes[1].evals_missed_why == "no eval covers cached pages."
    assert len(pm.root_causes) == 2
    items = [a for a in pm.action_items if a.kind == "systemic"]
    assert [(a.owner, a.deadline, a.status) for a in items] == [
        ("search-platform", date(2026, 2, 20), "open"), ("search-qa", date(2026, 2, 10), "done")]
    assert pm.new_eval_case_id == "evals/search/freshness.yaml"
    assert "prompt_diff" in pm.missing_sections and 0 < pm.completeness < 1


def test_a_cause_written_only_as_field_bullets_is_one_cause():
    causes = """
        - Category: config
        - Description: max_tokens was lowered in the same release.
        - Why evals missed it: eval inputs are all short.
        """
    [cause] = parse_text(postmortem(causes=causes), "x.md").postmortem.root_causes
    assert (cause.category, cause.description, cause.evals_missed_why) == (
        "config", "max_tokens was lowered in the same release.", "eval inputs are all short.")


def test_causes_under_subheadings_stay_causes_even_if_they_name_a_section():
    causes = """
        ### Prompt change shipped without running the eval suite
        - Category: process
        - Description: A hotfix path published the prompt directly.

        ### Timeline pressure on the release
        - Category: process
        - Description: The release was rushed.
        """
    pm = parse_text(postmortem(causes=causes), "x.md").postmortem
    assert [c.title for c in pm.root_causes] == ["Prompt change shipped without running the eval suite",
                                                 "Timeline pressure on the release"]
    assert len(pm.prompt_diffs) == 1 and len(pm.timeline) == 5


def test_file_without_front_matter_still_loads_with_title_and_dates_from_text():
    text = """# Code review bot posted empty reviews

Severity: SEV3. Started: 2026-05-04 08:00 UTC. Resolved: 2026-05-04 12:30 UTC.

## Timeline
- 2026-05-04 08:00 — Provider rolled the alias to a new snapshot.
- 2026-05-04 09:15 — Developers reported empty reviews in Slack.
- 2026-05-04 12:30 — Resolved after pinning the snapshot.

## What went wrong
The provider moved the model alias under us and the new snapshot returns an empty review for large diffs.
"""
    parsed = parse_text(text, "2026/PM-2026-077-review-bot.md")
    pm = parsed.postmortem
    assert pm.incident_id == "PM-2026-077"  # from the file name
    assert pm.title == "Code review bot posted empty reviews"
    assert pm.started_at == datetime(2026, 5, 4, 8, 0, tzinfo=timezone.utc)
    assert pm.resolved_at == datetime(2026, 5, 4, 12, 30, tzinfo=timezone.utc)
    assert pm.detected_at == datetime(2026, 5, 4, 9, 15, tzinfo=timezone.utc)
    assert pm.severity == "SEV3" and not pm.has_front_matter
    assert pm.root_causes[0].category == "upstream-provider"
    assert pm.completeness < 0.5


def test_file_without_any_id_gets_its_path_as_id():
    pm = parse_text("# Notes\n\n## Summary\nSomething broke.\n", "team-a/notes.md").postmortem
    assert pm.incident_id == "file:team-a/notes"


def test_malformed_yaml_is_reported_with_line_and_body_still_loads():
    text = "---\nid: PM-2026-002\ntitle: [unclosed\nseverity: SEV2\n---\n# Title here\n\n## Summary\nText.\n"
    parsed = parse_text(text, "PM-2026-002-x.md")
    [problem] = parsed.problems
    assert problem.kind == "malformed_yaml" and problem.line in (3, 4)
    assert parsed.postmortem.incident_id == "PM-2026-002" and parsed.postmortem.title == "Title here"


def test_invalid_date_is_reported_with_its_line_and_left_empty():
    text = postmortem().replace("resolved_at: 2026-03-02T18:00:00+00:00", "resolved_at: last tuesday")
    parsed = parse_text(text, "x.md")
    [problem] = parsed.problems
    assert problem.kind == "invalid_date" and "resolved_at" in problem.message
    assert text.split("\n")[problem.line - 1].startswith("resolved_at:")
    assert parsed.postmortem.resolved_at is None


def test_non_utf8_bytes_are_reported_with_line_and_replaced():
    raw = postmortem().encode("utf-8").replace(b"outdated refund terms", b"outdated refund terms \xff\xfe")
    parsed = parse_bytes(raw, "x.md")
    [problem] = parsed.problems
    assert problem.kind == "not_utf8" and problem.line == raw[: raw.index(b"\xff")].count(b"\n") + 1
    assert parsed.postmortem is not None and "\ufffd" in parsed.postmortem.customer_impact


@pytest.mark.parametrize("raw, kind", [
    (b"", "empty_file"), (b"  \n\n ", "empty_file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary_file"),
    (b"# big\n" + b"a" * 2000, "too_large"),
])
def test_unusable_bytes_do_not_load(raw, kind):
    parsed = parse_bytes(raw, "x.md", max_bytes=1000)
    assert parsed.postmortem is None
    assert [p.kind for p in parsed.problems] == [kind]


def test_action_items_without_owner_or_deadline_are_kept_empty():
    text = postmortem().replace("| Alert on index age over 26 hours | support-ai | 2026-04-01 | open |",
                                "| Alert on index age over 26 hours |  |  | open |")
    items = [a for a in parse_text(text, "x.md").postmortem.action_items if a.kind == "systemic"]
    assert items[1].owner is None and items[1].deadline is None and items[1].status == "open"
