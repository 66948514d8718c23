"""Stable theme identity across runs.

Clustering labels are arbitrary numbers; people need "RC-007" to mean the same weakness this
quarter as last. Each new cluster inherits the id of the previous theme it shares the most
items with (item ids are stable: `PM-2026-014#2`); a cluster made only of new items inherits
by centroid similarity instead. Whatever is left over is recorded as new, merged, split or
retired in the lineage, so a trend line never silently changes meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

# A cluster of only new items continues a previous theme when its centroid is this close.
CENTROID_MATCH = 0.85
# A previous theme "contributes" to a cluster (merge) or a cluster "comes from" a previous
# theme (split) when it holds at least this share of the previous theme's items.
SHARE = 0.3


@dataclass
class Cluster:
    members: list[str]
    centroid: np.ndarray


@dataclass
class PreviousTheme:
    theme_id: str
    members: set[str]
    centroid: np.ndarray | None = None


@dataclass
class LineageEvent:
    theme_id: str
    event: str  # new | continued | merged | split | retired
    related: list[str] = field(default_factory=list)
    n_items: int = 0
    detail: str = ""


def next_number(used_ids: set[str], prefix: str) -> int:
    numbers = [int(m.group(1)) for i in used_ids if (m := re.fullmatch(rf"{prefix}-(\d+)", i))]
    return max(numbers, default=0) + 1


def assign_ids(previous: list[PreviousTheme], clusters: list[Cluster], prefix: str,
               used_ids: set[str] | None = None) -> tuple[list[str], list[LineageEvent]]:
    """Theme id for each cluster (same order) and the lineage events of this run."""
    used_ids = set(used_ids or ()) | {p.theme_id for p in previous}
    n_prev, n_new = len(previous), len(clusters)
    overlap = np.zeros((n_prev, n_new), dtype=np.int64)
    member_sets = [set(c.members) for c in clusters]
    for i, prev in enumerate(previous):
        for j, members in enumerate(member_sets):
            overlap[i, j] = len(prev.members & members)
    cosine = np.zeros((n_prev, n_new))
    for i, prev in enumerate(previous):
        if prev.centroid is not None:
            for j, cluster in enumerate(clusters):
                cosine[i, j] = float(prev.centroid @ cluster.centroid)

    candidates = [(i, j) for i in range(n_prev) for j in range(n_new)
                  if overlap[i, j] > 0 or (overlap[:, j].sum() == 0 and cosine[i, j] >= CENTROID_MATCH)]
    candidates.sort(key=lambda ij: (-overlap[ij], -round(cosine[ij], 9), previous[ij[0]].theme_id, ij[1]))
    ids: list[str | None] = [None] * n_new
    taken: set[int] = set()
    for i, j in candidates:
        if i in taken or ids[j] is not None:
            continue
        ids[j] = previous[i].theme_id
        taken.add(i)

    events: list[LineageEvent] = []
    absorbed: dict[int, str] = {}
    for j, theme_id in enumerate(ids):
        if theme_id is None:
            continue
        contributors = [k for k in range(n_prev) if k not in taken and overlap[k, j] > 0
                        and overlap[k, j] >= SHARE * len(previous[k].members)]
        for k in contributors:
            absorbed[k] = theme_id
        related = sorted(previous[k].theme_id for k in contributors)
        events.append(LineageEvent(theme_id, "merged" if related else "continued", related, len(clusters[j].members)))

    counter = next_number(used_ids, prefix)
    fresh = sorted((j for j in range(n_new) if ids[j] is None), key=lambda j: min(clusters[j].members))
    for j in fresh:
        ids[j] = f"{prefix}-{counter:03d}"
        counter += 1
        sources = [i for i in range(n_prev) if overlap[i, j] > 0 and overlap[i, j] >= SHARE * len(previous[i].members)]
        if sources:
            events.append(LineageEvent(ids[j], "split", sorted(previous[i].theme_id for i in sources),
                                       len(clusters[j].members)))
        else:
            events.append(LineageEvent(ids[j], "new", [], len(clusters[j].members)))

    for i, prev in enumerate(previous):
        if i in taken:
            continue
        detail = f"merged into {absorbed[i]}" if i in absorbed else "no longer found"
        events.append(LineageEvent(prev.theme_id, "retired", [absorbed[i]] if i in absorbed else [], 0, detail))
    events.sort(key=lambda e: (e.theme_id, e.event))
    return [str(i) for i in ids], events
