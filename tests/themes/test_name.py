from __future__ import annotations

import numpy as np

from pipelines.themes.items import root_cause_text
from pipelines.themes.name import describe, distinctive_terms, theme_name


def test_distinctive_terms_prefer_what_sets_a_theme_apart():
    docs = [
        "The nightly re-index job failed and the retrieval index went stale. Stale index served old articles.",
        "Provider rate limit errors (429) during peak traffic; retries amplified the rate limit storm.",
        "The prompt change shipped without running the eval suite. Prompt hotfix skipped the eval suite.",
    ]
    terms = distinctive_terms(docs)
    assert "stale index" in terms[0] and "rate limit" in terms[1] and "eval suite" in terms[2]
    assert not set(terms[0]) & {"the", "and", "incident"}


def test_theme_name_reads_like_a_phrase_and_is_stable():
    assert theme_name(["stale index", "re-index", "nightly re-index", "freshness"]) == \
        "Stale index / re-index / nightly re-index"
    assert theme_name([]) == "Unnamed theme"


def test_describe_picks_items_closest_to_the_centroid_and_the_category_mix():
    vectors = np.array([[1, 0], [0.8, 0.6], [0.6, 0.8], [0, 1]], dtype=float)
    centroid = np.array([1.0, 0.0])
    d = describe(["a", "b", "c", "d"], vectors, centroid, ["retrieval", "retrieval", "config", None], ["x"])
    assert d.representative_idx == [0, 1, 2]
    assert d.category_mix == {"config": 0.333, "retrieval": 0.667} and d.top_category == "retrieval"


def test_root_cause_text_joins_title_and_description_once():
    assert root_cause_text("Stale index.", "The job failed.") == "Stale index. The job failed."
    assert root_cause_text("Stale index", "Stale index because the job failed.") == "Stale index because the job failed."
    assert root_cause_text("", "  Only   a description ") == "Only a description"
