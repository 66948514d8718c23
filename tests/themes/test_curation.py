from __future__ import annotations

import pytest

from pipelines.themes.curation import (
    NOT_A_THEME_REASON,
    CurationError,
    apply_curation,
    load_curation,
    theme_match,
    written_against,
)

ASSIGNED = {"i1": "RC-001", "i2": "RC-001", "i3": "RC-002", "i4": "RC-003", "i5": "RC-003", "i6": None}
TEXTS = {"i1": "stale index", "i2": "context window overflow", "i3": "rate limit", "i4": "x", "i5": "y", "i6": "z"}
RECORDED = {"RC-001": ["i1", "i2"], "RC-002": ["i3"], "RC-003": ["i4", "i5"]}


def test_rename_merge_split_pin_and_not_a_theme():
    rules = {
        "written_against": RECORDED,
        "merge": [{"into": "RC-001", "from": ["RC-002"]}],
        "split": [{"from": "RC-001", "name": "Context window overflow", "keywords": ["context window"]}],
        "pin": {"i6": "RC-001"},
        "not_a_theme": ["RC-003"],
        "rename": {"RC-001": "Stale retrieval index", "RC-001.1": "Overflow (renamed)"},
    }
    result = apply_curation(ASSIGNED, TEXTS, rules)
    assert result.theme_of == {"i1": "RC-001", "i2": "RC-001.1", "i3": "RC-001", "i4": None, "i5": None,
                               "i6": "RC-001"}
    assert result.names == {"RC-001": "Stale retrieval index", "RC-001.1": "Overflow (renamed)"}
    assert result.pinned == {"i6"}
    assert result.reasons["i4"] == NOT_A_THEME_REASON
    assert result.warnings == [] and result.stale == []


def test_a_rule_for_a_theme_id_that_now_means_another_theme_is_stale():
    # Another store, or a re-clustering: RC-001 exists but holds other items.
    elsewhere = {"x1": "RC-001", "x2": "RC-001", "x3": "RC-002"}
    rules = {"written_against": RECORDED, "rename": {"RC-001": "Stale retrieval index"},
             "merge": [{"into": "RC-001", "from": ["RC-002"]}], "not_a_theme": ["RC-002"]}
    result = apply_curation(elsewhere, {}, rules)
    assert result.theme_of == elsewhere and result.names == {}
    assert len(result.stale) == 3
    assert all("not the theme it was written against" in s and "0 of the" in s for s in result.stale)


def test_rules_follow_their_items_when_a_fresh_build_numbers_the_themes_anew():
    # The same three themes, numbered in another order: every rule lands on its own items.
    renumbered = {"i1": "RC-003", "i2": "RC-003", "i3": "RC-001", "i4": "RC-002", "i5": "RC-002", "i6": None}
    rules = {"written_against": RECORDED, "rename": {"RC-001": "Stale retrieval index", "RC-002": "Rate limits"},
             "not_a_theme": ["RC-003"], "pin": {"i6": "RC-002"}}
    result = apply_curation(renumbered, TEXTS, rules)
    assert result.names == {"RC-003": "Stale retrieval index", "RC-001": "Rate limits"}
    assert result.theme_of == {"i1": "RC-003", "i2": "RC-003", "i3": "RC-001", "i4": None, "i5": None, "i6": "RC-001"}
    assert result.followed == {"RC-001": "RC-003", "RC-002": "RC-001", "RC-003": "RC-002"} and result.stale == []
    assert written_against(rules, {"RC-003": ["i1", "i2"], "RC-001": ["i3"], "RC-002": ["i4", "i5"]}) == RECORDED


def test_two_curated_themes_the_clustering_merged_keep_one_set_of_rules():
    merged = {"i1": "RC-001", "i2": "RC-001", "i3": "RC-001", "i4": "RC-003", "i5": "RC-003"}
    rules = {"written_against": {"RC-001": ["i1", "i2"], "RC-007": ["i3"]},
             "rename": {"RC-001": "Stale retrieval index", "RC-007": "Rate limits"}}
    result = apply_curation(merged, {}, rules)
    assert result.names == {"RC-001": "Stale retrieval index"}
    [stale] = result.stale
    assert "RC-007" in stale and "now theme RC-001" in stale


def test_a_rule_with_nothing_recorded_is_stale_and_says_how_to_fix_it():
    result = apply_curation(ASSIGNED, TEXTS, {"rename": {"RC-001": "x"}})
    assert result.names == {}
    [stale] = result.stale
    assert "RC-001" in stale and "nothing recorded under written_against" in stale


def test_a_theme_stays_recognisable_while_it_grows_but_not_once_it_swallowed_another():
    assert theme_match({"a", "b", "c", "d"}, {"a", "b", "c", "e", "f"})[0]  # grew by two, lost one
    assert not theme_match({"a", "b", "c", "d"}, {"a", "e", "f"})[0]  # lost three of four
    ok, why = theme_match({"a", "b"}, {"a", "b", *(f"n{i}" for i in range(10))})
    assert not ok and "17%" in why


def test_written_against_records_every_theme_the_rules_name():
    rules = {"rename": {"RC-001": "x", "RC-001.1": "y"}, "split": [{"from": "RC-001", "items": ["i2"]}],
             "merge": [{"into": "RC-003", "from": ["RC-002"]}], "pin": {"i6": "RC-001"}}
    members = {"RC-001": ["i2", "i1"], "RC-002": ["i3"], "RC-003": ["i4", "i5"], "RC-004": ["i9"]}
    assert written_against(rules, members) == {"RC-001": ["i1", "i2"], "RC-002": ["i3"], "RC-003": ["i4", "i5"]}


def test_rules_about_missing_items_warn_instead_of_failing():
    result = apply_curation(ASSIGNED, TEXTS, {"written_against": RECORDED, "pin": {"nope": "RC-001"},
                                              "split": [{"from": "RC-001", "items": ["zz"]}]})
    assert result.theme_of == ASSIGNED
    assert len(result.warnings) == 2
    assert any("nope" in w for w in result.warnings) and any("nothing in RC-001" in w for w in result.warnings)


def test_load_curation_reports_bad_yaml_with_line(tmp_path):
    path = tmp_path / "themes.yaml"
    path.write_text("version: 2\nroot_cause:\n  rename: {RC-001: [oops\n")
    with pytest.raises(CurationError, match=r"themes.yaml:\d+"):
        load_curation(path)
    assert load_curation(tmp_path / "missing.yaml") == {}
    path.write_text("version: 3\n")
    with pytest.raises(CurationError, match="version 3"):
        load_curation(path)
