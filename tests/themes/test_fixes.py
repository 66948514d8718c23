"""Linking systemic action items to the cause they fix, with hand-made vectors."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipelines.themes.fixes import link_actions_to_items

ITEMS = pl.DataFrame({"item_id": ["PM-1#1", "PM-1#2", "PM-2#1"], "incident_id": ["PM-1", "PM-1", "PM-2"]})
ITEM_VECTORS = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
ACTION_VECTORS = {"page on freshness": [0.1, 0.995], "cap retries": [0.98, 0.2], "anything": [0.0, 1.0]}


def _actions(rows):
    return pl.DataFrame(rows, schema={"action_id": pl.String, "incident_id": pl.String, "text": pl.String},
                        orient="row")


class Embed:
    def __init__(self):
        self.calls: list[list[str]] = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        return np.array([ACTION_VECTORS[t] for t in texts], dtype=np.float32)


def test_each_action_links_to_the_most_similar_cause_of_its_own_incident():
    embed = Embed()
    links = link_actions_to_items("root_cause", _actions([("PM-1/a1", "PM-1", "cap retries"),
                                                          ("PM-1/a2", "PM-1", "page on freshness")]),
                                  ITEMS, ITEM_VECTORS, embed)
    assert dict(zip(links["action_id"], links["item_id"])) == {"PM-1/a1": "PM-1#1", "PM-1/a2": "PM-1#2"}
    assert links["similarity"].to_list() == pytest.approx([0.98, 0.995], abs=1e-6)
    assert embed.calls == [["cap retries", "page on freshness"]]  # one call for all ambiguous actions


def test_a_single_cause_incident_needs_no_embedding_and_unrelated_incidents_are_not_linked():
    embed = Embed()
    links = link_actions_to_items("root_cause", _actions([("PM-2/a1", "PM-2", "anything"),
                                                          ("PM-9/a1", "PM-9", "anything")]),
                                  ITEMS, ITEM_VECTORS, embed)
    assert links.rows() == [("root_cause", "PM-2/a1", "PM-2", "PM-2#1", None)]
    assert embed.calls == []


def test_no_actions_give_an_empty_frame_with_the_table_columns():
    links = link_actions_to_items("eval_gap", _actions([]), ITEMS, ITEM_VECTORS, Embed())
    assert links.height == 0
    assert links.columns == ["theme_set", "action_id", "incident_id", "item_id", "similarity"]
