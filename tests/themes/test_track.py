from __future__ import annotations

import numpy as np

from pipelines.themes.track import Cluster, PreviousTheme, assign_ids, next_number


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v / np.linalg.norm(v)


def events(evs) -> set[tuple]:
    return {(e.theme_id, e.event, tuple(e.related)) for e in evs}


def test_first_run_numbers_themes_in_a_stable_order():
    clusters = [Cluster(["b#1", "b#2"], unit(0, 1)), Cluster(["a#1", "a#2"], unit(1, 0))]
    ids, evs = assign_ids([], clusters, "RC")
    assert ids == ["RC-002", "RC-001"]  # numbered by the smallest member id, not label order
    assert events(evs) == {("RC-001", "new", ()), ("RC-002", "new", ())}


def test_unchanged_clusters_keep_their_ids():
    previous = [PreviousTheme("RC-004", {"a#1", "a#2"}, unit(1, 0)), PreviousTheme("RC-009", {"b#1"}, unit(0, 1))]
    clusters = [Cluster(["b#1"], unit(0, 1)), Cluster(["a#1", "a#2"], unit(1, 0))]
    ids, evs = assign_ids(previous, clusters, "RC")
    assert ids == ["RC-009", "RC-004"]
    assert events(evs) == {("RC-004", "continued", ()), ("RC-009", "continued", ())}


def test_merge_split_new_and_retired():
    previous = [
        PreviousTheme("RC-001", {"a1", "a2", "a3"}, unit(1, 0, 0)),
        PreviousTheme("RC-002", {"b1", "b2"}, unit(0, 1, 0)),     # merges into RC-001's cluster
        PreviousTheme("RC-003", {"c1", "c2", "c3", "c4"}, unit(0, 0, 1)),  # splits in two
        PreviousTheme("RC-004", {"gone1"}, unit(1, 1, 0)),        # its items were deleted
    ]
    clusters = [
        Cluster(["a1", "a2", "a3", "b1", "b2"], unit(1, 1, 0)),
        Cluster(["c1", "c2"], unit(0, 0, 1)),
        Cluster(["c3", "c4"], unit(0, 0.2, 1)),
        Cluster(["n1", "n2"], unit(1, -1, 0)),                    # all new, unlike anything before
    ]
    ids, evs = assign_ids(previous, clusters, "RC", used_ids={"RC-007"})
    assert ids[0] == "RC-001" and ids[1] == "RC-003"
    assert ids[2] == "RC-008" and ids[3] == "RC-009"  # numbering continues after every id ever used
    assert events(evs) == {
        ("RC-001", "merged", ("RC-002",)), ("RC-002", "retired", ("RC-001",)), ("RC-003", "continued", ()),
        ("RC-008", "split", ("RC-003",)), ("RC-009", "new", ()), ("RC-004", "retired", ()),
    }


def test_cluster_of_new_items_inherits_by_centroid():
    previous = [PreviousTheme("EG-002", {"old1", "old2"}, unit(1, 0.1))]
    ids, evs = assign_ids(previous, [Cluster(["x1", "x2"], unit(1, 0.12))], "EG")
    assert ids == ["EG-002"] and events(evs) == {("EG-002", "continued", ())}


def test_next_number_ignores_foreign_ids():
    assert next_number({"RC-003", "RC-010", "EG-040", "RC-005.1"}, "RC") == 11
