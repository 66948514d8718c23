"""Which cause each systemic action item fixes: the link behind "did the fix work?".

A post-mortem lists its systemic action items once, for the whole incident, while its causes
often fall into different themes. Counting every item of the incident for every theme it
joined would credit a theme with fixes aimed at another cause, and nearly every theme would
then seem to "come back after its fixes closed". So each systemic item is linked, within its
own incident and separately per theme set, to the one item it is most similar to (cosine of
the stored embeddings): the root cause it addresses, and the eval gap it closes. An incident
with a single root cause (or a single eval gap) needs no comparison and nothing is embedded.
The views `theme_fixes`, `theme_fix_effectiveness` and `theme_came_back` read these links.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

LINK_SCHEMA = {"theme_set": pl.String, "action_id": pl.String, "incident_id": pl.String, "item_id": pl.String,
               "similarity": pl.Float64}


def link_actions_to_items(theme_set: str, actions: pl.DataFrame, items: pl.DataFrame, item_vectors: np.ndarray,
                          embed: Callable[[list[str]], np.ndarray]) -> pl.DataFrame:
    """One row per action item whose incident has items in this set: the item it addresses.

    `actions` has action_id, incident_id, text; `items` has item_id, incident_id in the order
    of the rows of `item_vectors` (unit length). `embed` turns action texts into unit vectors;
    it is called once, only for actions whose incident has more than one item. `similarity`
    is NULL where there was nothing to choose between.
    """
    rows_of: dict[str, list[int]] = {}
    for row, incident in enumerate(items["incident_id"].to_list()):
        rows_of.setdefault(incident, []).append(row)
    item_ids = items["item_id"].to_list()
    linkable = [(a, i, t) for a, i, t in actions.select("action_id", "incident_id", "text").iter_rows()
                if i in rows_of]
    ambiguous = [k for k, (_, incident, _) in enumerate(linkable) if len(rows_of[incident]) > 1]
    vectors = embed([linkable[k][2] or "" for k in ambiguous]) if ambiguous else np.zeros((0, 0))
    vector_of = {k: vectors[n] for n, k in enumerate(ambiguous)}

    links = []
    for k, (action_id, incident, _) in enumerate(linkable):
        candidates = rows_of[incident]
        if k in vector_of:
            sims = item_vectors[candidates] @ vector_of[k]
            best = int(np.argmax(sims))  # ties go to the earlier cause, as listed
            item, similarity = item_ids[candidates[best]], round(float(sims[best]), 6)
        else:
            item, similarity = item_ids[candidates[0]], None
        links.append({"theme_set": theme_set, "action_id": action_id, "incident_id": incident, "item_id": item,
                      "similarity": similarity})
    return pl.DataFrame(links, schema=LINK_SCHEMA)
