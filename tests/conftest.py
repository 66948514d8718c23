"""Shared fixtures. The sample warehouse is built once per session from the bundled store."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# scikit-learn's estimator checks include an array-API conformance check that SciPy only allows
# when this is set before SciPy is first imported; with NumPy inputs it changes no results.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_STORE = PROJECT_ROOT / "data" / "postmortems"
TEMPLATE = PROJECT_ROOT / "data" / "templates" / "postmortem.md"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def postmortem(incident_id: str = "PM-2026-001", title: str = "Support bot quoted a retired refund policy",
               *, started: str = "2026-03-02T14:05:00+00:00", resolved: str = "2026-03-02T18:00:00+00:00",
               published: str = "2026-03-04T10:00:00+00:00", status: str = "published",
               causes: str | None = None, extra: str = "") -> str:
    """A complete post-mortem in the documented format, with a few knobs for tests."""
    causes = causes or """
        ### 1. Nightly re-index failed silently
        - Category: retrieval
        - Description: The re-index job exited 0 on an empty export, so the index kept last week's articles.
        - Why evals missed it: The eval suite runs against a fixed fixture index, never the live one.
        """
    return textwrap.dedent(f"""
        ---
        id: {incident_id}
        title: {title}
        status: {status}
        severity: SEV2
        started_at: {started}
        detected_at: 2026-03-02T15:00:00+00:00
        mitigated_at: 2026-03-02T16:30:00+00:00
        resolved_at: {resolved}
        postmortem_published_at: {published}
        team: support-ai
        services: [support-assistant]
        customer_impact:
          summary: About 300 chats got outdated refund terms
          customers_affected: 300
        publication: internal
        tags: [retrieval]
        ai:
          provider: openai
          model: gpt-4o
          model_version: 2024-08-06
          temperature: 0.2
          top_p: 1.0
          max_tokens: 800
          system_prompt_version: support-v14
          retrieval_index_version: kb-2026-02-27
        ---

        # {title}

        ## Summary
        The assistant quoted a refund policy that was retired a week earlier.

        ## Timeline
        - 2026-03-02 14:05 — Nightly re-index job finished with an empty export.
        - 2026-03-02 15:00 — PagerDuty alert fired on the answer-feedback dashboard.
        - 2026-03-02 15:40 — Langfuse traces showed retrieved articles were a week old.
        - 2026-03-02 16:30 — Rolled the index back to the last good snapshot.
        - 2026-03-02 18:00 — Resolved.

        ## Root causes
        @@CAUSES@@

        ## Mitigation and action items
        ### Immediate fix
        Restored the previous index snapshot.

        ### New eval case
        - Eval case: evals/support/refund-policy-freshness.yaml
        - Checks: answers about refunds cite an article updated after the last policy change.

        ### Systemic prevention
        | Action | Owner | Deadline | Status |
        |---|---|---|---|
        | Fail the re-index job on an empty export | search-platform | 2026-03-20 | done |
        | Alert on index age over 26 hours | support-ai | 2026-04-01 | open |

        ## Prompt diff
        ```diff
        - Answer from the retrieved articles.
        + Answer only from retrieved articles updated in the last 30 days.
        ```

        ## Model version and config
        gpt-4o 2024-08-06, temperature 0.2; unchanged.

        ## Sample failing outputs
        > You can get a full refund within 60 days, [CUSTOMER_NAME].

        > Our 60-day refund window applies to order [ORDER_ID].

        ## Eval coverage gap analysis
        No eval checked that answers reflect the current policy; the fixture index never goes stale.
        @@EXTRA@@
        """).lstrip("\n").replace("@@CAUSES@@", textwrap.dedent(causes).strip()).replace(
        "@@EXTRA@@", textwrap.dedent(extra).strip())


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "postmortems"
    path.mkdir()
    return path
