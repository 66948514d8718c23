"""Clusterboot stability on synthetic embeddings: tight blobs survive subsampling, noise does not."""

from __future__ import annotations

import numpy as np

from pipelines.themes.cluster import UNCLUSTERED, ThemeClusterer
from pipelines.themes.stability import (
    STABLE_JACCARD,
    caution,
    bootstrap_labelings,
    is_few,
    is_unstable,
    main_theme_stability,
    theme_stability,
)
from tests.themes.test_cluster import DIMENSIONS, blobs_on_sphere, unit


def refitter(vectors):
    return lambda sample, seed: ThemeClusterer(random_state=seed).fit(vectors[sample]).labels_


def themes_of(labels):
    return [list(np.flatnonzero(labels == t)) for t in sorted(set(labels.tolist()) - {UNCLUSTERED})]


def test_well_separated_blobs_are_stable():
    vectors, _, _ = blobs_on_sphere([30, 25, 20, 15])
    labels = ThemeClusterer().fit(vectors).labels_
    stabilities = theme_stability(themes_of(labels), bootstrap_labelings(len(vectors), refitter(vectors), rounds=4))
    assert len(stabilities) == 4 and min(stabilities) > 0.9


def test_groups_cut_out_of_noise_are_unstable():
    rng = np.random.RandomState(3)
    # Directions spread around one broad centre: k-means finds groups, but different ones each time.
    noise = unit(unit(rng.normal(size=DIMENSIONS)) + rng.normal(scale=0.06, size=(120, DIMENSIONS)))
    arbitrary = [list(range(start, start + 20)) for start in range(0, 120, 20)]
    noise = noise.astype(np.float32)
    stabilities = theme_stability(arbitrary, bootstrap_labelings(len(noise), refitter(noise), rounds=4))
    assert max(stabilities) < 0.5 and all(is_unstable(s) for s in stabilities)


def test_jaccard_of_the_best_matching_cluster_by_hand():
    # Items 0..5; the theme {0, 1, 2, 3}; one round drew 0, 1, 2, 4, 5 and clustered {0, 1} and {2, 4}.
    runs = [(np.array([0, 1, 2, 4, 5]), np.array([0, 0, 1, 1, UNCLUSTERED]))]
    # Drawn members {0, 1, 2}; best match {0, 1}: 2 / 3.
    assert theme_stability([[0, 1, 2, 3], [3]], runs) == [round(2 / 3, 4), None]


def test_main_theme_stability_covers_the_largest_themes():
    assert main_theme_stability([0.9, 0.2, 0.1], [60, 30, 10]) == 0.9
    assert main_theme_stability([0.9, 0.5, 0.1], [40, 40, 20]) == 0.7
    assert main_theme_stability([None], [3]) is None


def test_small_number_and_stability_marks():
    assert is_few(4) and is_few(None) and not is_few(5)
    assert is_unstable(STABLE_JACCARD - 0.01) and not is_unstable(STABLE_JACCARD) and not is_unstable(None)


def test_caution_says_what_to_know_and_nothing_otherwise():
    assert caution(12, 0.91) == "" and caution() == ""
    assert caution(3, 0.42) == "unstable theme (stability 0.42); few incidents (3)"
    assert caution(3) == "few incidents (3)" and caution(7, 0.5) == "unstable theme (stability 0.50)"
    assert "None" not in caution(None, None) and "nan" not in caution(2, float("nan"))
