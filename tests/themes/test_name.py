from __future__ import annotations

import numpy as np

from pipelines.themes.items import root_cause_text
from pipelines.themes.name import (
    FALLBACK_NAME,
    MAX_NAME_WORDS,
    MIN_NAME_WORDS,
    STOP_WORDS,
    describe,
    distinctive_terms,
    name_candidates,
    name_themes,
    statements,
)


def test_distinctive_terms_prefer_what_sets_a_theme_apart():
    docs = [
        "The nightly re-index job failed and the retrieval index went stale. Stale index served old articles.",
        "Provider rate limit errors (429) during peak traffic; retries amplified the rate limit storm.",
        "The prompt change shipped without running the eval suite. Prompt hotfix skipped the eval suite.",
    ]
    terms = distinctive_terms(docs)
    assert "stale index" in terms[0] and "rate limit" in terms[1] and "eval suite" in terms[2]
    assert not set(terms[0]) & {"the", "and", "incident"}


THEMES = [
    ["Nightly re-index failed silently. The export was empty and the stale index served old articles.",
     "Re-index job failed silently on an empty export; the stale index stayed live for a week.",
     "Stale index after the nightly job crashed (see PM-2026-014#2, https://example.test/run/17)."],
    ["Retries amplified the rate limit storm. Every client retried 429 errors at once.",
     "No retry budget: clients retried rate limit errors without backoff / jitter.",
     "Rate limit errors from the provider during peak traffic; retries made it worse."],
    ["Prompt hotfix skipped the eval suite. The change went straight to production.",
     "The eval suite was optional on the hotfix path, so the prompt change shipped untested.",
     "Prompt change shipped without running the eval suite over the weekend."],
]


def bag_of_words_embed(texts):
    """A deterministic stand-in for the model: word counts hashed into 64 dimensions."""
    vectors = np.zeros((len(texts), 64))
    for row, text in enumerate(texts):
        for word in text.lower().split():
            vectors[row, sum(map(ord, word.rstrip("s"))) % 64] += 1
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def names_for(themes):
    vectors = [bag_of_words_embed(texts) for texts in themes]
    centroids = np.stack([v.mean(axis=0) / np.linalg.norm(v.mean(axis=0)) for v in vectors])
    return name_themes(themes, centroids, [list(range(min(3, len(t)))) for t in themes], bag_of_words_embed)


def test_names_are_phrases_in_words_from_the_theme_itself():
    names = names_for(THEMES)
    stop = set(STOP_WORDS)
    for name, texts in zip(names, THEMES):
        words = name.lower().split()
        assert MIN_NAME_WORDS <= len(words) <= MAX_NAME_WORDS, name
        assert not any(mark in name for mark in ("/", "|", ";", ",", "#")), name
        assert not any(ch.isdigit() for ch in name) and "PM-" not in name and "http" not in name, name
        assert words[0] not in stop and words[-1] not in stop, name
        assert all(w in " ".join(texts).lower() for w in words), name  # built from the theme's own texts
    assert "stale index" in names[0].lower()
    assert "rate limit" in names[1].lower()
    assert "prompt change" in names[2].lower()


def test_names_are_distinct_even_for_near_identical_themes():
    names = names_for([THEMES[0], THEMES[0][::-1], THEMES[1]])
    assert len({n.lower() for n in names}) == 3


def test_naming_is_deterministic_and_has_a_fallback():
    assert names_for(THEMES) == names_for(THEMES)
    assert names_for([["a the of", "and or but"]]) == [FALLBACK_NAME]


def test_candidates_are_recurring_terms_and_statements_that_never_cross_a_clause():
    candidates = name_candidates(THEMES[0], [0, 1, 2])
    assert candidates["stale index"] == 1.0  # every text of the theme says both words
    assert candidates["failed silently"] == 2 / 3
    terms = [c for c in candidates if c not in set().union(*map(statements, THEMES[0]))]
    assert "empty export" not in terms and "nightly job" not in terms  # once only: not a recurrence
    assert all(2 <= len(c.split()) <= 3 for c in terms)
    assert "stale index served old articles" in candidates  # a statement of the closest text
    assert not any("silently export" in c or "export stale" in c for c in candidates)


def test_statements_say_what_happened_without_cutting_a_noun_apart():
    found = statements("However, the actual pod was not replaced. Files had different sizes on TensorFlow's disk.")
    assert found["actual pod was not replaced"] == "actual pod was not replaced"
    assert "pod was not" not in found and "files had different" not in found  # cut mid-phrase
    assert "files had different sizes" in found
    assert not any(s.endswith("tensorflow's") for s in found)
    assert all(3 <= len(s.split()) for s in found)


def test_words_every_theme_uses_count_for_no_theme():
    common = " in the gateway service."
    themes = [[t.rstrip(".") + common for t in texts] for texts in THEMES]
    alone = name_candidates(themes[0], [0, 1, 2])
    against_others = name_candidates(themes[0], [0, 1, 2], {"gateway": 1.0, "service": 1.0})
    assert alone["gateway service"] == 1.0 and against_others["gateway service"] == 0.0
    assert against_others["stale index"] == 1.0
    assert not any("gateway" in name.lower() for name in names_for(themes))


def test_without_a_recurring_phrase_the_closest_texts_stand_in():
    texts = ["Badge reader firmware rejected certificates.", "Coffee machine descaling alarm ignored.",
             "Parking gate camera misread plates."]
    candidates = name_candidates(texts, [1])
    assert candidates and all(c in texts[1].lower() for c in candidates)


def test_statements_neither_lead_in_with_an_adverb_nor_stop_before_what_a_passive_was_done_by():
    found = statements("The outage was triggered by a switch update, and subsequently its API token leaked. "
                       "The normalisation step was possibly skipped. The pull request was not reviewed.")
    assert "outage was triggered" not in found  # cut before "by a switch update"
    assert "outage was triggered by switch update" in found  # one-letter words are never kept
    assert not any(s.startswith("subsequently") for s in found)
    assert "normalisation step was possibly" not in found
    assert "pull request was not reviewed" in found  # a passive that ends its clause is whole
    assert "change was inadvertently released" not in statements("A change was inadvertently released to production.")
    assert "supply chain was compromised" in statements("The supply chain was compromised.")  # not an adverb


def test_a_statement_never_spans_a_number_taken_out():
    found = statements("The bad file had more than 200 features after the change.")
    assert "bad file had more than features" not in found and not any("than features" in f for f in found)
    assert "files had different" not in statements("The files had different md5 sums.")  # cut before its noun
