from __future__ import annotations

import re

import pytest

from pipelines.postmortems import blame
from pipelines.postmortems.blame import BlameDetector, blame_matches, blamed_people, is_blame


@pytest.mark.parametrize("sentence, person", [
    ("Maria approved the prompt.", "Maria"),
    ("The outage was caused by Tom Becker.", "Tom Becker"),
    ("Tom Becker's change broke the cache.", "Tom Becker"),
    ("Maria, the on-call SRE, forgot to page the provider.", "Maria"),
    ("engineer Sam merged it without review", "Sam"),
])
def test_a_person_with_an_approving_or_causal_verb_is_blame(sentence, person):
    assert blamed_people(sentence) == [person]


@pytest.mark.parametrize("sentence", [
    "Pinecone changed its API.",
    "The nightly job failed to check the export.",
    "Google Cloud caused the regional outage.",
    "Maria restored the index and paged the team.",
    "A prediction messed up by its normalization.",
])
def test_vendors_jobs_and_mitigation_are_not_blame(sentence):
    assert not is_blame(sentence)


def test_quoted_model_outputs_are_not_checked():
    text = 'The bot wrote "Maria approved your refund" twice.\n> Tom forgot your order.\n```\nSam broke it\n```\n'
    assert blame_matches(text) == []
    assert blame_matches(text + "Sam broke it.\n") == [(6, "Sam broke")]


def test_a_stores_own_names_count_as_people():
    assert not is_blame("Zed approved the prompt.")
    assert BlameDetector(["Zed Okafor"]).people("Zed approved the prompt.") == ["Zed"]


def test_no_pattern_nests_or_chains_unbounded_quantifiers():
    # Linear time by construction: an unbounded quantifier inside a repeated group, or two
    # unbounded ones side by side, is how a regex goes exponential or quadratic.
    patterns = [v.pattern for v in vars(blame).values() if isinstance(v, re.Pattern)]
    assert len(patterns) >= 8
    for pattern in patterns:
        assert not re.search(r"\([^()]*[+*]\)[+*{]", pattern), pattern
        assert not re.search(r"[+*]\)?[^|()]{0,3}[+*]", pattern.replace("\\\\", "")), pattern


def test_pathological_lines_are_read_whole():
    heading = "# " + "Maria Becker " * 800
    assert blamed_people(heading.rstrip() + " broke it") == ["Maria Becker"]
    assert blame_matches("Maria" + " " * 2000 + "approved") == []
