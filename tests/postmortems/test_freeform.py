"""Free-form post-mortems in the shapes teams publish them: fixtures written here, in the
styles of real ones (a provider status page, a Google-style doc, a blog post with question
headings), never copied from the evaluation set."""

from datetime import datetime, timezone

from pipelines.postmortems.parse import parse_text
from pipelines.postmortems.prose import is_gap
from pipelines.postmortems.sections import classify, section_key

STATUS_PAGE = """# RESOLVED: Chat API customers saw elevated error rates in one region

Incident began at 2026-05-04 09:12 and ended at 2026-05-04 10:40 (all times are US/Pacific).

## Incident Report

### Summary

On Monday, 4 May 2026, customers calling the Chat API in the EU region received HTTP 500 errors
for 88 minutes.

### Root Cause

The outage was triggered by a configuration change to the shared request router that set the
connection pool to zero for one cell. Requests for that cell failed immediately.

### Remediation and Prevention

Engineers rolled back the router configuration at 10:31 and the error rate returned to normal.
We will add a validation step that rejects a pool size of zero before a configuration is pushed.
"""

GOOGLE_DOC = """# Batch scoring outage, 12 March 2026

Status: final. Owners: ml-platform on-call.

## Summary

Nightly batch scoring wrote no predictions for six hours.

## Root Causes

| Cause | Category |
|---|---|
| The feature export job wrote an empty partition after a schema rename | data |
| The scoring job treated an empty partition as success | process |

## Trigger

A column was renamed in the upstream warehouse table.

## Action Items

| Action item | Owner | Bug |
|---|---|---|
| Fail the scoring job on an empty input partition | ml-platform | #4411 |
| Add a schema contract test between export and scoring | data-eng | #4412 |

## Timeline

2026-03-12 (all times UTC)

- 01:00 export job runs and writes an empty partition
- 01:30 scoring job starts, finds no rows, reports success
- 07:10 analyst notices yesterday's predictions are missing
- 07:45 export re-run, scoring re-run
"""

BLOG = """# What happened to answer quality last week

November 20, 2026

Last week some answers from our support assistant cited articles that did not exist.

## What happened?

On November 12, 2026 we shipped a new system prompt. The root cause was an instruction that
told the model to always cite a source, even when retrieval returned nothing.

## Why didn't our evals catch it?

Our eval set had no questions for which retrieval comes back empty, so the new instruction was
never tested on that path.

## So what's next?

Completed:

- Reverted the instruction to cite only retrieved sources.

Planned:

- Add empty-retrieval questions to the regression eval set.
- We will alert when the share of answers without a retrieved source changes by more than 5%.
"""


def parse(text, name="pm.md"):
    return parse_text(text, name).postmortem


def test_status_page_dates_convert_from_the_stated_zone():
    pm = parse(STATUS_PAGE)
    assert pm.started_at == datetime(2026, 5, 4, 16, 12, tzinfo=timezone.utc)  # 09:12 PDT
    assert pm.resolved_at == datetime(2026, 5, 4, 17, 40, tzinfo=timezone.utc)
    assert pm.date_sources["started_at"] == "text"
    assert [c.line for c in pm.root_causes] == [14]
    assert "configuration change" in pm.root_causes[0].description
    assert pm.root_causes[0].category == "config" and pm.root_causes[0].category_source == "inferred"
    actions = {a.text: a.status for a in pm.action_items}
    assert any("validation step" in t and s == "open" for t, s in actions.items())


def test_google_doc_causes_and_actions_from_tables_and_dated_timeline():
    pm = parse(GOOGLE_DOC)
    assert [(c.title[:25], c.category, c.category_source) for c in pm.root_causes] == [
        ("The feature export job wr", "data", "explicit"), ("The scoring job treated a", "process", "explicit")]
    systemic = [a for a in pm.action_items if a.kind == "systemic"]
    assert [c.line for c in pm.root_causes] == [13, 14]
    assert [(a.owner, a.line) for a in systemic] == [("ml-platform", 24), ("data-eng", 25)]
    assert [e.at.hour for e in pm.timeline] == [1, 1, 7, 7]
    assert pm.timeline[0].at.date().isoformat() == "2026-03-12"
    assert pm.started_at == datetime(2026, 3, 12, 1, 0, tzinfo=timezone.utc)


def test_blog_question_headings_status_labels_and_narrative_cause():
    pm = parse(BLOG)
    assert pm.postmortem_published_at.date().isoformat() == "2026-11-20"
    assert pm.started_at.date().isoformat() == "2026-11-12"  # the incident, not the publication
    assert any("always cite a source" in c.description for c in pm.root_causes)
    assert [g.text for g in pm.eval_gaps if g.source == "analysis"][0].startswith("Our eval set had no questions")
    statuses = [(a.text[:20], a.status) for a in pm.action_items if a.kind == "systemic"]
    assert statuses == [("Reverted the instruc", "done"), ("Add empty-retrieval ", "open"),
                        ("We will alert when t", "open")]


def test_heading_shapes_beyond_a_phrase_list():
    assert section_key("Three overlapping problems") == "root_causes"
    assert section_key("Why didn't review catch this?") == "eval_gap"
    assert section_key("What changes now") == "action_items"
    assert section_key("Issue 2: the retry storm") == "root_causes"
    assert section_key("Improvements we are making") == "action_items"
    assert classify("Wie es dazu kam", {"wie es dazu kam": "root_causes"}) == ("root_causes", "alias")
    assert classify("Appendix") == (None, "none")


def test_what_went_wrong_under_lessons_stays_lessons_and_its_points_are_contributing_factors():
    text = """# T

## Root Cause

A bad flag shipped to every region at once.

## Lessons Learned

### What went well

- The rollback took four minutes once someone was awake.

### What went poorly

- The rollout started at 17:30 while nobody was on call overnight
- Deploys should be watched by a second person
- The canary stage was never tested against the new flag format
- A bad flag shipped to every region at once

Currently the only safe way would be:

- Freeze the flag service before the rollout
- Roll out region by region
"""
    pm = parse(text)
    assert pm.sections["lessons"].heading == "Lessons Learned"
    causes = [c.description for c in pm.root_causes]
    # the root cause, then the factor; not the advice, not the eval gap, not the repeat of the
    # root cause, not a procedure announced by a lead-in, not what went well
    assert causes == ["A bad flag shipped to every region at once.",
                      "The rollout started at 17:30 while nobody was on call overnight"]
    assert any("never tested" in g.text for g in pm.eval_gaps)


def test_a_template_file_does_not_read_its_lessons_as_causes():
    text = ("---\nid: INC-1\ntitle: T\n---\n# T\n\n## Root causes\n\n- **A bad flag**\n\n"
            "## Lessons learned\n\n### What went wrong\n\n- The rollout started while nobody was on call\n")
    pm = parse(text)
    assert [c.title for c in pm.root_causes] == ["A bad flag"]


def test_a_causal_connective_needs_a_failure_unless_it_explains_the_incident():
    text = """# T

## What happened

Our benchmarks were useful because they show more than a final score. That matters because every
tool result becomes part of the context. This is because the refactor moved the preset to a shared
label key. The cache served stale answers because its expiry was set to a year.
"""
    causes = [c.description for c in parse(text).root_causes]
    # "This is because" brings along the sentence "This" points at; "useful because" is no cause.
    assert causes == ["That matters because every tool result becomes part of the context. "
                      "This is because the refactor moved the preset to a shared label key.",
                      "The cache served stale answers because its expiry was set to a year."]


def test_a_cause_that_points_back_is_told_with_what_it_points_at():
    text = """# Queue outage

## What happened

At 02:10 the node running the only scheduler replica was drained for an upgrade. At this point the
scheduler restarted from a manifest that still named the image with the bug. The pager stayed quiet.

The worker pool overloaded because retries had no budget.

This is because the retry library defaulted to unlimited attempts, a bug in its configuration loader.
"""
    causes = [c.description for c in parse(text).root_causes]
    assert causes == [
        "At 02:10 the node running the only scheduler replica was drained for an upgrade. At this point the "
        "scheduler restarted from a manifest that still named the image with the bug.",
        # the next paragraph's "This is because" goes on telling the cause just before it
        "The worker pool overloaded because retries had no budget. This is because the retry library "
        "defaulted to unlimited attempts, a bug in its configuration loader.",
    ]


def test_hypotheses_discoveries_and_ruled_out_causes_are_not_causes():
    text = """# Package incident

## Summary

At 16:40 UTC we learned about a malicious package uploaded under our dependency's name. The malicious
package was installed because the public index took precedence over our own index. No vulnerability in the
registry was used to publish it. Errors on the status page led the team to believe an attacker was
targeting it too, which turned out to be a coincidence. With stolen tokens, attackers are able to
compromise further packages. The scanner reads every archive and flags malicious code for review.
This bug was likely to hurt installs, but it was not the only factor causing the failures.
"""
    causes = [c.description for c in parse(text).root_causes]
    assert causes == ["The malicious package was installed because the public index took precedence over our own "
                      "index."]


def test_an_attack_told_in_the_past_is_a_cause():
    text = "# T\n\n## Summary\n\nAn attacker compromised the release workflow and published two versions.\n"
    assert [c.description for c in parse(text).root_causes] == [
        "An attacker compromised the release workflow and published two versions."]


def test_an_incident_that_involved_a_fault_and_a_spiral_that_fed_itself_are_causes():
    text = """# Outage

## Summary

The incident on Tuesday involved a certificate rotation with an expired intermediate. With the
gateway down, clients retried in a tight loop, further overloading the load balancers.
"""
    causes = [c.description for c in parse(text).root_causes]
    assert causes == ["The incident on Tuesday involved a certificate rotation with an expired intermediate.",
                      "With the gateway down, clients retried in a tight loop, further overloading the load balancers."]


def test_a_cause_told_in_prose_under_one_heading_joins_the_list_under_another():
    text = """# Broken downloads

## Fault

The download handler contained a bug where the generated URL was missing a separator.

## Root causes

- The handler had no tests for the production prefix.
- Nobody reviewed the refactoring before it was merged.
"""
    causes = [(c.line, c.description) for c in parse(text).root_causes]
    assert causes == [
        (5, "The download handler contained a bug where the generated URL was missing a separator."),
        (9, "The handler had no tests for the production prefix."),
        (10, "Nobody reviewed the refactoring before it was merged."),
    ]


def test_a_narrative_going_back_in_time_stays_on_its_day():
    text = """# Proxy outage on 18 May 2026

## The outage

On 18 May 2026 at 11:20 UTC our proxy began failing requests. Errors continued until the fix at
14:30. The volume prior to 11:20 is the usual baseline. The dashboard failed from 11:30 to 13:10.
Late that evening, at 23:50, a cleanup job ran. It finished at 00:20 the next morning.
"""
    pm = parse(text)
    assert [e.at.strftime("%d %H:%M") for e in pm.timeline] == [
        "18 11:20", "18 14:30", "18 11:20", "18 11:30", "18 23:50", "19 00:20"]


def test_security_disclosures_tell_their_cause_as_an_attack():
    text = ("# Token leak\n\nLast week an attacker used a leaked publishing token to upload two releases.\n\n"
            "We have since revoked every token of the project.\n")
    causes = [c.description for c in parse(text).root_causes]
    assert causes == ["Last week an attacker used a leaked publishing token to upload two releases."]


def test_when_in_the_past_tells_the_story_when_in_the_present_states_a_rule():
    text = ("# T\n\n## Details\n\nWhen a cache misses, the request fails over to the origin and errors "
            "are retried.\n\nWhen the oversized file was propagated to the proxies, the limit was hit, "
            "resulting in a panic.\n")
    causes = [c.description for c in parse(text).root_causes]
    assert causes == ["When the oversized file was propagated to the proxies, the limit was hit, resulting in a panic."]


def test_free_form_cause_sub_headings_keep_their_causal_sentences_not_their_background():
    text = """# T

## How this went wrong

A change to the permissions of the metadata store caused the export query to return duplicate rows.

### How the router loads features

The router reads a feature file every five minutes and keeps it in memory for all requests.

### The size limit

The router preallocates room for 200 features. The doubled file exceeded that limit, resulting in
a panic on every request.

### Other impact during the incident

The login page failed for users without a session, resulting in support tickets.
"""
    causes = [c.description for c in parse(text).root_causes]
    assert causes == [
        "A change to the permissions of the metadata store caused the export query to return duplicate rows.",
        "The doubled file exceeded that limit, resulting in a panic on every request."]


def test_every_cause_gets_a_category_and_vendor_names_are_no_evidence():
    pm = parse("# T\n\n## Root causes\n\n- OpenAI and Anthropic were mentioned in the outage notes.\n")
    assert pm.root_causes[0].category == "other" and pm.root_causes[0].category_source == "inferred"


def test_an_impossible_time_costs_that_entry_its_time_not_the_file():
    text = ("# T\n\n## Timeline\n\n- 2026-03-02 10:00 UTC deploy\n- 24:00 alert fired\n"
            "- 2026-13-05 11:00 rollback\n- 2026-03-02 12:30 resolved\n")
    pm = parse(text)
    times = [e.at.strftime("%H:%M") if e.at else None for e in pm.timeline]
    assert times == ["10:00", None, None, "12:30"]
    assert pm.started_at == datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def test_a_sentence_that_lists_several_changes_commits_to_each():
    text = ("# Secrets leak\n\nWe have made other improvements to the platform, including removing "
            "organisation tokens (which adds traceability, and audit), moving secrets to a key "
            "management service, and expanding our detection of leaked tokens.\n")
    actions = [(a.text, a.status) for a in parse(text).action_items]
    assert actions == [("removing organisation tokens (which adds traceability, and audit)", "done"),
                       ("moving secrets to a key management service", "done"),
                       ("expanding our detection of leaked tokens", "done")]


def test_the_story_of_the_incident_and_figures_in_a_list_are_not_action_items():
    text = """# Malware releases

At 09:15 UTC we deployed the new release pipeline. When we deployed it, the old token was still valid.
If we had rotated the token, we would have stopped the second release. We have revoked every token of
the project.

## What we are doing about it

- From upload to quarantine: 2h 32m
- Installs affected: ~40%
- Add a quarantine state for releases reported as malware
"""
    actions = [a.text for a in parse(text).action_items]
    assert actions == ["Add a quarantine state for releases reported as malware"]
    text_only = text.split("## What")[0]
    assert [a.text for a in parse(text_only).action_items] == ["We have revoked every token of the project."]


def test_gap_sentences_said_twice_count_once_and_plain_ones_are_kept_first():
    loose = ["Our canary fleet is small, so only a few regions see a release first.",
             "Dashboards exist for latency, though no one looks at them during a release.",
             "The staging cluster lacks production's traffic mix for batch jobs.",
             "Reviews happen asynchronously, and a weekend merge waits for nobody.",
             "Benchmarks measure accuracy only, which says little about cost regressions.",
             "Drills cover regional failover, yet the global control plane was never part of them.",
             "Audits of the token store happen yearly, without any automated reminder.",
             "Smoke tests are manual and do not always include package downloads.",
             "Alerting thresholds were set years ago and not revisited since.",
             "Load tests run only on the first of each month.",
             "The eval suite has grown without an owner for the retrieval cases."]
    filler = "".join(f"- {sentence}\n" for sentence in loose)
    text = ("# T\n\n## What happened\n\n- The parser change was reviewed by one person only.\n"
            "  - The parser change was reviewed by one person only.\n" + filler +
            "\nThe download endpoint was not tested on staging before the release.\n")
    gaps = [g.text for g in parse(text).eval_gaps]
    assert len(gaps) == 8
    assert sum("reviewed by one person" in g for g in gaps) == 1
    assert "The download endpoint was not tested on staging before the release." in gaps


def test_sentences_that_use_causal_words_without_naming_a_cause():
    text = """# T

## What happened

The outage was not caused, directly or indirectly, by an attack. In March, we had two incidents that
resulted in degraded performance. As mentioned above, the bad flag caused the errors. To find the
instruction causing the replies, we ran ablations. The bad flag resulted in the following panic:

The replies repeated user-triggered leanings from the thread.
"""
    assert parse(text).root_causes == []


def test_a_sentence_that_refers_back_tells_the_same_cause_one_that_starts_afresh_another():
    text = ("# T\n\n## What happened\n\nA maintenance command unintentionally took down every backbone link. "
            "This caused a complete disconnection of the data centers. A bug in the audit tool failed to stop "
            "the command. Recovery took time, because the sites are hard to enter. The routers withdrew their "
            "routes, making the name servers unreachable.\n")
    causes = [c.description for c in parse(text).root_causes]
    assert causes == [
        "A maintenance command unintentionally took down every backbone link. This caused a complete "
        "disconnection of the data centers.",
        "A bug in the audit tool failed to stop the command.",
        "Recovery took time, because the sites are hard to enter.",
        "The routers withdrew their routes, making the name servers unreachable."]


def test_a_recovery_that_started_is_not_the_start_of_the_incident():
    text = """# DNS outage

## Timeline

- 2026-01-25 09:15 UTC we deployed changes to the production DNS configuration
- 2026-01-25 09:30 UTC the DNS record started to propagate again
- 2026-01-25 09:40 UTC traffic is back to normal
"""
    pm = parse(text)
    assert (pm.started_at.strftime("%H:%M"), pm.resolved_at.strftime("%H:%M")) == ("09:15", "09:40")


def test_telling_the_reader_and_announcing_actions_are_not_actions():
    pm = parse("# Summary of the queue event\n\n"
               "We want to provide you with some additional information about the disruption on 3 March 2026.\n\n"
               "We have taken several actions to prevent a recurrence. We disabled the scaling job that "
               "triggered the event, and we will add throttling to the gateway.\n\n"
               "We have made a number of changes, including a retry budget for every client.\n")
    texts = [a.text for a in pm.action_items]
    assert not any("additional information" in t or "several actions" in t for t in texts)
    assert any("disabled the scaling job" in t for t in texts)
    assert any("retry budget" in t for t in texts)  # announced with what they are: kept


def test_five_whys_answers_are_the_causes_and_a_why_missed_answer_is_a_gap():
    pm = parse("# Postmortem: checkout errors\n\n## Five whys\n"
               "1. Why did checkouts fail? The tax service returned 500 for gift card orders.\n"
               "2. Why did it return 500? A rounding routine divided by a taxable amount of zero.\n"
               "3. Why did the canary not catch it? Gift card orders are under 1% of traffic.\n")
    assert [c.description for c in pm.root_causes] == [
        "The tax service returned 500 for gift card orders.", "A rounding routine divided by a taxable amount of zero."]
    gaps = [g.text for g in pm.eval_gaps]
    assert "Gift card orders are under 1% of traffic." in gaps
    assert not any(g.endswith("?") for g in gaps)
