"""Post-mortems that mark their sections with plain lines, not Markdown: a status page pasted
as text, a Google Doc saved as .txt, labels leading their text ("Cause: ..."). Fixtures written
here in those styles, never copied from the evaluation set."""

from datetime import datetime, timezone

from pipelines.postmortems import markdown
from pipelines.postmortems.parse import parse_text
from pipelines.postmortems.sections import promote_plain_headings

# A status page pasted without blank lines: the impact list runs on into "Root Cause" (a
# lazy continuation of its last item, in CommonMark's words).
PASTED_STATUS_PAGE = """Service Disruption Report: Search Cluster Rebalance in Frankfurt
Summary
Search requests in the Frankfurt region timed out for part of the afternoon. Requests in other regions were served normally.
Impact
- Affected users: customers whose indexes live in the Frankfurt cluster.
- Scope: queries timed out; no indexed data was lost.
Root Cause
The outage was caused by a shard rebalance that moved every primary shard onto three nodes at once. Those nodes ran out of heap and stopped answering queries.
Resolution
- Rebalance halted: engineers paused shard allocation and moved primaries back by hand.
- Heap raised: the three nodes were restarted with a larger heap.
Lessons Learned
"""

# Labels leading their own text, one per line.
LABELLED = """Window: 2025-02-11 13:05 – 13:50 UTC
Impact: Webhook deliveries were delayed by up to forty minutes.
Cause: A certificate rotation left the delivery workers trusting only the old intermediate certificate.
Resolution: The workers were redeployed with the new certificate bundle.
Next steps: We will alert when a certificate bundle differs between the workers and the gateway.
"""

# A Google Doc saved as plain text: headings are lines of their own between blank lines, and
# the timeline gives clock times only, on the day the text names before it.
TEXT_EXPORT = """Incident review: nightly billing export stalled

Summary

The nightly billing export that ran on March 4, 2025 stalled for three hours.

Timeline (all times UTC)

01:10 export job started
01:25 export stalled on a lock held by the vacuum job
03:40 on-call engineer paged by the freshness alert
04:15 vacuum cancelled, export resumed and finished

Root causes

1. The vacuum job and the export were scheduled in the same window after a cron change.
2. The export waited on the lock without a timeout.

Action items

1. Move the vacuum job out of the export window.
2. Give the export's lock wait a timeout that fails the job loudly.
"""


def parse(text: str, name: str = "review.md"):
    return parse_text(text, name).postmortem


def test_plain_lines_of_a_pasted_status_page_are_its_sections():
    pm = parse(PASTED_STATUS_PAGE)
    assert pm.title == "Service Disruption Report: Search Cluster Rebalance in Frankfurt"
    assert [(line, key) for line, _, key, _ in pm.headings][1:] == [
        (2, "summary"), (4, "impact"), (7, "root_causes"), (9, "mitigation"), (12, "lessons")]
    assert pm.summary.startswith("Search requests in the Frankfurt region")
    # The cause is its own sentences, not glued to the heading or to the impact list.
    assert [c.line for c in pm.root_causes] == [8]
    assert pm.root_causes[0].description.startswith("The outage was caused by a shard rebalance")
    assert not any("Root Cause" in c.description for c in pm.root_causes)


def test_labels_leading_their_text_are_sections_and_the_text_is_theirs():
    pm = parse(LABELLED)
    keys = {key for _, _, key, _ in pm.headings}
    assert {"impact", "root_causes", "mitigation", "action_items"} <= keys
    assert [c.description for c in pm.root_causes] == [
        "A certificate rotation left the delivery workers trusting only the old intermediate certificate."]
    assert pm.customer_impact == "Webhook deliveries were delayed by up to forty minutes."
    texts = [a.text for a in pm.action_items]
    assert any(t.startswith("We will alert when a certificate bundle differs") for t in texts)
    assert not any(t.startswith(("Cause:", "Next steps:")) for t in texts)
    # "Window: <date> <time> – <time>" is the incident's window.
    assert (pm.started_at, pm.resolved_at) == (datetime(2025, 2, 11, 13, 5, tzinfo=timezone.utc),
                                               datetime(2025, 2, 11, 13, 50, tzinfo=timezone.utc))


def test_a_plain_text_export_keeps_its_sections_and_dates_its_clock_times():
    pm = parse(TEXT_EXPORT, "billing-export.txt")
    assert pm.title == "Incident review: nightly billing export stalled"
    assert [e.at for e in pm.timeline] == [datetime(2025, 3, 4, h, m, tzinfo=timezone.utc)
                                           for h, m in ((1, 10), (1, 25), (3, 40), (4, 15))]
    assert pm.started_at == datetime(2025, 3, 4, 1, 10, tzinfo=timezone.utc)
    assert len(pm.root_causes) == 2 and pm.root_causes[1].description.startswith("The export waited")
    assert len([a for a in pm.action_items if a.kind == "systemic"]) == 2


def test_wrapped_prose_and_documents_with_headings_are_left_as_they_are():
    wrapped = ("We spent the morning looking for the root cause\nwhile the queue kept growing, and found it at noon.\n\n"
               "Resolution was quick once we knew.\n")
    doc = markdown.parse(wrapped)
    assert promote_plain_headings(doc) is doc  # "root cause" mid-sentence is not a heading
    with_headings = "# Title\n\n## Summary\nText.\n\nRoot Cause\nThe cache.\n\n## Actions\n- Fix it.\n"
    doc = markdown.parse(with_headings)
    assert promote_plain_headings(doc) is doc  # a Markdown document's own headings decide
    dated = markdown.parse("December 1, 2025\n\nImpact\nNone.\n")
    assert [b.kind for b in promote_plain_headings(dated).blocks] == ["paragraph", "heading", "paragraph"]


def test_a_date_long_before_publication_is_history_not_the_incident():
    pm = parse("Published December 19, 2023\n\nWe took the service down today. Our original launch post from "
               "20.08.2021 describes the filters.\n", "2023-12-19-review.md")
    assert pm.started_at is None or pm.started_at.year == 2023


# A provider's incident report: capitalised plain-line headings, the zone named once.
PROVIDER_REPORT = """Incident Report: Elevated errors for the Blob API

ISSUE SUMMARY

On Tuesday, 14 October 2025, the Blob API returned errors in one region for two hours.

DETAILED DESCRIPTION OF IMPACT

On Tuesday, 14 October 2025 from 09:42 to 11:53 US/Pacific, a quarter of Blob API requests failed.

ROOT CAUSE

A new index build changed its file format, and replicas still on the old build could not load it.

REMEDIATION AND PREVENTION

Automated monitoring alerted engineers at 09:47, and the rollout was halted at 10:20.

We are taking the following steps:
- Keep the index format readable by the previous release.
"""


def test_capitalised_headings_and_a_zone_named_once():
    pm = parse(PROVIDER_REPORT)
    assert [key for _, _, key, _ in pm.headings][1:] == ["summary", "impact", "root_causes", "action_items"]
    # 09:42 PDT on the 14th, not the 13th: a date alone is the day as written.
    assert pm.started_at == datetime(2025, 10, 14, 16, 42, tzinfo=timezone.utc)
    assert pm.resolved_at == datetime(2025, 10, 14, 18, 53, tzinfo=timezone.utc)
    # The bare 09:47 later on is in the zone the text named.
    assert pm.detected_at == datetime(2025, 10, 14, 16, 47, tzinfo=timezone.utc)
    assert any("index format" in a.text for a in pm.action_items)


def test_bold_labels_under_an_exported_title_and_a_labelled_incident_date(tmp_path):
    from pipelines.warehouse.ingest import explain_file

    page = tmp_path / "pir-142.html"
    page.write_text("<html><head><title>PIR-142 Payment webhook delays</title></head><body>"
                    "<p><strong>Incident date:</strong> 2025-06-03</p>"
                    "<p><strong>Summary:</strong> Payment webhooks were delayed by up to 50 minutes.</p>"
                    "<p><strong>Root Cause:</strong> The dispatcher retried a timing-out endpoint without backoff, "
                    "and its queue filled up.</p>"
                    "<p><strong>Resolution:</strong> We disabled retries for the endpoint and drained the queue.</p>"
                    "</body></html>", encoding="utf-8")
    pm = explain_file(page)[0].postmortem
    assert pm.title == "PIR-142 Payment webhook delays"
    assert pm.started_at == datetime(2025, 6, 3, tzinfo=timezone.utc) and pm.postmortem_published_at is None
    assert [c.description for c in pm.root_causes] == [
        "The dispatcher retried a timing-out endpoint without backoff, and its queue filled up."]
    assert pm.summary == "Payment webhooks were delayed by up to 50 minutes."


def test_a_sentence_that_introduces_a_list_is_not_a_heading():
    doc = markdown.parse("Everything recovered by noon.\nThe following services were impacted:\n\n- Search\n")
    assert promote_plain_headings(doc) is doc


# Confluence's incident template opens with a table of fields (page properties).
FIELD_TABLE = """# PIR: Search indexing delays

| Field | Value |
|---|---|
| Incident date | 2025-09-08 |
| Detected | 2025-09-08 10:15 UTC |
| Resolved | 2025-09-08 12:40 UTC |
| Root cause | A schema migration added a column without a default, so the indexer rejected new documents. |
| Owner | search-platform |

## What happened

New documents did not appear in search results for two and a half hours.
"""


def test_a_table_of_fields_gives_its_dates_and_sections():
    from pipelines.warehouse.rows import postmortem_rows

    pm = parse(FIELD_TABLE)
    assert pm.detected_at == datetime(2025, 9, 8, 10, 15, tzinfo=timezone.utc)
    assert pm.resolved_at == datetime(2025, 9, 8, 12, 40, tzinfo=timezone.utc)
    assert [(c.line, c.description) for c in pm.root_causes] == [
        (8, "A schema migration added a column without a default, so the indexer rejected new documents.")]
    assert pm.summary == "New documents did not appear in search results for two and a half hours."
    # "Incident date" names a day: it dates the incident, but minutes from its midnight are no duration.
    assert pm.started_at == datetime(2025, 9, 8, tzinfo=timezone.utc)
    row = postmortem_rows([pm], datetime(2025, 9, 9, tzinfo=timezone.utc))["postmortems"][0]
    assert row["incident_date"].isoformat() == "2025-09-08"
    assert row["minutes_to_detect"] is None and row["minutes_to_resolve"] is None
    assert row["started_at_source"] == "text, day only"


# A status page's update log, pasted: newest first, each update's date on its own line.
STATUS_LOG = """Degraded transcription latency

Resolved - This incident has been resolved.
Apr 2, 2026 - 09:55 UTC

Monitoring
We rolled back the audio decoder release and latency is back to normal.
Posted Apr 2, 2026 - 09:31 UTC

Identified - The latency came from a decoder release that disabled batching.
Apr 2, 2026 - 09:12 UTC

Investigating - We are investigating slow transcription requests.
Apr 2, 2026 - 08:47 UTC
"""


def test_a_status_page_update_log_is_the_timeline_oldest_first():
    pm = parse(STATUS_LOG)
    assert [(e.at.strftime("%H:%M"), e.kind) for e in pm.timeline] == [
        ("08:47", "detection"), ("09:12", "diagnosis"), ("09:31", "mitigation"), ("09:55", "resolution")]
    assert pm.timeline[2].text == "We rolled back the audio decoder release and latency is back to normal."
    assert pm.detected_at == datetime(2026, 4, 2, 8, 47, tzinfo=timezone.utc)
    assert pm.resolved_at == datetime(2026, 4, 2, 9, 55, tzinfo=timezone.utc)
    assert not any("rolled back" in a.text for a in pm.action_items)  # an update tells, it does not commit


def test_a_date_after_today_is_noted_and_not_used():
    pm = parse("# Example outage report\n\nOn April 30, 2077 at 18:19 UTC the API failed. It recovered at 19:58 UTC.\n")
    assert pm.started_at is None and pm.resolved_at is None
    kinds = [kind for _, kind, _ in pm.notes]
    assert kinds.count("future_date") >= 1 and "no_start_date" in kinds
    assert any("2077-04-30" in detail and "check the year" in detail for _, _, detail in pm.notes)
