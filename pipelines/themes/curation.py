"""Curation that survives re-clustering: data/themes.yaml, reviewed and versioned in git.

People rename a theme, merge two, split items out of one, pin an item to a theme, or mark a
cluster as not a real theme. Themes keep their ids across runs (pipelines.themes.track), so
these decisions are written against ids and re-applied after every clustering. A decision
about a theme or item that no longer exists is reported, not fatal: themes do retire.

    version: 1
    root_cause:            # or eval_gap
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

SUPPORTED_VERSION = 1
NOT_A_THEME_REASON = "its cluster is marked not a real theme in the curation file"


class CurationError(ValueError):
    """The curation file cannot be read: the message names the file and line."""


@dataclass
class CurationResult:
    theme_of: dict[str, str | None]  # item id -> theme id after curation
    names: dict[str, str] = field(default_factory=dict)  # curated names
    reasons: dict[str, str] = field(default_factory=dict)  # item id -> why unclustered / pinned
    pinned: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


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
    version = data.get("version", SUPPORTED_VERSION)
    if version != SUPPORTED_VERSION:
        raise CurationError(f"{path}: version {version} is not supported (expected {SUPPORTED_VERSION})")
    return data


def apply_curation(theme_of: dict[str, str | None], texts: dict[str, str], rules: dict | None) -> CurationResult:
    """Apply one theme set's rules to item -> theme assignments."""
    result = CurationResult(dict(theme_of))
    rules = rules or {}
    known = {t for t in theme_of.values() if t}

    for entry in rules.get("merge") or []:
        target = str(entry.get("into", ""))
        sources = [str(s) for s in (entry.get("from") or [])]
        if target not in known:
            result.warnings.append(f"merge: theme {target} does not exist in this run")
            continue
        for source in sources:
            if source not in known:
                result.warnings.append(f"merge: theme {source} does not exist in this run")
            for item, theme in result.theme_of.items():
                if theme == source:
                    result.theme_of[item] = target

    for n, entry in enumerate(rules.get("split") or [], start=1):
        source = str(entry.get("from", ""))
        new_id = str(entry.get("id") or f"{source}.{n}")
        items = {str(i) for i in entry.get("items") or []}
        keywords = [str(k).lower() for k in entry.get("keywords") or []]
        moved = [item for item, theme in result.theme_of.items() if theme == source and
                 (item in items or any(k in texts.get(item, "").lower() for k in keywords))]
        if not moved:
            result.warnings.append(f"split: nothing in {source} matched; {new_id} not created")
            continue
        for item in moved:
            result.theme_of[item] = new_id
        if entry.get("name"):
            result.names[new_id] = str(entry["name"])

    for item, theme in (rules.get("pin") or {}).items():
        item, theme = str(item), str(theme)
        if item not in result.theme_of:
            result.warnings.append(f"pin: item {item} does not exist")
            continue
        result.theme_of[item] = theme
        result.pinned.add(item)
        result.reasons[item] = "pinned in the curation file"

    for theme in rules.get("not_a_theme") or []:
        theme = str(theme)
        hits = [item for item, t in result.theme_of.items() if t == theme and item not in result.pinned]
        if not hits:
            result.warnings.append(f"not_a_theme: theme {theme} does not exist in this run")
        for item in hits:
            result.theme_of[item] = None
            result.reasons[item] = NOT_A_THEME_REASON

    final = {t for t in result.theme_of.values() if t}
    for theme, name in (rules.get("rename") or {}).items():
        if str(theme) in final:
            result.names[str(theme)] = str(name)
        else:
            result.warnings.append(f"rename: theme {theme} does not exist in this run")
    return result
