"""Curation that survives re-clustering and never hits the wrong theme.

People rename a theme, merge two, split items out of one, pin an item to a theme, or mark a
cluster as not a real theme, in a YAML file reviewed like code. Themes keep their ids across
runs (pipelines.themes.track), so rules are written against ids; but an id alone is not
enough: on another store, or after the clustering changed shape, RC-001 is a different theme.
So the file also records what each theme was when the rules were written, its items
(`written_against`), and a rule applies only while its theme is still recognisably that
theme: at least MIN_KEPT of the recorded items are still in it, and they make up at least
MIN_SHARE of it. Otherwise the rule is reported as stale, with the reason, and the theme keeps
its generated name. A rule about a theme with nothing recorded is stale too: write
`written_against` (`emberline curate --record` prints it from the warehouse).

    version: 2
    root_cause:            # or eval_gap
      written_against:     # the clustering's own members of each theme the rules name
        RC-003: [PM-2025-015#1, PM-2025-028#1, PM-2026-032#2]
      rename: {RC-003: Prompt changes shipped without the eval suite}
      merge: [{into: RC-003, from: [RC-011]}]
      split: [{from: RC-005, name: Context window overflow, items: [PM-2025-019#1], id: RC-005.1}]
      pin: {PM-2026-014#2: RC-004}
      not_a_theme: [RC-009]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

SUPPORTED_VERSIONS = (1, 2)
NOT_A_THEME_REASON = "its cluster is marked not a real theme in the curation file"
WRITTEN_AGAINST = "written_against"
# A theme is still the one a rule was written for while at least half of the items recorded
# for it are still in it, and those items are at least a quarter of it (a theme may grow as
# incidents join, but one that swallowed another is no longer the same theme).
MIN_KEPT = 0.5
MIN_SHARE = 0.25


class CurationError(ValueError):
    """The curation file cannot be read: the message names the file and line."""


@dataclass
class CurationResult:
    theme_of: dict[str, str | None]  # item id -> theme id after curation
    names: dict[str, str] = field(default_factory=dict)  # curated names
    reasons: dict[str, str] = field(default_factory=dict)  # item id -> why unclustered / pinned
    pinned: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # rules not applied: their theme changed


def load_curation(path: Path | str | None) -> dict:
    if path is None or not Path(path).exists():
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise CurationError(f"{where}: the theme curation file is not valid YAML ({getattr(err, 'problem', err)})") from err
    if not isinstance(data, dict):
        raise CurationError(f"{path}: expected a mapping with 'version' and theme sets")
    version = data.get("version", SUPPORTED_VERSIONS[-1])
    if version not in SUPPORTED_VERSIONS:
        raise CurationError(f"{path}: version {version} is not supported (expected one of "
                            f"{', '.join(map(str, SUPPORTED_VERSIONS))})")
    return data


def theme_match(recorded: set[str], current: set[str]) -> tuple[bool, str]:
    """Is the theme with members `current` still the one whose members were `recorded`?
    (yes or no, and why, in words)."""
    if not recorded:
        return False, f"nothing recorded under {WRITTEN_AGAINST} for it"
    if not current:
        return False, "the theme does not exist in this run"
    kept = len(recorded & current)
    if kept < MIN_KEPT * len(recorded):
        return False, (f"only {kept} of the {len(recorded)} items it was written against are still in it "
                       f"(needs {MIN_KEPT:.0%})")
    if kept < MIN_SHARE * len(current):
        return False, (f"the {kept} items it was written against are only {kept / len(current):.0%} of its "
                       f"{len(current)} items now (needs {MIN_SHARE:.0%})")
    return True, f"{kept} of {len(recorded)} recorded items still in it"


class _Recognised:
    """Which theme ids of this run are still the themes the rules were written against."""

    def __init__(self, theme_of: dict[str, str | None], recorded: dict):
        self.members: dict[str, set[str]] = {}
        for item, theme in theme_of.items():
            if theme:
                self.members.setdefault(theme, set()).add(item)
        self.recorded = {str(k): {str(i) for i in (v or [])} for k, v in (recorded or {}).items()}
        self._cache: dict[str, tuple[bool, str]] = {}

    def check(self, theme: str) -> tuple[bool, str]:
        if theme not in self._cache:
            self._cache[theme] = theme_match(self.recorded.get(theme, set()), self.members.get(theme, set()))
        return self._cache[theme]


def apply_curation(theme_of: dict[str, str | None], texts: dict[str, str], rules: dict | None) -> CurationResult:
    """Apply one theme set's rules to item -> theme assignments (the clustering's own)."""
    result = CurationResult(dict(theme_of))
    rules = rules or {}
    recognised = _Recognised(theme_of, rules.get(WRITTEN_AGAINST))
    created: set[str] = set()  # ids made by split rules: checked through the theme they came from

    def usable(kind: str, theme: str, what: str) -> bool:
        if theme in created:
            return True
        ok, why = recognised.check(theme)
        if not ok:
            result.stale.append(f"{kind} {what}: not applied, theme {theme} is not the theme it was written "
                                f"against ({why})")
        return ok

    for entry in rules.get("merge") or []:
        target = str(entry.get("into", ""))
        sources = [str(s) for s in (entry.get("from") or [])]
        if not usable("merge", target, f"into {target}"):
            continue
        for source in sources:
            if not usable("merge", source, f"{source} into {target}"):
                continue
            for item, theme in result.theme_of.items():
                if theme == source:
                    result.theme_of[item] = target

    for n, entry in enumerate(rules.get("split") or [], start=1):
        source = str(entry.get("from", ""))
        new_id = str(entry.get("id") or f"{source}.{n}")
        if not usable("split", source, f"of {source} into {new_id}"):
            continue
        items = {str(i) for i in entry.get("items") or []}
        keywords = [str(k).lower() for k in entry.get("keywords") or []]
        moved = [item for item, theme in result.theme_of.items() if theme == source and
                 (item in items or any(k in texts.get(item, "").lower() for k in keywords))]
        if not moved:
            result.warnings.append(f"split: nothing in {source} matched; {new_id} not created")
            continue
        created.add(new_id)
        for item in moved:
            result.theme_of[item] = new_id
        if entry.get("name"):
            result.names[new_id] = str(entry["name"])

    for item, theme in (rules.get("pin") or {}).items():
        item, theme = str(item), str(theme)
        if item not in result.theme_of:
            result.warnings.append(f"pin: item {item} does not exist")
            continue
        if not usable("pin", theme, f"of {item} to {theme}"):
            continue
        result.theme_of[item] = theme
        result.pinned.add(item)
        result.reasons[item] = "pinned in the curation file"

    for theme in rules.get("not_a_theme") or []:
        theme = str(theme)
        if not usable("not_a_theme", theme, theme):
            continue
        for item, t in result.theme_of.items():
            if t == theme and item not in result.pinned:
                result.theme_of[item] = None
                result.reasons[item] = NOT_A_THEME_REASON

    final = {t for t in result.theme_of.values() if t}
    for theme, name in (rules.get("rename") or {}).items():
        theme = str(theme)
        if not usable("rename", theme, f"of {theme} to '{name}'"):
            continue
        if theme in final:
            result.names[theme] = str(name)
        else:
            result.warnings.append(f"rename: theme {theme} has no items after the other rules")
    return result


def referenced_themes(rules: dict | None) -> list[str]:
    """Every theme id a theme set's rules name (split targets excluded: the rules make them)."""
    rules = rules or {}
    created = {str(e.get("id") or f"{e.get('from')}.{n}") for n, e in enumerate(rules.get("split") or [], 1)}
    named: list[str] = []
    for entry in rules.get("merge") or []:
        named += [str(entry.get("into", "")), *(str(s) for s in entry.get("from") or [])]
    named += [str(e.get("from", "")) for e in rules.get("split") or []]
    named += [str(t) for t in (rules.get("pin") or {}).values()]
    named += [str(t) for t in rules.get("not_a_theme") or []]
    named += [str(t) for t in rules.get("rename") or {}]
    return sorted({t for t in named if t and t not in created})


def written_against(rules: dict | None, cluster_members: dict[str, list[str]]) -> dict[str, list[str]]:
    """The `written_against` block for a theme set's rules: the clustering's current members of
    each theme they name (what `emberline curate --record` prints)."""
    return {theme: sorted(cluster_members.get(theme, [])) for theme in referenced_themes(rules)
            if cluster_members.get(theme)}
