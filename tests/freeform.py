"""A small store of free-form post-mortems, written for these tests: no front matter, a team's
own headings, some without any date, no severities or teams. What a real repository looks
like before it adopts the template; the dashboard, reports, run summary and init tests build
on it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write

POSTMORTEMS = {
    "2025/answers-bot-stale-prices.md": """
        # Answers bot quoted last week's prices

        Started: 2025-11-04 09:10 UTC. Resolved: 2025-11-04 11:40 UTC.

        ## What happened
        For two and a half hours the answers bot quoted prices from the previous week's catalogue.

        ## Timeline
        - 2025-11-04 09:10 nightly export finished with zero rows
        - 2025-11-04 10:20 support noticed complaints about old prices
        - 2025-11-04 11:40 index rebuilt from a fresh export

        ## Root cause
        The nightly export produced an empty file and the index job kept the old documents without failing.

        ## Follow-ups
        - [x] Fail the index job on an empty export (owner: search team)
        - [ ] Alert when the index is older than a day (owner: search team, due 2026-01-15)
        """,
    "2025/queue-backlog.md": """
        # Ticket summaries stuck behind a backlog

        ## Summary
        Summaries for new tickets arrived hours late because the queue consumer stopped scaling.

        ## Contributing factors
        - The autoscaler read a metric that had been renamed, so it saw no load.
        - Nobody was paged because the latency alert only covered the API, not the queue.

        ## Action items
        - Point the autoscaler at the new metric name
        - Add a queue age alert
        """,
    "2026/refund-policy-hallucinated.md": """
        # Assistant invented a refund window

        Date: 2026-02-17

        ## Impact
        About forty customers were told they had sixty days to ask for a refund; the policy says thirty.

        ## What went wrong
        A prompt edit removed the instruction to answer only from retrieved policy text.
        The eval set had no question about refund windows, so the change passed.

        ## Lessons learned
        Prompt edits need the same review as code.

        ## Next steps
        - [ ] Add refund-window questions to the eval set (owner: assistant team, due 2026-03-01)
        """,
    "notes/cache-outage.md": """
        # Cache cluster failover took the search page down

        ## Summary
        A failover of the cache cluster left the search page without a cache for forty minutes.

        ## Root causes
        The client library did not retry against the new primary and kept its old connection pool.

        ## Action items
        - [x] Upgrade the client library (owner: platform team)
        """,
    "notes/translation-drift.md": """
        # Translations drifted to a formal register

        ## What went wrong
        After a provider upgraded the model behind an alias, translations switched to a formal register.

        ## Follow-ups
        - Pin the model version instead of the alias
        """,
}


# Recurring failures, three write-ups each in different words: enough repeated causes for
# the clustering to find themes in a free-form store (none of these has a date).
RECURRING = {
    "stale-index": (
        "The nightly re-index job failed silently and the search index kept serving last week's documents.",
        "Our document index was never refreshed because the indexing job exited cleanly on an empty export.",
        "Retrieval returned outdated articles: the index rebuild job had been failing without any alert.",
    ),
    "retry-storm": (
        "Client retries without backoff multiplied the load on the model provider until every request was throttled.",
        "A retry loop in the SDK hammered the provider during its slowdown, so rate limits hit all our traffic.",
        "Aggressive retries on timeouts turned a short provider hiccup into a storm of throttled requests.",
    ),
    "prompt-without-evals": (
        "A prompt change went to production without running the regression evals, and answers lost their citations.",
        "The system prompt was edited directly in the admin tool, bypassing the eval suite that would have failed.",
        "An untested prompt edit shipped because the eval gate was optional for prompt-only changes.",
    ),
    "truncation": (
        "Long inputs were silently truncated at the token limit, so the model never saw the end of the document.",
        "The context window filled up and the tail of each contract was cut off without a warning.",
        "Inputs above the maximum token count were clipped, and the extraction missed fields near the end.",
    ),
}


def _recurring_postmortem(pattern: str, n: int, cause: str) -> str:
    title = f"{pattern.replace('-', ' ').capitalize()} again ({n + 1})"
    return f"""
        # {title}

        ## What happened
        Users got wrong or slow answers for most of an afternoon.

        ## Root cause
        {cause}

        ## Follow-ups
        - Add an alert for this failure
        """


# The ones that give no date anywhere: a store of only these has no week, quarter or duration.
UNDATED = ("2025/queue-backlog.md", "notes/cache-outage.md", "notes/translation-drift.md")


def write_freeform_store(store: Path, *, undated_only: bool = False, recurring: bool = False) -> Path:
    """The free-form store; `recurring` adds twelve undated write-ups of four recurring failures."""
    for name, text in POSTMORTEMS.items():
        if name in UNDATED or not undated_only:
            write(store / name, text)
    if recurring:
        for pattern, causes in RECURRING.items():
            for n, cause in enumerate(causes):
                write(store / "recurring" / f"{pattern}-{n + 1}.md", _recurring_postmortem(pattern, n, cause))
    return store
