from __future__ import annotations

import pytest

from pipelines.themes.curation import NOT_A_THEME_REASON, CurationError, apply_curation, load_curation

ASSIGNED = {"i1": "RC-001", "i2": "RC-001", "i3": "RC-002", "i4": "RC-003", "i5": "RC-003", "i6": None}
TEXTS = {"i1": "stale index", "i2": "context window overflow", "i3": "rate limit", "i4": "x", "i5": "y", "i6": "z"}


def test_rename_merge_split_pin_and_not_a_theme():
    rules = {
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
    assert result.warnings == []


def test_rules_about_missing_themes_warn_instead_of_failing():
    result = apply_curation(ASSIGNED, TEXTS, {"rename": {"RC-099": "x"}, "merge": [{"into": "RC-098", "from": []}],
                                              "pin": {"nope": "RC-001"}, "not_a_theme": ["RC-097"]})
    assert result.theme_of == ASSIGNED
    assert len(result.warnings) == 4 and all("RC-09" in w or "nope" in w for w in result.warnings)


def test_load_curation_reports_bad_yaml_with_line(tmp_path):
    path = tmp_path / "themes.yaml"
    path.write_text("version: 1\nroot_cause:\n  rename: {RC-001: [oops\n")
    with pytest.raises(CurationError, match=r"themes.yaml:\d+"):
        load_curation(path)
    assert load_curation(tmp_path / "missing.yaml") == {}
    path.write_text("version: 2\n")
    with pytest.raises(CurationError, match="version 2"):
        load_curation(path)
