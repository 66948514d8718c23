"""ThemeClusterer on synthetic embeddings: tight blobs on the unit sphere stand in for
root causes that describe the same failure, random directions for one-off incidents."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from pipelines.themes.cluster import UNCLUSTERED, ThemeClusterer, lexical_features

DIMENSIONS = 384  # all-MiniLM-L6-v2
# Per-dimension noise giving cosine ~0.7 between members of one blob, ~0 across blobs.
BLOB_NOISE = 0.035


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def blobs_on_sphere(sizes: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors scattered around random unit centres; returns vectors, blob ids, centres."""
    rng = np.random.RandomState(seed)
    centres = unit(rng.normal(size=(len(sizes), DIMENSIONS)))
    blob_ids = np.repeat(np.arange(len(sizes)), sizes)
    vectors = unit(centres[blob_ids] + rng.normal(scale=BLOB_NOISE, size=(len(blob_ids), DIMENSIONS)))
    order = rng.permutation(len(blob_ids))  # interleave blobs so order cannot help
    return vectors[order].astype(np.float32), blob_ids[order], centres


@parametrize_with_checks([ThemeClusterer()])
def test_follows_scikit_learn_estimator_conventions(estimator, check):
    check(estimator)


def test_recovers_well_separated_blobs_without_being_told_how_many():
    vectors, blob_ids, _ = blobs_on_sphere([30, 25, 20, 15, 10])

    clusterer = ThemeClusterer().fit(vectors)

    assert clusterer.n_themes_ == 5
    assert adjusted_rand_score(blob_ids, clusterer.labels_) == 1.0
    assert (clusterer.labels_ != UNCLUSTERED).all()
    assert clusterer.unclustered_reason_ == [None] * len(vectors)


def test_themes_are_numbered_by_decreasing_size_with_unit_centroids():
    vectors, blob_ids, _ = blobs_on_sphere([8, 30, 15])

    clusterer = ThemeClusterer().fit(vectors)

    assert clusterer.theme_sizes_.tolist() == [30, 15, 8]
    assert np.bincount(clusterer.labels_).tolist() == [30, 15, 8]
    assert clusterer.centroids_.shape == (3, DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(clusterer.centroids_, axis=1), 1.0, rtol=1e-5)
    for theme in range(clusterer.n_themes_):
        members = vectors[clusterer.labels_ == theme]
        np.testing.assert_allclose(clusterer.centroids_[theme], unit(members.mean(axis=0)), atol=1e-5)


def test_same_input_gives_identical_themes():
    vectors, _, _ = blobs_on_sphere([12, 9, 7, 5, 3], seed=3)
    noise = unit(np.random.RandomState(4).normal(size=(6, DIMENSIONS))).astype(np.float32)
    vectors = np.vstack([vectors, noise])

    first = ThemeClusterer(random_state=7).fit(vectors)
    second = clone(first).fit(vectors.copy())

    np.testing.assert_array_equal(first.labels_, second.labels_)
    np.testing.assert_array_equal(first.centroids_, second.centroids_)
    assert first.unclustered_reason_ == second.unclustered_reason_


def test_parameters_are_stored_unchanged_and_round_trip():
    params = {
        "consensus_threshold": 0.5,
        "similarity_floor": 0.3,
        "min_theme_size": 3,
        "merge_ratio": 0.9,
        "k_range": (0.4, 3.0),
        "n_k_values": 6,
        "runs_per_k": 7,
        "max_fit_items": 500,
        "lexical_weight": 0.5,
        "random_state": 11,
    }
    clusterer = ThemeClusterer(**params)

    assert clusterer.get_params() == params
    assert clone(clusterer).get_params() == params
    assert ThemeClusterer().set_params(**params).get_params() == params
    vectors, _, _ = blobs_on_sphere([10, 10])
    assert clusterer.fit(vectors) is clusterer
    assert clusterer.get_params() == params


def test_fit_predict_matches_labels():
    vectors, _, _ = blobs_on_sphere([10, 8, 6])
    clusterer = ThemeClusterer()

    np.testing.assert_array_equal(clusterer.fit_predict(vectors), clusterer.labels_)


@pytest.mark.parametrize("n_items", [1, 2, 5, 20])
def test_tiny_inputs_give_consistent_results(n_items):
    vectors, _, _ = blobs_on_sphere([n_items], seed=n_items)

    clusterer = ThemeClusterer().fit(vectors)

    assert clusterer.labels_.shape == (n_items,)
    assert len(clusterer.unclustered_reason_) == n_items
    assert clusterer.centroids_.shape == (clusterer.n_themes_, DIMENSIONS)
    for label, reason in zip(clusterer.labels_, clusterer.unclustered_reason_):
        assert (label == UNCLUSTERED) == (reason is not None)
    assert clusterer.predict(vectors).shape == (n_items,)


def test_single_item_is_an_unclustered_singleton():
    clusterer = ThemeClusterer().fit(unit(np.ones((1, DIMENSIONS))))

    assert clusterer.labels_.tolist() == [UNCLUSTERED]
    assert clusterer.unclustered_reason_ == ["singleton"]
    assert clusterer.n_themes_ == 0
    assert clusterer.predict(unit(np.ones((3, DIMENSIONS)))).tolist() == [UNCLUSTERED] * 3


@pytest.mark.parametrize("n_items", [2, 5, 20])
def test_tiny_input_of_one_blob_forms_one_theme(n_items):
    vectors, _, _ = blobs_on_sphere([n_items], seed=n_items)

    clusterer = ThemeClusterer().fit(vectors)

    assert clusterer.n_themes_ == 1
    assert clusterer.labels_.tolist() == [0] * n_items


def test_two_unrelated_items_stay_unclustered_with_a_reason():
    unrelated = np.eye(2, DIMENSIONS, dtype=np.float32)  # cosine 0

    clusterer = ThemeClusterer(similarity_floor=0.45).fit(unrelated)

    assert clusterer.labels_.tolist() == [UNCLUSTERED, UNCLUSTERED]
    assert clusterer.unclustered_reason_ == ["no neighbour within similarity 0.45"] * 2


def test_isolated_items_are_unclustered_with_a_reason():
    vectors, blob_ids, _ = blobs_on_sphere([20, 20, 20])
    isolated = unit(np.random.RandomState(9).normal(size=(4, DIMENSIONS))).astype(np.float32)

    clusterer = ThemeClusterer().fit(np.vstack([vectors, isolated]))

    assert clusterer.labels_[-4:].tolist() == [UNCLUSTERED] * 4
    floor = clusterer.similarity_floor
    assert clusterer.unclustered_reason_[-4:] == [f"no neighbour within similarity {floor:.2f}"] * 4
    assert adjusted_rand_score(blob_ids, clusterer.labels_[:-4]) == 1.0


def test_group_below_min_theme_size_is_unclustered_when_no_theme_is_close():
    vectors, blob_ids, _ = blobs_on_sphere([15, 2])
    pair = np.flatnonzero(blob_ids == 1)

    clusterer = ThemeClusterer(min_theme_size=3).fit(vectors)

    assert clusterer.n_themes_ == 1
    assert clusterer.labels_[pair].tolist() == [UNCLUSTERED, UNCLUSTERED]
    for position in pair:
        assert clusterer.unclustered_reason_[position].startswith(
            f"group of 2 is below min_theme_size; no theme within similarity {clusterer.similarity_floor:.2f}"
        )


def test_predict_assigns_new_vectors_to_the_nearest_centroid():
    vectors, blob_ids, centres = blobs_on_sphere([15, 12, 10, 8])
    clusterer = ThemeClusterer().fit(vectors)
    theme_of_blob = {blob: clusterer.labels_[blob_ids == blob][0] for blob in range(len(centres))}
    rng = np.random.RandomState(21)
    new_blob_ids = np.repeat(np.arange(len(centres)), 5)
    new_vectors = unit(centres[new_blob_ids] + rng.normal(scale=BLOB_NOISE, size=(20, DIMENSIONS)))

    predicted = clusterer.predict(new_vectors)

    assert predicted.tolist() == [theme_of_blob[blob] for blob in new_blob_ids]
    similarity = clusterer.predict_similarity(new_vectors)
    np.testing.assert_allclose(
        similarity, np.max(unit(new_vectors) @ clusterer.centroids_.T, axis=1), rtol=1e-5
    )


def test_predict_leaves_vectors_below_the_floor_unclustered():
    vectors, _, _ = blobs_on_sphere([15, 12])
    clusterer = ThemeClusterer(similarity_floor=0.35).fit(vectors)
    unrelated = unit(np.random.RandomState(5).normal(size=(3, DIMENSIONS)))
    assert (clusterer.predict_similarity(unrelated) < 0.35).all()

    assert clusterer.predict(unrelated).tolist() == [UNCLUSTERED] * 3


def test_predict_does_not_need_normalised_input():
    vectors, _, _ = blobs_on_sphere([15, 12])
    clusterer = ThemeClusterer().fit(vectors)

    np.testing.assert_array_equal(clusterer.predict(vectors * 7.5), clusterer.predict(vectors))


def test_predict_before_fit_raises():
    with pytest.raises(NotFittedError):
        ThemeClusterer().predict(np.ones((1, DIMENSIONS)))


def test_large_input_is_fitted_on_a_sample_and_the_rest_assigned():
    vectors, blob_ids, _ = blobs_on_sphere([120, 100, 80])

    clusterer = ThemeClusterer(max_fit_items=60).fit(vectors)

    assert clusterer.fit_sample_indices_.shape == (60,)
    assert clusterer.n_themes_ == 3
    assert adjusted_rand_score(blob_ids, clusterer.labels_) == 1.0
    assert clusterer.theme_sizes_.sum() == len(vectors)


@pytest.mark.parametrize(
    "bad_params",
    [
        {"consensus_threshold": 0.0},
        {"consensus_threshold": 1.5},
        {"similarity_floor": 2.0},
        {"min_theme_size": 0},
        {"merge_ratio": 0.0},
        {"k_range": (2.0, 1.0)},
        {"runs_per_k": 0},
        {"max_fit_items": 1},
    ],
)
def test_invalid_parameters_are_rejected_at_fit(bad_params):
    vectors, _, _ = blobs_on_sphere([5, 5])

    with pytest.raises(ValueError):
        ThemeClusterer(**bad_params).fit(vectors)


def test_words_in_the_votes_separate_texts_the_embedding_runs_together():
    # One blob in embedding space, two kinds of text. merge_ratio above 1 switches off the
    # embedding-space merges, so what is left is what the votes decided.
    vectors, _, _ = blobs_on_sphere([40])
    texts = [("null pointer dereference in kernel" if k % 2 else "integer overflow in parser") for k in range(40)]
    truth = np.arange(40) % 2
    lexical = lexical_features(texts)
    assert lexical.shape[0] == 40 and np.allclose(np.linalg.norm(lexical, axis=1), 1, atol=1e-5)
    with_words = ThemeClusterer(merge_ratio=2.0).fit(vectors, lexical=lexical).labels_
    without = ThemeClusterer(merge_ratio=2.0).fit(vectors).labels_
    # Small groups still join their nearest theme by embedding, so a few items may cross.
    assert adjusted_rand_score(truth, with_words) > adjusted_rand_score(truth, without) + 0.3
    # No weight, no effect: the words only ever enter the votes.
    assert ThemeClusterer(lexical_weight=0, merge_ratio=2.0).fit(vectors, lexical=lexical).labels_.tolist() == \
        without.tolist()


def test_lexical_features_of_tiny_or_unrelated_texts_are_none():
    assert lexical_features(["one text", "two texts"]) is None
    assert lexical_features(["alpha", "beta", "gamma"]) is None
    with pytest.raises(ValueError, match="rows"):
        ThemeClusterer().fit(np.eye(4), lexical=np.eye(3))
