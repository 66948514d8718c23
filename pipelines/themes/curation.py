"""Curation that survives re-clustering and never hits the wrong theme.

People rename a theme, merge two, split items out of one, pin an item to a theme, or mark a
cluster as not a real theme, in a YAML file reviewed like code. Themes keep their ids across
runs (pipelines.themes.track), so rules are written against ids; but an id alone is not
enough: on another store, after the clustering changed shape, or in a warehouse built afresh
(which numbers the themes anew), RC-001 is a different theme. So the file also records what
each theme was when the rules were written, its items (`written_against`), and a rule applies
to the theme that is still recognisably that theme: the theme of the same id, else the one its
recorded items moved to, as long as at least MIN_KEPT of them are in it and they make up at
least MIN_SHARE of it. Otherwise the rule is reported as stale, with the reason, and the theme
keeps its generated name. A rule about a theme with nothing recorded is stale too: write
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

from collections import Counter
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
    followed: dict[str, str] = field(default_factory=dict)  # id written in the file -> id in this run


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
    """Which theme of this run each theme the rules name now is: the theme of the same id while
    it is still recognisably that theme, else the theme its recorded items moved to together
    (a fresh build numbers the themes anew; the rules follow their items, not the number)."""

    def __init__(self, theme_of: dict[str, str | None], recorded: dict):
        self.theme_of = theme_of
        self.members: dict[str, set[str]] = {}
        for item, theme in theme_of.items():
            if theme:
                self.members.setdefault(theme, set()).add(item)
        self.recorded = {str(k): {str(i) for i in (v or [])} for k, v in (recorded or {}).items()}
        self.followed: dict[str, str] = {}  # recorded id -> the id its items carry now
        self._resolved = self._resolve_all()

    def _candidate(self, theme: str) -> tuple[str | None, str]:
        recorded = self.recorded.get(theme, set())
        ok, why = theme_match(recorded, self.members.get(theme, set()))
        if ok or not recorded:
            return (theme if ok else None), why
        holders = Counter(self.theme_of[item] for item in recorded if self.theme_of.get(item))
        if holders:
            current = min(holders, key=lambda t: (-holders[t], t))  # the theme holding most of them
            if theme_match(recorded, self.members[current])[0]:
                return current, f"its items are now theme {current}"
        return None, why

    def _resolve_all(self) -> dict[str, tuple[str | None, str]]:
        resolved = {theme: self._candidate(theme) for theme in self.recorded}
        # Two recorded themes whose items now make one theme: the one that kept more of its
        # items keeps the rules; the other's are stale (the clustering merged them).
        claims: dict[str, list[str]] = {}
        for theme, (current, _) in resolved.items():
            if current:
                claims.setdefault(current, []).append(theme)
        for current, themes in claims.items():
            themes.sort(key=lambda t: (-len(self.recorded[t] & self.members[current]), t != current, t))
            for loser in themes[1:]:
                resolved[loser] = (None, f"its items are now theme {current}, which the rules of {themes[0]} "
                                         "are about")
        for theme, (current, _) in resolved.items():
            if current and current != theme:
                self.followed[theme] = current
        return resolved

    def resolve(self, theme: str) -> tuple[str | None, str]:
        """(the id the rules about `theme` apply to in this run, or None when stale; why)."""
        if theme not in self._resolved:
            return None, f"nothing recorded under {WRITTEN_AGAINST} for it"
        return self._resolved[theme]


def apply_curation(theme_of: dict[str, str | None], texts: dict[str, str], rules: dict | None) -> CurationResult:
    """Apply one theme set's rules to item -> theme assignments (the clustering's own)."""
    result = CurationResult(dict(theme_of))
    rules = rules or {}
    recognised = _Recognised(theme_of, rules.get(WRITTEN_AGAINST))
    created: set[str] = set()  # ids made by split rules: checked through the theme they came from

    def current(kind: str, theme: str, what: str) -> str | None:
        """The id `theme` has in this run, or None (and the rule reported stale)."""
        if theme in created:
            return theme
        resolved, why = recognised.resolve(theme)
        if resolved is None:
            result.stale.append(f"{kind} {what}: not applied, theme {theme} is not the theme it was written "
                                f"against ({why})")
        return resolved

    for entry in rules.get("merge") or []:
        written_target = str(entry.get("into", ""))
        target = current("merge", written_target, f"into {written_target}")
        if target is None:
            continue
        for written_source in (str(s) for s in (entry.get("from") or [])):
            source = current("merge", written_source, f"{written_source} into {written_target}")
            if source is None:
                continue
            for item, theme in result.theme_of.items():
                if theme == source:
                    result.theme_of[item] = target

    for n, entry in enumerate(rules.get("split") or [], start=1):
        written_source = str(entry.get("from", ""))
        new_id = str(entry.get("id") or f"{written_source}.{n}")
        source = current("split", written_source, f"of {written_source} into {new_id}")
        if source is None:
            continue
        items = {str(i) for i in entry.get("items") or []}
        keywords = [str(k).lower() for k in entry.get("keywords") or []]
        moved = [item for item, theme in result.theme_of.items() if theme == source and
                 (item in items or any(k in texts.get(item, "").lower() for k in keywords))]
        if not moved:
            result.warnings.append(f"split: nothing in {written_source} matched; {new_id} not created")
            continue
        created.add(new_id)
        for item in moved:
            result.theme_of[item] = new_id
        if entry.get("name"):
            result.names[new_id] = str(entry["name"])

    for item, written in (rules.get("pin") or {}).items():
        item, written = str(item), str(written)
        if item not in result.theme_of:
            result.warnings.append(f"pin: item {item} does not exist")
            continue
        theme = current("pin", written, f"of {item} to {written}")
        if theme is None:
            continue
        result.theme_of[item] = theme
        result.pinned.add(item)
        result.reasons[item] = "pinned in the curation file"

    for written in rules.get("not_a_theme") or []:
        theme = current("not_a_theme", str(written), str(written))
        if theme is None:
            continue
        for item, t in result.theme_of.items():
            if t == theme and item not in result.pinned:
                result.theme_of[item] = None
                result.reasons[item] = NOT_A_THEME_REASON

    final = {t for t in result.theme_of.values() if t}
    for written, name in (rules.get("rename") or {}).items():
        theme = current("rename", str(written), f"of {written} to '{name}'")
        if theme is None:
            continue
        if theme in final:
            result.names[theme] = str(name)
        else:
            result.warnings.append(f"rename: theme {written} has no items after the other rules")
    result.followed = dict(recognised.followed)
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
    each theme they name, or of the theme its recorded items moved to (what `emberline curate
    --record` prints)."""
    theme_of = {item: theme for theme, items in cluster_members.items() for item in items}
    recognised = _Recognised(theme_of, (rules or {}).get(WRITTEN_AGAINST))
    out = {}
    for theme in referenced_themes(rules):
        resolved, _ = recognised.resolve(theme)  # a theme whose items moved: where they are now
        members = cluster_members.get(resolved or theme)
        if members:
            out[theme] = sorted(members)
    return out
