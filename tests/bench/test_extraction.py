"""The extraction benchmark's scoring rule: the set's match phrases, one extracted item per label."""

from bench.extraction import score


def test_a_long_item_naming_two_labels_does_not_hide_the_item_that_names_one():
    labels = [{"match": ["stale index"]}, {"match": ["empty export"]}]
    extracted = ["The empty export left a stale index.", "A stale index was served for hours."]
    found, matched, hits = score(labels, extracted)
    assert (found, matched) == (2, 2)
    assert hits == [1, 0]


def test_an_item_matches_at_most_one_label_and_phrases_ignore_case_and_line_breaks():
    labels = [{"match": ["stale\nindex"]}, {"match": ["STALE INDEX"]}]
    found, matched, hits = score(labels, ["A Stale   index"])
    assert (found, matched) == (1, 1)
    assert sorted(hits) == [-1, 0]
